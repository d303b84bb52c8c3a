package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// SourceURL opens the connector's sealed source URL. The result is the
// secret itself: hand it to pgx, never to a log or an error.
func (s *Store) SourceURL(ctx context.Context, name string, kr *secrets.Keyring) (string, error) {
	return s.open(ctx, name, colSource, `SELECT source_key_id, source_sealed FROM ardent.connectors WHERE name = $1`, kr)
}

// DestinationURL opens the connector's sealed destination URL; a connector
// created without one is an error.
func (s *Store) DestinationURL(ctx context.Context, name string, kr *secrets.Keyring) (string, error) {
	return s.open(ctx, name, colDest, `SELECT dest_key_id, dest_sealed FROM ardent.connectors WHERE name = $1`, kr)
}

// ErrDropped means the connector was dropped: its credentials stay for
// cleanup but are no longer changed.
var ErrDropped = errors.New("connector was dropped")

// SetCredentials replaces, in one transaction, a live connector's source
// URL, destination URL or both (an empty Secret keeps that one), sealed by
// kr and bound to their row and column like CreateConnector's. It bumps
// credentials_version, which a running stream polls to start a new
// session with them, and returns the new version. A new source URL must
// name the connector's database; source_display follows its host and port.
// The caller checks the URLs reach the same databases first: the catalog
// cannot.
func (s *Store) SetCredentials(ctx context.Context, name string, source, destination secrets.Secret, kr *secrets.Keyring) (int64, error) {
	if source == "" && destination == "" {
		return 0, fmt.Errorf("set credentials of connector %q: neither a source nor a destination URL", name)
	}
	args := pgx.NamedArgs{"name": name, "setsrc": source != "", "setdst": destination != ""}
	var database string
	if source != "" {
		cfg, err := pgconn.ParseConfig(source.Reveal())
		if err != nil {
			return 0, fmt.Errorf("set credentials of connector %q: source URL is not a valid connection string", name)
		}
		src, err := kr.Seal([]byte(source.Reveal()), aad(name, colSource))
		if err != nil {
			return 0, fmt.Errorf("set credentials of connector %q: seal source URL: %w", name, err)
		}
		args["display"], args["skey"], args["ssealed"] = pgurl.Display(cfg), src.KeyID, src.Ciphertext
		database = cfg.Database
	}
	if destination != "" {
		d, err := kr.Seal([]byte(destination.Reveal()), aad(name, colDest))
		if err != nil {
			return 0, fmt.Errorf("set credentials of connector %q: seal destination URL: %w", name, err)
		}
		args["dkey"], args["dsealed"] = d.KeyID, d.Ciphertext
	}
	var version int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var db string
		var dropped bool
		err := tx.QueryRow(ctx, `SELECT database, dropped_at IS NOT NULL FROM ardent.connectors WHERE name = $1 FOR UPDATE`,
			name).Scan(&db, &dropped)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return ErrNotFound
		case err != nil:
			return err
		case dropped:
			return ErrDropped
		case source != "" && database != db:
			return fmt.Errorf("the source URL names database %q, the connector replicates database %q", database, db)
		}
		return tx.QueryRow(ctx, `
UPDATE ardent.connectors SET
    source_display = CASE WHEN @setsrc THEN @display ELSE source_display END,
    source_key_id  = CASE WHEN @setsrc THEN @skey ELSE source_key_id END,
    source_sealed  = CASE WHEN @setsrc THEN @ssealed::bytea ELSE source_sealed END,
    dest_key_id    = CASE WHEN @setdst THEN @dkey ELSE dest_key_id END,
    dest_sealed    = CASE WHEN @setdst THEN @dsealed::bytea ELSE dest_sealed END,
    credentials_version = credentials_version + 1,
    credentials_changed_at = now(), updated_at = now()
WHERE name = @name
RETURNING credentials_version`, args).Scan(&version)
	})
	if err != nil {
		return 0, fmt.Errorf("set credentials of connector %q: %w", name, err)
	}
	s.log.Info("catalog credentials replaced", "connector", name, "source", source != "", "destination", destination != "",
		"credentials_version", version, "key_id", kr.CurrentID())
	return version, nil
}

// CredentialsVersion is the connector's credentials version: it changes
// whenever SetCredentials stores new ones. One indexed read, cheap enough
// to poll every few seconds.
func (s *Store) CredentialsVersion(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT credentials_version FROM ardent.connectors WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("read credentials version of connector %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read credentials version of connector %q: %w", name, err)
	}
	return v, nil
}

// CredentialsVersions is CredentialsVersion of several connectors in one
// read, for a worker watching all the connectors it streams. A name not
// in the catalog (a connector dropped meanwhile) is absent from the map.
func (s *Store) CredentialsVersions(ctx context.Context, names []string) (map[string]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, credentials_version FROM ardent.connectors WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("read credentials versions of %d connectors: %w", len(names), err)
	}
	out := make(map[string]int64, len(names))
	var name string
	var v int64
	if _, err := pgx.ForEachRow(rows, []any{&name, &v}, func() error { out[name] = v; return nil }); err != nil {
		return nil, fmt.Errorf("read credentials versions of %d connectors: %w", len(names), err)
	}
	return out, nil
}

func (s *Store) open(ctx context.Context, name, column, query string, kr *secrets.Keyring) (string, error) {
	var keyID *string
	var sealed []byte
	err := s.pool.QueryRow(ctx, query, name).Scan(&keyID, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("read %s of connector %q: %w", column, name, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("read %s of connector %q: %w", column, name, err)
	}
	if keyID == nil {
		return "", fmt.Errorf("read %s of connector %q: none stored", column, name)
	}
	pt, err := kr.Open(secrets.Sealed{KeyID: *keyID, Ciphertext: sealed}, aad(name, column))
	if errors.Is(err, secrets.ErrUnknownKey) {
		return "", fmt.Errorf("read %s of connector %q: sealed under key %s, which is neither ARDENT_MASTER_KEY nor in ARDENT_OLD_MASTER_KEYS: %w", column, name, *keyID, err)
	}
	if err != nil {
		return "", fmt.Errorf("read %s of connector %q: %w", column, name, err)
	}
	return string(pt), nil
}

// RotateKeys re-seals, in one transaction, every connector's credentials
// (dropped connectors included) that are not yet under kr's current key. It
// returns how many connectors it changed; running it again returns 0. Once
// it returns, the previous keys can be removed from the configuration.
func (s *Store) RotateKeys(ctx context.Context, kr *secrets.Keyring) (int, error) {
	type row struct {
		name          string
		skey          string
		ssealed       []byte
		dkey          *string
		dsealed       []byte
		newS, newD    secrets.Sealed
		changedSource bool
		changedDest   bool
	}
	n := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT name, source_key_id, source_sealed, dest_key_id, dest_sealed
FROM ardent.connectors ORDER BY name FOR UPDATE`)
		if err != nil {
			return err
		}
		var all []*row
		for rows.Next() {
			r := &row{}
			if err := rows.Scan(&r.name, &r.skey, &r.ssealed, &r.dkey, &r.dsealed); err != nil {
				rows.Close()
				return err
			}
			all = append(all, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range all {
			r.newS, r.changedSource, err = kr.Reseal(secrets.Sealed{KeyID: r.skey, Ciphertext: r.ssealed}, aad(r.name, colSource))
			if err != nil {
				return fmt.Errorf("connector %q %s (key %s): %w", r.name, colSource, r.skey, err)
			}
			if r.dkey != nil {
				r.newD, r.changedDest, err = kr.Reseal(secrets.Sealed{KeyID: *r.dkey, Ciphertext: r.dsealed}, aad(r.name, colDest))
				if err != nil {
					return fmt.Errorf("connector %q %s (key %s): %w", r.name, colDest, *r.dkey, err)
				}
			}
			if !r.changedSource && !r.changedDest {
				continue
			}
			var dkey *string
			var dsealed []byte
			if r.dkey != nil {
				dkey, dsealed = &r.newD.KeyID, r.newD.Ciphertext
				if !r.changedDest {
					dkey, dsealed = r.dkey, r.dsealed
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE ardent.connectors SET source_key_id = $2, source_sealed = $3,
    dest_key_id = $4, dest_sealed = $5, updated_at = now() WHERE name = $1`,
				r.name, r.newS.KeyID, r.newS.Ciphertext, dkey, dsealed); err != nil {
				return fmt.Errorf("connector %q: %w", r.name, err)
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("rotate keys to %s: %w", kr.CurrentID(), err)
	}
	if n > 0 {
		s.log.Info("catalog credentials re-sealed", "connectors", n, "key_id", kr.CurrentID())
	}
	return n, nil
}
