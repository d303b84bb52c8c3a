package preflight_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

func drift(t testingT, c *pgtest.Cluster, user, pw string) contract.DriftReport {
	t.Helper()
	src, err := pgurl.ParseSource(c.URLFor(user, pw, "app"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := preflight.Drift(ctx, preflight.DriftOptions{Connector: "shop", Source: src, Selection: selection("shop"),
		Slot: "ardent_shop", ProbeTimeout: 3 * time.Second})
	require.NoError(t, err)
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.NotContains(t, string(b), pw, "the password must never appear in the report")
	ids := make([]string, len(rep.Checks))
	for i, c := range rep.Checks {
		ids[i] = c.ID
	}
	require.Equal(t, contract.DriftCheckIDs, ids, "every drift check, in order")
	return rep
}

func driftCheck(t *testing.T, rep contract.DriftReport, id string, want contract.CheckStatus) contract.Check {
	t.Helper()
	for _, c := range rep.Checks {
		if c.ID == id {
			require.Equalf(t, want, c.Status, "check %s: %s (remedy: %s)", id, c.Message, c.Remedy)
			return c
		}
	}
	t.Fatalf("no check %s", id)
	return contract.Check{}
}

// TestDrift: on a healthy source every drift check passes and the slot is
// read; each regression an operator can cause after onboarding fails its
// check with the remedy, and fixing it passes again.
func TestDrift(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true, ExtraConf: []string{"max_slot_wal_keep_size = 80MB"}})
	c.CreateDatabase(t, "app")
	c.Exec(t, "app", `CREATE ROLE ardent LOGIN REPLICATION PASSWORD '`+strings.ReplaceAll(password, "'", "''")+`';
		CREATE SCHEMA shop; GRANT USAGE ON SCHEMA shop TO ardent;
		CREATE TABLE shop.orders (id int PRIMARY KEY, note text); GRANT SELECT ON shop.orders TO ardent;`)
	c.Exec(t, "app", `SELECT pg_create_logical_replication_slot('ardent_shop', 'wal2json')`)

	rep := drift(t, c, "ardent", password)
	for _, id := range contract.DriftCheckIDs {
		if id != contract.CheckWalRetention {
			driftCheck(t, rep, id, contract.CheckPass)
		}
	}
	driftCheck(t, rep, contract.CheckWalRetention, contract.CheckPass)
	require.NotNil(t, rep.Slot)
	assert.NotEmpty(t, rep.Slot.ConfirmedLSN)
	assert.Equal(t, "reserved", rep.Slot.WALStatus)
	require.NotNil(t, rep.Slot.SafeWALSize)
	assert.Empty(t, rep.Regressions())

	t.Run("role expires soon", func(t *testing.T) {
		c.Exec(t, "app", `ALTER ROLE ardent VALID UNTIL '`+time.Now().Add(36*time.Hour).UTC().Format(time.RFC3339)+`'`)
		ch := driftCheck(t, drift(t, c, "ardent", password), contract.CheckRoleValid, contract.CheckFail)
		assert.Contains(t, ch.Message, "expires at")
		assert.Contains(t, ch.Remedy, `ALTER ROLE "ardent" VALID UNTIL 'infinity'`)
		c.Exec(t, "app", `ALTER ROLE ardent VALID UNTIL 'infinity'`)
		driftCheck(t, drift(t, c, "ardent", password), contract.CheckRoleValid, contract.CheckPass)
	})

	t.Run("role expired", func(t *testing.T) {
		c.Exec(t, "app", `ALTER ROLE ardent VALID UNTIL '2000-01-01'`)
		rep := drift(t, c, "ardent", password)
		ch := driftCheck(t, rep, contract.CheckRoleValid, contract.CheckFail)
		assert.Contains(t, ch.Message, "password authentication failed")
		assert.Contains(t, ch.Remedy, `VALID UNTIL 'infinity'`)
		assert.Contains(t, ch.Remedy, "ardent credentials set shop")
		driftCheck(t, rep, contract.CheckSlot, contract.CheckUnverified)
		c.Exec(t, "app", `ALTER ROLE ardent VALID UNTIL 'infinity'`)
		driftCheck(t, drift(t, c, "ardent", password), contract.CheckRoleValid, contract.CheckPass)
	})

	t.Run("replica identity lost and a new keyless table", func(t *testing.T) {
		c.Exec(t, "app", `ALTER TABLE shop.orders REPLICA IDENTITY NOTHING; CREATE TABLE shop.audit (at timestamptz, what text)`)
		ch := driftCheck(t, drift(t, c, "ardent", password), contract.CheckReplicaIdentity, contract.CheckFail)
		assert.Contains(t, ch.Message, "2 of 2 selected tables")
		assert.Contains(t, ch.Message, `"shop"."orders"`)
		assert.Contains(t, ch.Message, `"shop"."audit"`)
		assert.Contains(t, ch.Remedy, `ALTER TABLE "shop"."orders" REPLICA IDENTITY USING INDEX "orders_pkey"`)
		assert.Contains(t, ch.Remedy, "--replica-identity-full shop.audit")
		assert.Contains(t, ch.Remedy, "ardent tables remove shop")
		c.Exec(t, "app", `ALTER TABLE shop.orders REPLICA IDENTITY DEFAULT; DROP TABLE shop.audit`)
		driftCheck(t, drift(t, c, "ardent", password), contract.CheckReplicaIdentity, contract.CheckPass)
	})

	t.Run("slot close to invalidation", func(t *testing.T) {
		// Each switch after a write moves the WAL on by a segment (16 MB):
		// 5 of them behind an 80 MB bound leave less than a quarter.
		c.Exec(t, "app", `CREATE TABLE public.filler (n int)`)
		for i := 0; i < 5; i++ {
			c.Exec(t, "app", `INSERT INTO public.filler VALUES (1); SELECT pg_switch_wal();`)
		}
		rep := drift(t, c, "ardent", password)
		ch := driftCheck(t, rep, contract.CheckSlot, contract.CheckFail)
		assert.Contains(t, ch.Message, "max_slot_wal_keep_size = 80 MB")
		assert.Contains(t, ch.Remedy, "ALTER SYSTEM SET max_slot_wal_keep_size")
		assert.Contains(t, ch.Remedy, "ardent resume shop")
		assert.Greater(t, rep.Slot.RetainedBytes, int64(60<<20))
	})

	t.Run("slot dropped and wal_level lowered", func(t *testing.T) {
		c.Exec(t, "app", `SELECT pg_drop_replication_slot('ardent_shop')`)
		ch := driftCheck(t, drift(t, c, "ardent", password), contract.CheckSlot, contract.CheckFail)
		assert.Contains(t, ch.Message, "does not exist")
		assert.Contains(t, ch.Remedy, "ardent drop shop")
		c.Exec(t, "app", `ALTER SYSTEM SET wal_level = replica`)
		c.Restart(t)
		ch = driftCheck(t, drift(t, c, "ardent", password), contract.CheckWalLevel, contract.CheckFail)
		assert.Contains(t, ch.Remedy, "wal_level = logical")
	})
}

// TestDriftUnreachable: a source that does not answer is no regression:
// the drift checks did not run.
func TestDriftUnreachable(t *testing.T) {
	port, err := pgtest.FreePort()
	require.NoError(t, err)
	src, err := pgurl.ParseSource("postgres://ardent:" + password + "@127.0.0.1:" + strconv.Itoa(port) + "/app?sslmode=disable")
	require.NoError(t, err)
	_, err = preflight.Drift(context.Background(), preflight.DriftOptions{Connector: "shop", Source: src, Slot: "ardent_shop", ProbeTimeout: time.Second})
	require.ErrorIs(t, err, preflight.ErrDriftNotRun)
	assert.NotContains(t, err.Error(), password)
}
