package activities

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// connectSource opens an ordinary SQL session to a parsed source.
func connectSource(ctx context.Context, src *pgurl.Conn) (*pgx.Conn, error) {
	cfg := src.Config.Copy()
	cfg.RuntimeParams["application_name"] = "ardent"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to source %s: %w", src.Display(), err)
	}
	return conn, nil
}

// SealedURLPrefix marks a connection URL sealed by the CLI (see
// secrets.SealString): workflow inputs carry URLs in this form.
const SealedURLPrefix = secrets.SealedStringPrefix

// URLPurpose is the purpose URLs are sealed for.
const URLPurpose = "url"

// revealURL opens a sealed URL; a plain one (a workflow started by hand with
// `temporal workflow start`) is taken as it is.
func revealURL(kr *secrets.Keyring, s string) (string, error) {
	if !secrets.IsSealedString(s) {
		return s, nil
	}
	if kr == nil {
		return "", fmt.Errorf("%w: a sealed URL reached a worker without a master key", errInvalidInput)
	}
	u, err := kr.OpenString(s, URLPurpose)
	if err != nil {
		return "", fmt.Errorf("%w: open the sealed connection URL: %w (give the worker the CLI's ARDENT_MASTER_KEY, or list the older key in ARDENT_OLD_MASTER_KEYS)", errInvalidInput, err)
	}
	return u, nil
}
