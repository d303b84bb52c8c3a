package scram_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/scram"
)

// TestPostgreSQLAcceptsVerifier sets roles' passwords to verifiers made
// here on a real cluster whose pg_hba demands scram-sha-256, then logs in
// with the clear passwords through both client libraries Ardent meets
// (pgx, and libpq through psql); a wrong password is refused. The server
// stores the verifier as given (with password_encryption = md5 it would
// otherwise hash a clear password as md5, which scram cannot use), and its
// log, which records every statement, never sees a clear password.
func TestPostgreSQLAcceptsVerifier(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true,
		ExtraConf: []string{"log_statement = 'all'", "password_encryption = 'md5'"}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	passwords := map[string]string{
		"ascii":   `it's a "pa$$:w\rd" @/?#%`,
		"unicode": "pässwörd-€ ü 日本",
	}
	for role, pw := range passwords {
		v, err := scram.Verifier(pw)
		require.NoError(t, err)
		c.Exec(t, "postgres", "CREATE ROLE "+schema.QuoteIdent(role)+" LOGIN PASSWORD "+schema.QuoteLiteral(v))
		var stored string
		require.NoError(t, c.Connect(t, "postgres").QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = $1", role).Scan(&stored))
		assert.Equal(t, v, stored, "stored as given, not hashed again")
	}
	for role, pw := range passwords {
		t.Run(role, func(t *testing.T) {
			url := c.URLFor(role, pw, "postgres")
			conn, err := pgx.Connect(ctx, url)
			require.NoError(t, err, "pgx login with the clear password")
			var user string
			require.NoError(t, conn.QueryRow(ctx, "SELECT current_user").Scan(&user))
			assert.Equal(t, role, user)
			require.NoError(t, conn.Close(ctx))
			out, err := pgtest.Psql(ctx, url, "-Atc", "SELECT current_user")
			require.NoError(t, err, "libpq login: %s", out)
			assert.Equal(t, role, strings.TrimSpace(out))

			_, err = pgx.Connect(ctx, c.URLFor(role, pw+"x", "postgres"))
			var pe *pgconn.PgError
			require.True(t, errors.As(err, &pe), "wrong password: %v", err)
			assert.Equal(t, "28P01", pe.Code, "invalid_password")
			out, err = pgtest.Psql(ctx, c.URLFor(role, strings.ToUpper(pw), "postgres"), "-Atc", "SELECT 1")
			require.Error(t, err)
			assert.Contains(t, out, "password authentication failed")
		})
	}
	log, err := os.ReadFile(c.LogFile)
	require.NoError(t, err)
	require.Contains(t, string(log), "CREATE ROLE", "log_statement = all records the statements")
	for _, pw := range passwords {
		assert.NotContains(t, string(log), pw)
	}
}
