package domain_test

import (
	"errors"

	"github.com/mediciasafely/jobserver/domain"
)

func asError(err error, target **domain.Error) bool { return errors.As(err, target) }

// fieldOf returns the message of one field of a domain error, or "".
func fieldOf(err error, field string) string {
	var de *domain.Error
	if !errors.As(err, &de) {
		return ""
	}
	return de.Fields[field]
}
