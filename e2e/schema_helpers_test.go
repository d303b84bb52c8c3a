package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/rowsum"
)

// Helpers of the schema-change end-to-end tests (schema_test.go,
// schema_tricky_test.go).

// relay keeps a write load (sqlLoad) running and moves it on to other
// statements as a migration makes new columns usable or old ones go: the
// next load starts before the previous one stops, so writes never pause.
type relay struct {
	t    *testing.T
	url  string
	stop func() int64
	n    int64
}

func newRelay(t *testing.T, url string, stmts ...string) *relay {
	t.Helper()
	return &relay{t: t, url: url, stop: sqlLoad(t, url, stmts...)}
}

// to runs stmts from now on.
func (r *relay) to(stmts ...string) {
	r.t.Helper()
	next := sqlLoad(r.t, r.url, stmts...)
	r.n += r.stop()
	r.stop = next
}

// end stops the load and returns how many statements succeeded in all.
func (r *relay) end() int64 { r.n += r.stop(); r.stop = func() int64 { return 0 }; return r.n }

// schemaHistory is `ardent schema history NAME [--table T] --format json`.
// It never fails the test, so require.Eventually may call it.
func (s *stack) schemaHistory(name, table string) ([]contract.SchemaChangeInfo, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"schema", "history", name, "--format", "json"}
	if table != "" {
		args = append(args, "--table", table)
	}
	out, code, err := s.Command(ctx, nil, args...)
	if err != nil || code != 0 {
		return nil, fmt.Errorf("ardent %s: exit %d: %v: %s", strings.Join(args, " "), code, err, out)
	}
	var rep contract.SchemaHistoryReport
	i := strings.Index(out, "{")
	if i < 0 {
		return nil, fmt.Errorf("ardent %s printed no JSON: %s", strings.Join(args, " "), out)
	}
	if err := json.Unmarshal([]byte(out[i:]), &rep); err != nil {
		return nil, fmt.Errorf("ardent %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return rep.Changes, nil
}

// historyMatch is a schema history entry the tests look for: its table,
// a part of its change, its outcome ("" any).
type historyMatch struct{ table, change, outcome string }

func (m historyMatch) in(changes []contract.SchemaChangeInfo) (contract.SchemaChangeInfo, bool) {
	for _, c := range changes {
		if c.Table == m.table && strings.Contains(c.Change, m.change) && (m.outcome == "" || c.Outcome == m.outcome) {
			return c, true
		}
	}
	return contract.SchemaChangeInfo{}, false
}

// waitHistory waits until `ardent schema history` of connector shop lists
// the change and returns it.
func (s *stack) waitHistory(table, change, outcome string, timeout time.Duration) contract.SchemaChangeInfo {
	s.t.Helper()
	m := historyMatch{table, change, outcome}
	var got contract.SchemaChangeInfo
	var last []contract.SchemaChangeInfo
	var lastErr error
	require.Eventually(s.t, func() bool {
		var ok bool
		last, lastErr = s.schemaHistory("shop", table)
		got, ok = m.in(last)
		return ok
	}, timeout, 500*time.Millisecond, "no %+v in the schema history: %v %v\n%v",
		m, lazy(func() string { return fmt.Sprintf("%+v", last) }), lazy(func() string { return fmt.Sprint(lastErr) }), lazy(s.workerLog))
	return got
}

// column is one column of a table as its catalog has it.
type column struct {
	Name, Type, Default string
	NotNull             bool
}

// columnsOf is table's columns on url in attnum order, nil when it cannot
// be read. It never fails the test.
func columnsOf(url, table string) []column {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
		coalesce(pg_get_expr(d.adbin, d.adrelid), '')
		FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, table)
	if err != nil {
		return nil
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.Name, &c.Type, &c.NotNull, &c.Default)
		return c, err
	})
	if err != nil {
		return nil
	}
	return cols
}

// columnNamed is table's column name on url; ok is false without one.
func columnNamed(url, table, name string) (column, bool) {
	for _, c := range columnsOf(url, table) {
		if c.Name == name {
			return c, true
		}
	}
	return column{}, false
}

// typesOf is name → type of table's columns on url.
func typesOf(url, table string) map[string]string {
	m := map[string]string{}
	for _, c := range columnsOf(url, table) {
		m[c.Name] = c.Type
	}
	return m
}

// sourceColumnsDigest is table's rowsum digest (internal/rowsum: whole
// rows, no alias a column can shadow) over the columns the source table
// has now, in the source's order: a destination that keeps a column the
// source dropped (drop-column policy keep) is compared on what the source
// still has, as `ardent verify` does.
func sourceColumnsDigest(ctx context.Context, url, table string, names []string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.Begin(ctx)
	if err != nil {
		return "", err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = pgx.Identifier{n}.Sanitize()
	}
	if _, err := tx.Exec(ctx, "CREATE TEMP VIEW ardent_compare AS SELECT "+strings.Join(quoted, ", ")+" FROM "+table); err != nil {
		return "", err
	}
	return rowsum.Of(ctx, tx, "pg_temp.ardent_compare")
}

// sameOnSourceColumns tells whether table holds the same rows on both
// sides over the source's columns. It never fails the test.
func sameOnSourceColumns(app, dest, table string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var names []string
	for _, c := range columnsOf(app, table) {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return false
	}
	x, errA := sourceColumnsDigest(ctx, app, table, names)
	y, errB := sourceColumnsDigest(ctx, dest, table, names)
	return errA == nil && errB == nil && x == y
}

// requireEqualOnSourceColumns waits until each table holds the same rows
// on both sides over the source's columns (the load stopped).
func requireEqualOnSourceColumns(t *testing.T, app, dest string, tables ...string) {
	t.Helper()
	for _, table := range tables {
		require.Eventually(t, func() bool { return sameOnSourceColumns(app, dest, table) }, 2*time.Minute, time.Second,
			"%s differs on the source's columns: source %v rows, destination %v", table,
			lazy(func() string { return fmt.Sprint(count(app, table)) }), lazy(func() string { return fmt.Sprint(count(dest, table)) }))
	}
}

// waitCount waits until count(*) FROM table (which may carry a WHERE) on
// url is at least min and returns it.
func (s *stack) waitCount(url, table string, min int, timeout time.Duration, what string) int {
	s.t.Helper()
	n := -1
	require.Eventually(s.t, func() bool { n = count(url, table); return n >= min }, timeout, 200*time.Millisecond,
		"%s: count(*) FROM %s is %v, want at least %d\n%v", what, table,
		lazy(func() string { return query(url, "SELECT count(*) FROM "+table) }), min, lazy(s.workerLog))
	return n
}

// workerLog is the last lines of each worker's output but its debug lines
// (mostly activity scheduling), for a failure message.
func (s *stack) workerLog() string {
	var b strings.Builder
	for i, w := range s.Workers() {
		var keep []string
		for _, l := range strings.Split(w.Output(), "\n") {
			if !strings.Contains(l, "level=DEBUG") {
				keep = append(keep, l)
			}
		}
		fmt.Fprintf(&b, "--- worker %d ---\n%s\n", i, strings.Join(keep[max(0, len(keep)-40):], "\n"))
	}
	return b.String()
}

// hasTableLine reports whether a line of out contains msg and the field
// table=<table> (exactly: shop.ledger is not shop.ledger_old).
func hasTableLine(out, msg, table string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, msg) && slices.Contains(strings.Fields(l), "table="+table) {
			return true
		}
	}
	return false
}
