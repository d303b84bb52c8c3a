package catalog

import (
	"context"
	"errors"
	"fmt"

	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/jackc/pgx/v5"
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
