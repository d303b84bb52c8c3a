package preflight_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

// assertSkippedAfterConnect: an honest report after a failed connect says
// the rest was not checked rather than passing or failing it.
func assertSkippedAfterConnect(t *testing.T, rep preflight.Report) {
	t.Helper()
	assert.False(t, rep.Passed)
	for _, c := range rep.Checks[2:] {
		assert.Equal(t, preflight.StatusUnverified, c.Status, c.ID)
		assert.Contains(t, c.Message, "connect failed", c.ID)
	}
}

func TestConnectFailures(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	c.Exec(t, "postgres", `CREATE ROLE ardent LOGIN REPLICATION PASSWORD 'right-password'; CREATE ROLE nologin PASSWORD 'x'`)

	port, err := pgtest.FreePort()
	require.NoError(t, err)
	// A listener that accepts and never answers: the connect must time out.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = silent.Close() })
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() })
		}
	}()
	silentPort := silent.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name, url, wantMsg, wantRemedy string
	}{
		{"bad password", "postgres://ardent:" + password + "@127.0.0.1:" + strconv.Itoa(c.Port) + "/postgres?sslmode=disable",
			"password authentication failed", "ardent sql --set-password"},
		{"missing database", "postgres://ardent:right-password@127.0.0.1:" + strconv.Itoa(c.Port) + "/nope?sslmode=disable",
			`database "nope" does not exist`, "database name"},
		{"refused", "postgres://ardent:" + password + "@127.0.0.1:" + strconv.Itoa(port) + "/postgres",
			"connection refused", "listen_addresses"},
		{"dns", "postgres://ardent:" + password + "@no-such-host.invalid/postgres", "cannot resolve host", "host name"},
		{"timeout", "postgres://ardent:" + password + "@127.0.0.1:" + strconv.Itoa(silentPort) + "/postgres?sslmode=disable",
			"no answer from", "allow inbound TCP from 203.0.113.7"},
		{"tls refused", "postgres://ardent:" + password + "@127.0.0.1:" + strconv.Itoa(c.Port) + "/postgres",
			"does not accept TLS", "ssl = on"},
		{"not permitted to log in", "postgres://nologin:x@127.0.0.1:" + strconv.Itoa(c.Port) + "/postgres?sslmode=disable",
			"may not log in", `ALTER ROLE "nologin" LOGIN;`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, preflight.Options{SourceURL: tt.url, EgressIP: "203.0.113.7", ProbeTimeout: time.Second})
			ch := requireStatus(t, rep, preflight.CheckConnect, preflight.StatusFail)
			assert.Contains(t, ch.Message, tt.wantMsg)
			assert.Contains(t, ch.Remedy, tt.wantRemedy)
			assertSkippedAfterConnect(t, rep)
		})
	}

	t.Run("pg_hba", func(t *testing.T) {
		hba := filepath.Join(c.DataDir, "pg_hba.conf")
		old, err := os.ReadFile(hba)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, os.WriteFile(hba, old, 0o600)); c.Reload(t) })
		require.NoError(t, os.WriteFile(hba, []byte("local all all trust\nhost all postgres 127.0.0.1/32 trust\n"), 0o600))
		c.Reload(t)
		rep := run(t, preflight.Options{SourceURL: c.URLFor("ardent", password, "postgres"), EgressIP: "203.0.113.7"})
		ch := requireStatus(t, rep, preflight.CheckConnect, preflight.StatusFail)
		assert.Contains(t, ch.Message, "pg_hba.conf")
		assert.Contains(t, ch.Remedy, "hostssl postgres ardent 203.0.113.7/32 scram-sha-256")
	})

	t.Run("malformed url", func(t *testing.T) {
		rep := run(t, preflight.Options{SourceURL: "postgres://ardent:" + password + "@127.0.0.1:notaport/db"})
		requireStatus(t, rep, preflight.CheckConnect, preflight.StatusFail)
		assert.False(t, rep.Passed)
	})
}

func TestIPv4(t *testing.T) {
	tests := []struct {
		host string
		want preflight.Status
	}{
		{"127.0.0.1", preflight.StatusPass},
		{"localhost", preflight.StatusPass},
		{"[::1]", preflight.StatusFail},
		{"no-such-host.invalid", preflight.StatusFail},
	}
	for _, tt := range tests {
		rep := run(t, preflight.Options{SourceURL: "postgres://u@" + tt.host + ":1/db", ProbeTimeout: time.Second})
		requireStatus(t, rep, preflight.CheckIPv4, tt.want)
	}
}

func TestStandbyIsNotWriter(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	s := c.StartStandby(t)
	rep := run(t, preflight.Options{SourceURL: s.URL("postgres")})
	ch := requireStatus(t, rep, preflight.CheckIsWriter, preflight.StatusFail)
	assert.Equal(t, "the URL points at a read replica; use the writable primary", ch.Message)
	requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusUnverified)
	assert.False(t, rep.Passed)
	requireStatus(t, run(t, preflight.Options{SourceURL: c.URL("postgres")}), preflight.CheckIsWriter, preflight.StatusPass)
}

func TestWalLevelReplica(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{WalLevel: "replica"})
	rep := run(t, preflight.Options{SourceURL: c.URL("postgres")})
	ch := requireStatus(t, rep, preflight.CheckWalLevel, preflight.StatusFail)
	assert.Contains(t, ch.Remedy, "restart")
	requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusUnverified)
	// unverified can be accepted, a failure cannot.
	rep = run(t, preflight.Options{SourceURL: c.URL("postgres"), AcceptUnverified: []string{"wal2json"}})
	assert.False(t, rep.Passed)
}

func TestSSL(t *testing.T) {
	plain := pgtest.Start(t, pgtest.Options{})
	rep := run(t, preflight.Options{SourceURL: plain.URL("postgres")})
	ch := requireStatus(t, rep, preflight.CheckSSL, preflight.StatusFail)
	assert.Contains(t, ch.Message, "ssl = off")

	tls := pgtest.Start(t, pgtest.Options{SSL: true})
	u := tls.URL("postgres") // sslmode=require
	requireStatus(t, run(t, preflight.Options{SourceURL: u}), preflight.CheckSSL, preflight.StatusPass)
	ch = requireStatus(t, run(t, preflight.Options{SourceURL: u[:len(u)-len("require")] + "disable"}), preflight.CheckSSL, preflight.StatusFail)
	assert.Contains(t, ch.Message, "not encrypted")
}

func TestMissingGrants(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	c.Exec(t, "postgres", `
CREATE ROLE ardent LOGIN PASSWORD 'Pa55-w0rd''with"quotes';
CREATE SCHEMA app;
CREATE TABLE app.a (id serial PRIMARY KEY);
CREATE TABLE app.b (id int PRIMARY KEY);
CREATE ROLE other;
CREATE SCHEMA _ardent AUTHORIZATION other;`)
	url := c.URLFor("ardent", password, "postgres")
	rep := run(t, preflight.Options{SourceURL: url, Selection: selection("app")})
	requireStatus(t, rep, preflight.CheckConnect, preflight.StatusPass)
	ch := requireStatus(t, rep, preflight.CheckReplicationRole, preflight.StatusFail)
	assert.Contains(t, ch.Remedy, `ALTER ROLE "ardent" REPLICATION;`)
	ch = requireStatus(t, rep, preflight.CheckReplicationConnection, preflight.StatusFail)
	assert.Contains(t, ch.Remedy, `ALTER ROLE "ardent" REPLICATION;`)
	requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusUnverified)
	ch = requireStatus(t, rep, preflight.CheckBookkeeping, preflight.StatusFail)
	assert.Equal(t, `ALTER SCHEMA "_ardent" OWNER TO "ardent";`, ch.Remedy)
	ch = requireStatus(t, rep, preflight.CheckCanReadTables, preflight.StatusFail)
	assert.Contains(t, ch.Message, "no USAGE on schemas app")
	assert.Contains(t, ch.Message, "no SELECT on 2 tables: app.a, app.b")
	assert.Contains(t, ch.Message, "no SELECT on 1 sequences: app.a_id_seq")

	c.Exec(t, "postgres", `DROP SCHEMA _ardent; ALTER ROLE ardent REPLICATION;
GRANT USAGE ON SCHEMA app TO ardent; GRANT SELECT ON app.a TO ardent;`)
	rep = run(t, preflight.Options{SourceURL: url, Selection: selection("app")})
	requireStatus(t, rep, preflight.CheckReplicationRole, preflight.StatusPass)
	requireStatus(t, rep, preflight.CheckReplicationConnection, preflight.StatusPass)
	requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusPass)
	ch = requireStatus(t, rep, preflight.CheckBookkeeping, preflight.StatusFail)
	assert.Equal(t, `GRANT CREATE ON DATABASE "postgres" TO "ardent";`, ch.Remedy)
	ch = requireStatus(t, rep, preflight.CheckCanReadTables, preflight.StatusFail)
	assert.Equal(t, `role "ardent": no SELECT on 1 tables: app.b; no SELECT on 1 sequences: app.a_id_seq`, ch.Message)

	c.Exec(t, "postgres", `GRANT CREATE ON DATABASE postgres TO ardent; GRANT SELECT ON ALL TABLES IN SCHEMA app TO ardent;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA app TO ardent;`)
	rep = run(t, preflight.Options{SourceURL: url, Selection: selection("app")})
	requireStatus(t, rep, preflight.CheckBookkeeping, preflight.StatusPass)
	requireStatus(t, rep, preflight.CheckCanReadTables, preflight.StatusPass)

	// A selection naming what does not exist fails can_read_tables.
	rep = run(t, preflight.Options{SourceURL: url, Selection: selection("app", "nope")})
	ch = requireStatus(t, rep, preflight.CheckCanReadTables, preflight.StatusFail)
	assert.Contains(t, ch.Message, "selected schemas do not exist: nope")
}

func TestNoFreeSlotsOrSenders(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{MaxReplicationSlots: 1, MaxWalSenders: 1})
	c.Exec(t, "postgres", `SELECT pg_create_physical_replication_slot('someone_else')`)
	rep := run(t, preflight.Options{SourceURL: c.URL("postgres")})
	ch := requireStatus(t, rep, preflight.CheckReplicationSlots, preflight.StatusFail)
	assert.Contains(t, ch.Message, "1 of max_replication_slots = 1 in use (1 inactive), 0 free")
	assert.Contains(t, ch.Remedy, "ALTER SYSTEM SET max_replication_slots = 10")
	requireStatus(t, rep, preflight.CheckWalSenders, preflight.StatusWarn)
	ch = requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusUnverified)
	assert.Contains(t, ch.Message, "no free replication slot")

	// Another replication session holds the only WAL sender.
	cfg, err := pgconn.ParseConfig(c.URL("postgres") + "&replication=database")
	require.NoError(t, err)
	held, err := pgconn.ConnectConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Close(context.Background()) })
	rep = run(t, preflight.Options{SourceURL: c.URL("postgres")})
	ch = requireStatus(t, rep, preflight.CheckWalSenders, preflight.StatusFail)
	assert.Contains(t, ch.Message, "1 of max_wal_senders = 1 in use, 0 free")
	requireStatus(t, rep, preflight.CheckReplicationConnection, preflight.StatusFail)
}

func TestMissingPlugin(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	rep := run(t, preflight.Options{SourceURL: c.URL("postgres"), Plugin: "no_such_plugin"})
	ch := requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusFail)
	assert.Contains(t, ch.Message, "no_such_plugin is not installed")
	assert.Contains(t, ch.Remedy, "postgresql-<major>-wal2json")
	rep = run(t, preflight.Options{SourceURL: c.URL("postgres")})
	requireStatus(t, rep, preflight.CheckWal2JSON, preflight.StatusPass)
	// The probe leaves no slot behind.
	conn := c.Connect(t, "postgres")
	var n int
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_replication_slots`).Scan(&n))
	assert.Zero(t, n)
}

func TestWalRetention(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	rep := run(t, preflight.Options{SourceURL: c.URL("postgres")})
	ch := requireStatus(t, rep, preflight.CheckWalRetention, preflight.StatusWarn)
	assert.Contains(t, ch.Remedy, "ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf();")
	// What an invalidated slot means, as the README says (Guarantees, 4):
	// stage failed, a drop and a new onboarding; never a snapshot by itself.
	for _, want := range []string{"invalidated", "stage failed", "never re-snapshots by itself", "`ardent drop NAME` and a new onboarding"} {
		assert.Contains(t, ch.Remedy, want)
	}
	c.Exec(t, "postgres", `ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'`)
	c.Exec(t, "postgres", `SELECT pg_reload_conf()`)
	require.EventuallyWithT(t, func(collect *assert.CollectT) {
		wal := run(collect, preflight.Options{SourceURL: c.URL("postgres")}).Check(preflight.CheckWalRetention)
		assert.Equal(collect, preflight.StatusPass, wal.Status, wal.Message)
		assert.Contains(collect, wal.Message, "stage failed")
	}, 10*time.Second, 100*time.Millisecond)
}
