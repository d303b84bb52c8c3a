package activities

import (
	"context"
	"log/slog"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// connectorEnv is what a long activity needs of a stored connector: its
// record, the source URL opened and normalised, the destination opened.
type connectorEnv struct {
	conn catalog.Connector
	src  string
	dst  sink.Sink
}

// openConnector loads a connector from the catalog and opens its
// destination. passwords collects the credentials it revealed, for the
// boundary to scrub, even when it fails part-way. The caller closes dst.
func openConnector(ctx context.Context, cat *catalog.Store, kr *secrets.Keyring, sinks map[string]SinkFactory,
	log *slog.Logger, name string, passwords *[]string) (*connectorEnv, error) {
	conn, src, dstURL, err := loadConnector(ctx, cat, kr, name, passwords)
	if err != nil {
		return nil, err
	}
	dst, err := openSink(ctx, sinks, dstURL, log)
	if err != nil {
		return nil, err
	}
	return &connectorEnv{conn: conn, src: src, dst: dst}, nil
}

// loadConnector loads a connector's record, its source URL (validated and
// normalised) and its destination URL as stored. passwords collects the
// credentials it revealed, as openConnector's does.
func loadConnector(ctx context.Context, cat *catalog.Store, kr *secrets.Keyring, name string,
	passwords *[]string) (conn catalog.Connector, src, dstURL string, err error) {
	conn, err = cat.Get(ctx, name)
	if err != nil {
		return conn, "", "", err
	}
	srcURL, err := cat.SourceURL(ctx, name, kr)
	if err != nil {
		return conn, "", "", err
	}
	dstURL, err = cat.DestinationURL(ctx, name, kr)
	if err != nil {
		return conn, "", "", err
	}
	*passwords = append(*passwords, passwordOf(srcURL), passwordOf(dstURL))
	src, err = openSourceURL(srcURL)
	if err != nil {
		return conn, "", "", err
	}
	return conn, src, dstURL, nil
}
