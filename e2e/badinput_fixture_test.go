package e2e

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/worker/codec"
)

// badFixture is the world the bad-input corpus shares: one stack (source
// with TLS and passwords, destination and catalog, dev server, one worker),
// a role that passes preflight, hostile schemas, and a second source
// cluster with 50,000 keyless tables.
type badFixture struct {
	s       *stack
	pw      string   // the role's password: must never appear in any output
	roles   []string // the source's roles after setup: no case may add one
	tc      client.Client
	dc      converter.DataConverter // Ardent's codec, to read payloads back
	big     *pgtest.Cluster         // holds database big with bigTables keyless tables
	bigDone chan bigResult          // the tables are there, or could not be made
}

// Hostile but legal identifiers: each is a schema holding one table of the
// same kind of name, readable by the role.
var hostileNames = []string{
	`we"ird`,
	`my schema`,
	`схема_ü`,
	`select`,
	strings.Repeat("s", 63),
}

// hostileTable is the table in hostile schema n, at most 63 bytes long.
func hostileTable(n string) string {
	if len(n)+2 > 63 {
		return n[:61] + "_t"
	}
	return n + "_t"
}

const bigTables = 50000

func newBadFixture(t *testing.T) *badFixture {
	t.Helper()
	f := &badFixture{s: newStack(t), pw: "Zx9-s3cr3t-" + randomPassword(t)}
	src := f.s.src
	var b strings.Builder
	fmt.Fprintf(&b, `CREATE ROLE ardent LOGIN REPLICATION PASSWORD '%s';
GRANT CONNECT, CREATE ON DATABASE app TO ardent;
CREATE SCHEMA shop; CREATE TABLE shop.items (id int PRIMARY KEY, v text);
`, f.pw)
	for _, n := range hostileNames {
		q := pgx.Identifier{n}.Sanitize()
		fmt.Fprintf(&b, "CREATE SCHEMA %s; CREATE TABLE %s.%s (id int PRIMARY KEY);\n", q, q, pgx.Identifier{hostileTable(n)}.Sanitize())
	}
	for _, n := range append([]string{"shop"}, hostileNames...) {
		q := pgx.Identifier{n}.Sanitize()
		fmt.Fprintf(&b, "GRANT USAGE ON SCHEMA %s TO ardent; GRANT SELECT ON ALL TABLES IN SCHEMA %s TO ardent;\n", q, q)
	}
	src.Exec(t, "app", b.String())
	// The 50,000 tables live in a cluster of their own, built in the
	// background while the other cases run: slot creation (preflight's
	// wal2json probe) waits for every running transaction of its cluster.
	// Durability is not the point there, so fsync is off.
	f.big = pgtest.Start(t, pgtest.Options{SSL: true, PasswordAuth: true,
		ExtraConf: []string{"fsync = off", "synchronous_commit = off", "full_page_writes = off"}})
	f.big.CreateDatabase(t, "big")
	f.big.Exec(t, "big", fmt.Sprintf(`CREATE ROLE ardent LOGIN REPLICATION PASSWORD '%s';
CREATE SCHEMA many; GRANT CONNECT, CREATE ON DATABASE big TO ardent; GRANT USAGE ON SCHEMA many TO ardent;
ALTER DEFAULT PRIVILEGES IN SCHEMA many GRANT SELECT ON TABLES TO ardent;`, f.pw))
	f.bigDone = make(chan bigResult, 1)
	go func() {
		began := time.Now()
		err := createManyTables(f.big.URL("big"), bigTables)
		f.bigDone <- bigResult{err: err, took: time.Since(began)}
	}()
	f.roles = f.sourceRoles(t)

	f.s.startWorker()
	kr, err := secrets.LoadKeyring("", f.env("ARDENT_MASTER_KEY_FILE"), nil)
	require.NoError(t, err)
	opts := codec.ClientOptions(kr, client.Options{HostPort: f.s.temporal.Address, Namespace: "default"})
	f.dc = opts.DataConverter
	f.tc, err = client.Dial(opts)
	require.NoError(t, err)
	t.Cleanup(f.tc.Close)

	return f
}

// bigResult is how the background creation of the 50,000 tables ended.
type bigResult struct {
	err  error
	took time.Duration
}

// createManyTables makes n keyless tables in schema many, in batches so no
// transaction holds 50,000 locks.
func createManyTables(url string, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		_, err := conn.Exec(ctx, fmt.Sprintf(
			`DO $$BEGIN FOR i IN %d..%d LOOP EXECUTE format('CREATE TABLE many.t%%s ()', i); END LOOP; END$$`,
			lo, min(lo+batch, n)-1))
		if err != nil {
			return fmt.Errorf("create tables %d..: %w", lo, err)
		}
	}
	return nil
}

func (f *badFixture) env(key string) string { return f.s.Setting(key) }

// url is the role's URL for db with the real password; mangle rewrites it.
func (f *badFixture) url(db string) string { return f.s.src.URLFor("ardent", f.pw, db) }

func (f *badFixture) port() int { return f.s.src.Port }

// runCLI runs bin/ardent with the stack's environment (extra entries win).
func (f *badFixture) runCLI(t *testing.T, extraEnv []string, args ...string) (string, int) {
	t.Helper()
	return f.s.RunEnv(t, extraEnv, args...)
}

// temporalCLI runs the temporal CLI against the dev server.
func (f *badFixture) temporalCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return f.s.temporal.CLI(ctx, args...)
}

var stackTrace = regexp.MustCompile(`(?m)^goroutine \d+ \[|panic:|\.go:\d+|runtime\.|^\s+/.*\.go`)

// assertClean is what every case checks: no panic or stack trace, no
// password (plain, URL-escaped or upper-cased), nothing created on the source.
func (f *badFixture) assertClean(t *testing.T, output string) {
	t.Helper()
	assert.NotRegexp(t, stackTrace, output, "output holds a panic or stack trace")
	for _, form := range []string{f.pw, strings.ToUpper(f.pw), strings.ReplaceAll(f.pw, "-", "%2D")} {
		assert.NotContains(t, output, form, "output echoes the password")
	}
	f.assertNothingCreated(t)
}

// assertNothingCreated: no slot (a temporary probe slot may linger only
// until its session ends), no _ardent schema in any database, no new role.
func (f *badFixture) assertNothingCreated(t *testing.T) {
	t.Helper()
	var slots []string
	ok := assert.Eventually(t, func() bool {
		var err error
		slots, err = f.tryQuery("app", `SELECT slot_name || CASE WHEN temporary THEN ' (temporary)' ELSE '' END FROM pg_replication_slots`)
		return err == nil && len(slots) == 0
	}, 10*time.Second, 100*time.Millisecond)
	if !ok {
		t.Errorf("replication slots on the source: %q", slots)
	}
	for _, db := range []string{"app", "postgres"} {
		assert.Empty(t, f.query(t, db, `SELECT nspname FROM pg_namespace WHERE nspname = '_ardent'`), "schema _ardent in %s", db)
	}
	assert.Equal(t, f.roles, f.sourceRoles(t), "roles on the source changed")
}

func (f *badFixture) sourceRoles(t *testing.T) []string {
	return f.query(t, "app", `SELECT rolname FROM pg_roles ORDER BY 1`)
}

func (f *badFixture) query(t *testing.T, db, sql string) []string {
	t.Helper()
	out, err := f.tryQuery(db, sql)
	require.NoError(t, err)
	return out
}

// tryQuery is query without failing the test, for require.Eventually.
func (f *badFixture) tryQuery(db, sql string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := f.s.src.ConnectContext(ctx, db)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// workerLogs is every worker's output so far.
func (f *badFixture) workerLogs() string {
	var b strings.Builder
	for _, w := range f.s.Workers() {
		b.WriteString(w.Output())
	}
	return b.String()
}

func containsAll(t *testing.T, out string, want []string) {
	t.Helper()
	low := strings.ToLower(out)
	for _, w := range want {
		assert.Contains(t, low, strings.ToLower(w), "output should say %q", w)
	}
}

func lineCount(s string) int {
	return len(slices.DeleteFunc(strings.Split(s, "\n"), func(l string) bool { return l == "" }))
}

// assertBigUntouched: preflight of the 50,000 tables left nothing behind.
func (f *badFixture) assertBigUntouched(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.big.URL("big"))
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var slots, schemas, roles int
	require.NoError(t, conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_replication_slots),
  (SELECT count(*) FROM pg_namespace WHERE nspname = '_ardent'),
  (SELECT count(*) FROM pg_roles WHERE rolname NOT LIKE 'pg\_%' AND rolname NOT IN ('postgres', 'ardent'))`).Scan(&slots, &schemas, &roles))
	assert.Zero(t, slots, "slots on the 50,000-table cluster")
	assert.Zero(t, schemas, "_ardent on the 50,000-table cluster")
	assert.Zero(t, roles, "new roles on the 50,000-table cluster")
}
