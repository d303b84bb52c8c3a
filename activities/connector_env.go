package activities

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// connectorEnv is what a long activity needs of a stored connector: its
// record and its two connections, each parsed once here, and the version of
// the credentials they were parsed from.
type connectorEnv struct {
	conn     catalog.Connector
	src, dst *pgurl.Conn
	version  int64
}

// loadConnector loads a connector's record and parses its source and
// destination. passwords collects the credentials it revealed, for the
// boundary to scrub, even when it fails part-way.
func loadConnector(ctx context.Context, cat *catalog.Store, kr *secrets.Keyring, name string, passwords *[]string) (*connectorEnv, error) {
	// The version is read before the credentials: credentials changed
	// between the two reads are newer than the version says, which costs
	// one needless new session, never a missed change.
	version, err := cat.CredentialsVersion(ctx, name)
	if err != nil {
		return nil, err
	}
	conn, err := cat.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	srcURL, err := cat.SourceURL(ctx, name, kr)
	if err != nil {
		return nil, err
	}
	dstURL, err := cat.DestinationURL(ctx, name, kr)
	if err != nil {
		return nil, err
	}
	src, dst, err := parseConns(srcURL, dstURL, passwords)
	if err != nil {
		return nil, err
	}
	return &connectorEnv{conn: conn, src: src, dst: dst, version: version}, nil
}

// parseConns parses a source and a destination URL (either may be empty:
// nil then) and adds their passwords to passwords. A parse error never
// holds a password, so nothing is lost for scrubbing when one fails.
func parseConns(srcURL, dstURL string, passwords *[]string) (src, dst *pgurl.Conn, err error) {
	if srcURL != "" {
		if src, err = pgurl.ParseSource(srcURL); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errInvalidInput, err)
		}
		*passwords = append(*passwords, src.Password())
	}
	if dstURL != "" {
		if dst, err = pgurl.ParseDestination(dstURL); err != nil {
			return nil, nil, fmt.Errorf("%w: %w (PostgreSQL destinations only)", errInvalidInput, err)
		}
		*passwords = append(*passwords, dst.Password())
	}
	return src, dst, nil
}

// openSink opens the destination with the factory the worker wired.
func openSink(ctx context.Context, sinks map[string]SinkFactory, dst *pgurl.Conn, log *slog.Logger) (sink.Sink, error) {
	f, ok := sinks[SinkPostgres]
	if !ok {
		return nil, fmt.Errorf("%w: this worker has no PostgreSQL destination wired", errInvalidInput)
	}
	s, err := f(ctx, dst, log)
	if err != nil {
		return nil, fmt.Errorf("open destination %s: %w", dst.Display(), err)
	}
	return s, nil
}
