// Package dbstatus tells apart the errors of a database that is not answering (down, overloaded, cut off by a
// deadline) from the errors of a request, so that the error mappers answer 503 "the database is not
// answering" rather than 500. It is a package of its own so that http/web, which http/server imports, can
// use it too.
package dbstatus

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Message is what a person is told when the database is not answering.
const Message = "The database is not answering. Please try again in a minute."

// Unavailable reports whether err means the database did not answer in time or could not be reached: a
// deadline that ran out (the request's own included), a connection that failed or was lost, a statement
// cancelled by statement_timeout, or a server that is starting, shutting down or out of connections. A
// client that went away (context.Canceled) is not an outage.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return !isConfiguration(err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"): // connection_exception
			return true
		case pgErr.Code == "57014": // query_canceled: statement_timeout (a cancelled context is caught above)
			return true
		case pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03": // shutdown, cannot_connect_now
			return true
		case pgErr.Code == "53300": // too_many_connections
			return true
		}
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	// A connection the server dropped mid-statement.
	return pgconn.SafeToRetry(err) && !errors.Is(err, context.Canceled)
}

// isConfiguration is a server that answered and refused: a login it does not accept or a database it does
// not have. That is for an operator to fix, not an outage to wait out.
func isConfiguration(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000")
}
