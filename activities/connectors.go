package activities

import (
	"context"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"log/slog"
)

// Connectors creates and drops connectors.
type Connectors struct {
	Catalog *catalog.Store
	Keyring *secrets.Keyring
	Sinks   map[string]SinkFactory
	Log     *slog.Logger
}

// CreateConnector stores the connector with sealed credentials.
func (c *Connectors) CreateConnector(ctx context.Context, in CreateConnectorInput) (*CreateConnectorResult, error) {
	panic("wired in the next commit")
}

// DropConnector removes the connector's objects from the source.
func (c *Connectors) DropConnector(ctx context.Context, in DropConnectorInput) (*DropConnectorResult, error) {
	panic("wired in the next commit")
}
