package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/mediciasafely/jobserver/commands"
	"github.com/mediciasafely/jobserver/commands/identity"
	"github.com/mediciasafely/jobserver/commands/runners"
	"github.com/mediciasafely/jobserver/domain"
)

// adminStdin is where create-backend reads a rap backend's client token: standard input, so the token is
// in no command line, shell history or process list.
var adminStdin io.Reader = os.Stdin

// backendProtocol is create-backend's --protocol and --controller-url, and the client token read for them.
type backendProtocol struct {
	protocol, controllerURL *string
	token                   string
}

func backendProtocolFlags(fs *flag.FlagSet) *backendProtocol {
	return &backendProtocol{
		protocol:      fs.String("protocol", domain.ProtocolClassic, "classic (the backend's runner polls the server) or rap (the server calls its controller)"),
		controllerURL: fs.String("controller-url", "", "with --protocol rap: the controller's API base, e.g. https://controller.example.org/controller/v1/; the client token is read from standard input"),
	}
}

// read checks the flags and, for rap, reads the client token's first line from standard input, before
// anything is created.
func (p *backendProtocol) read() error {
	switch *p.protocol {
	case domain.ProtocolClassic:
		return nil
	case domain.ProtocolRAP:
	default:
		return fmt.Errorf("--protocol is %q; use classic or rap", *p.protocol)
	}
	if strings.TrimSpace(*p.controllerURL) == "" {
		return errors.New("--protocol rap needs --controller-url")
	}
	line, err := bufio.NewReader(adminStdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the client token from standard input: %w", err)
	}
	if p.token = strings.TrimSpace(line); p.token == "" {
		return errors.New("--protocol rap reads the controller's client token from standard input, which was empty")
	}
	return nil
}

// set gives a created backend its protocol; the token is sealed with the server's secret key.
func (p *backendProtocol) set(ctx context.Context, cfg config, b *backend, created identity.NewBackend, out output) error {
	if *p.protocol == domain.ProtocolClassic {
		return nil
	}
	_, ring, err := secretKeys(cfg.Development)
	if err != nil {
		return err
	}
	_, err = newRAP(cfg, b, slog.Default(), ring).SetBackendProtocol.Handle(ctx, runners.SetBackendProtocol{Actor: commands.CLIActor,
		BackendID: created.BackendID, Protocol: *p.protocol, ControllerURL: *p.controllerURL, ClientToken: p.token})
	if err != nil {
		return fmt.Errorf("backend %s was created, but its protocol was not set (set it on its protocol page in the staff area): %w",
			created.Slug, readable(err))
	}
	fmt.Fprintf(out.stdout, "Backend %s speaks the RAP API: the server calls its controller at %s with the client token given.\n",
		created.Slug, *p.controllerURL)
	return nil
}
