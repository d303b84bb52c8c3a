package activities

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// openSource parses the source URL (applying Ardent's sslmode default) and
// connects an ordinary SQL session.
func openSource(ctx context.Context, raw string) (*pgurl.Source, *pgx.Conn, error) {
	src, err := pgurl.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", errInvalidInput, err)
	}
	cfg := src.Config.Copy()
	cfg.RuntimeParams["application_name"] = "ardent"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return src, nil, fmt.Errorf("connect to source %s: %w", src.Display(), err)
	}
	return src, conn, nil
}

// systemIdentity returns the source's system identifier, which with the
// database name identifies a source across URLs (for duplicate detection).
func systemIdentity(ctx context.Context, src *pgurl.Source) (uint64, error) {
	cfg, err := src.ReplicationConfig()
	if err != nil {
		return 0, fmt.Errorf("replication config for %s: %w", src.Display(), err)
	}
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return 0, fmt.Errorf("open replication connection to %s: %w", src.Display(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	id, err := pglogrepl.IdentifySystem(ctx, conn)
	if err != nil {
		return 0, fmt.Errorf("IDENTIFY_SYSTEM on %s: %w", src.Display(), err)
	}
	sysid, err := strconv.ParseUint(id.SystemID, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse system identifier %q: %w", id.SystemID, err)
	}
	return sysid, nil
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

// openSourceURL validates a stored source URL and returns it normalised
// (Ardent's sslmode default applied) for libraries that take a string.
func openSourceURL(raw string) (string, error) {
	src, err := pgurl.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %w", errInvalidInput, err)
	}
	return src.ConnString(), nil
}
