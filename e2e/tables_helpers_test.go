package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/e2estack"
)

// Helpers of the live table set's end-to-end tests (tables_more_test.go).

// onboardLive seeds the source with seedSQL plus more, onboards schema
// shop as connector shop (discovery every 2 s, no periodic verification,
// plus args) and waits until it streams.
func onboardLive(t *testing.T, more string, args ...string) (s *stack, app, dest string) {
	t.Helper()
	s = newStack(t)
	s.src.Exec(t, "app", seedSQL+more)
	pw := randomPassword(t)
	source := s.src.URLFor("ardent", pw, "app")
	dest, app = s.dst.URL("destination"), s.src.URL("app")
	s.applySQL(pw)
	s.startWorker()
	out, code := s.ardent(append([]string{"onboard", "--name", "shop", "--source", source, "--destination", dest, "--schema", "shop",
		"--discover-interval", "2s", "--verify-interval", "-1s", "--wait"}, args...)...)
	require.Equal(t, 0, code, out)
	s.waitStage("shop", "streaming", 4*time.Minute)
	return s, app, dest
}

// sqlLoad writes to the source until stopped, running stmts in turn, each
// with the iteration number as $1. A statement on a relation that does not
// exist (yet, or any more), whose row no partition takes, or that lost a
// deadlock to the test's DDL is skipped, as an application would retry it.
// stop returns how many statements succeeded.
func sqlLoad(t *testing.T, url string, stmts ...string) (stop func() int64) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	var stopping atomic.Bool
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		defer conn.Close(context.Background())
		for i := 0; !stopping.Load(); i++ {
			_, err := conn.Exec(context.Background(), stmts[i%len(stmts)], i)
			var pe *pgconn.PgError
			switch {
			case err == nil:
				n.Add(1)
			case errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "23514" || pe.Code == "40P01"):
			default:
				t.Errorf("load: %s: %v", stmts[i%len(stmts)], err)
				return
			}
			time.Sleep(time.Millisecond)
		}
	})
	stop = func() int64 { stopping.Store(true); wg.Wait(); return n.Load() }
	t.Cleanup(func() { stop() }) // before the stack goes (cleanups run last first)
	return stop
}

// tableRow is one table of `ardent tables NAME --format json`.
type tableRow struct {
	Table, State, Cause, Remedy string
	Rows                        int64
}

// tablesReport is `ardent tables name --format json` by table, and its exit
// code. It never fails the test, so require.Eventually may call it.
func (s *stack) tablesReport(name string) (map[string]tableRow, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, code, err := s.Command(ctx, nil, "tables", name, "--format", "json")
	i := strings.Index(out, "{")
	if err != nil || i < 0 {
		return nil, code
	}
	var rep struct{ Tables []tableRow }
	if json.Unmarshal([]byte(out[i:]), &rep) != nil {
		return nil, code
	}
	m := map[string]tableRow{}
	for _, t := range rep.Tables {
		m[t.Table] = t
	}
	return m, code
}

// liveStatus is the part of `ardent status NAME --format json` about the
// live table set.
type liveStatus struct {
	Stage, Error, Remedy string
	Tables               *struct {
		Backfilling string
		Queued      []string
		Attention   []tableRow
	}
	BackfillProgress *struct {
		Table, Phase string
		Rows         int64
	} `json:"backfill_progress"`
}

// liveStatusOf never fails the test; ok is false without a status.
func (s *stack) liveStatusOf(name string) (st liveStatus, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, code, err := s.Command(ctx, nil, "status", name, "--format", "json")
	if err != nil || (code != 0 && code != 1) {
		return st, false
	}
	return st, json.Unmarshal([]byte(out), &st) == nil && st.Stage != ""
}

// query runs sql on url and returns its output; it never fails the test.
func query(url, sql string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e2estack.Query(ctx, url, sql)
	if err != nil {
		return "error: " + err.Error()
	}
	return out
}

// verifiedTables runs `ardent verify NAME --format json`, requires exit 0
// (equal) and returns the tables it compared.
func (s *stack) verifiedTables(name string) []string {
	s.t.Helper()
	out, code := s.ardent("verify", name, "--format", "json")
	require.Equal(s.t, 0, code, "ardent verify: %s", out)
	var rep struct {
		Equal  bool
		Tables []struct{ Table string }
	}
	i := strings.Index(out, "{")
	require.GreaterOrEqual(s.t, i, 0, out)
	require.NoError(s.t, json.Unmarshal([]byte(out[i:]), &rep), out)
	require.True(s.t, rep.Equal, out)
	var names []string
	for _, t := range rep.Tables {
		names = append(names, t.Table)
	}
	return names
}

// waitStates waits until every table named has its state in `ardent tables`.
func (s *stack) waitStates(name string, want map[string]string, timeout time.Duration) map[string]tableRow {
	s.t.Helper()
	var last map[string]tableRow
	require.Eventually(s.t, func() bool {
		last, _ = s.tablesReport(name)
		for table, state := range want {
			if last[table].State != state {
				return false
			}
		}
		return true
	}, timeout, 500*time.Millisecond, "want %v; tables: %v\n%v", want, lazy(func() string { return fmt.Sprint(last) }),
		lazy(s.workerOutput))
	return last
}

// lazy is a failure message's argument computed when the message is
// printed, after the wait: the last state seen, not the first.
type lazy func() string

func (f lazy) String() string { return f() }

// count is SELECT count(*) FROM table on url, -1 when it cannot be read.
func count(url, table string) int {
	n, err := strconv.Atoi(query(url, "SELECT count(*) FROM "+table))
	if err != nil {
		return -1
	}
	return n
}

// requireEqualTables waits until each table holds the same rows on both
// sides (the load stopped).
func requireEqualTables(t *testing.T, app, dest string, tables ...string) {
	t.Helper()
	for _, table := range tables {
		require.Eventually(t, func() bool { return sameRows(app, dest, table) }, 2*time.Minute, time.Second,
			"%s differs: source %v rows, destination %v", table, lazy(func() string { return strconv.Itoa(count(app, table)) }),
			lazy(func() string { return strconv.Itoa(count(dest, table)) }))
	}
}
