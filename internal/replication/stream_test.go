package replication

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/source"
)

const semanticsSchema = `
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE kinds (
  id bigint PRIMARY KEY, n numeric(12,3), f float8, b boolean, j jsonb, js json, arr int[], tarr text[],
  by bytea, u uuid, ts timestamptz, iv interval, m mood, d posint, t text, g int GENERATED ALWAYS AS (id * 2) STORED);
CREATE SCHEMA "We""ird.Sch,ema";
CREATE TABLE "We""ird.Sch,ema"."ta,ble *x" ("we""ird col" int PRIMARY KEY, "a b" text, "Select" int);
CREATE TABLE full_t (a int, b text, j json);
ALTER TABLE full_t REPLICA IDENTITY FULL;
CREATE TABLE comp (a int, b text, v text, PRIMARY KEY (a, b));
CREATE TABLE uidx (id int NOT NULL, code text NOT NULL, v int, extra serial PRIMARY KEY);
CREATE UNIQUE INDEX uidx_code ON uidx (code, id);
ALTER TABLE uidx REPLICA IDENTITY USING INDEX uidx_code;
CREATE TABLE toast (id int PRIMARY KEY, big text, other int);
ALTER TABLE toast ALTER big SET STORAGE EXTERNAL;
CREATE TABLE not_replicated (id int);
`

func TestStreamSemantics(t *testing.T) {
	e := newEnv(t, semanticsSchema)
	// not_replicated is left out of add-tables.
	var tables = e.tables[:0:0]
	for _, tbl := range e.tables {
		if tbl.Name != "not_replicated" {
			tables = append(tables, tbl)
		}
	}
	e.tables = tables
	o := e.options()
	o.Tables = tables
	s, stop := e.start(t, o)

	for _, sql := range []string{
		`INSERT INTO kinds VALUES (1, 12345678.125, 1.5e300, true, '{"a": [1, 2.50, null], "s": "x\"y\\z"}', '{"k" : 1}', '{1,NULL,3}', '{"a b","c,d",NULL}', '\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-01-02 03:04:05.123456+00', '1 day 02:03:04', 'happy', 7, E'tab\there\nnewline \\ back \u00e9 \u2603')`,
		`INSERT INTO kinds (id, t) SELECT i, repeat('x', i) FROM generate_series(2, 300) i`,
		`UPDATE kinds SET t = 'changed', f = -0.5 WHERE id = 1`,
		`UPDATE kinds SET id = id + 1000 WHERE id BETWEEN 2 AND 20`,
		`UPDATE kinds SET n = id WHERE id > 100`,
		`DELETE FROM kinds WHERE id BETWEEN 250 AND 260`,
		`INSERT INTO "We""ird.Sch,ema"."ta,ble *x" VALUES (1, 'x', 2), (2, 'y', 3)`,
		`UPDATE "We""ird.Sch,ema"."ta,ble *x" SET "a b" = NULL WHERE "we""ird col" = 1`,
		`DELETE FROM "We""ird.Sch,ema"."ta,ble *x" WHERE "we""ird col" = 2`,
		`INSERT INTO full_t VALUES (1, 'one', '{"a":1}'), (1, 'one', '{"a":1}'), (2, NULL, NULL)`,
		`UPDATE full_t SET b = 'uno' WHERE ctid = (SELECT ctid FROM full_t WHERE a = 1 LIMIT 1)`,
		`DELETE FROM full_t WHERE a = 2`,
		`INSERT INTO comp VALUES (1, 'x', 'v'), (1, 'y', 'w'), (2, 'x', 'z')`,
		`UPDATE comp SET b = 'q' WHERE a = 1 AND b = 'x'`,
		`UPDATE comp SET v = 'vv' WHERE a = 2`,
		`DELETE FROM comp WHERE a = 1 AND b = 'y'`,
		`INSERT INTO uidx (id, code, v) SELECT i, 'c' || i, i FROM generate_series(1, 50) i`,
		`UPDATE uidx SET v = v * 10 WHERE id % 2 = 0`,
		`UPDATE uidx SET code = code || '!' WHERE id = 3`,
		`DELETE FROM uidx WHERE id = 5`,
		`INSERT INTO toast SELECT 1, string_agg(md5(i::text), ''), 0 FROM generate_series(1, 200) i`,
		`UPDATE toast SET other = 1`,
		`INSERT INTO not_replicated VALUES (1)`,
		`BEGIN; INSERT INTO comp VALUES (9, 'a', 'b'); UPDATE comp SET v = 'c' WHERE a = 9; DELETE FROM comp WHERE a = 9; INSERT INTO comp VALUES (9, 'a', 'final'); COMMIT`,
	} {
		e.exec(t, sql)
	}
	e.waitCaughtUp(t, s, 30*time.Second)
	e.requireSame(t)

	var big string
	require.NoError(t, e.dst.QueryRow(context.Background(), "SELECT md5(big) || other FROM toast").Scan(&big))
	var srcBig string
	require.NoError(t, e.src.QueryRow(context.Background(), "SELECT md5(big) || other FROM toast").Scan(&srcBig))
	assert.Equal(t, srcBig, big, "unchanged TOAST column keeps its value")

	var n int
	require.NoError(t, e.dst.QueryRow(context.Background(), "SELECT count(*) FROM not_replicated").Scan(&n))
	assert.Zero(t, n, "a table outside add-tables is not streamed")

	e.exec(t, "TRUNCATE comp, kinds")
	e.waitCaughtUp(t, s, 30*time.Second)
	e.requireSame(t)
	st := s.Stats()
	assert.NotZero(t, st.RowsApplied)
	assert.False(t, st.LastCommitTime.IsZero())
	assert.True(t, st.Connected)
	require.ErrorIs(t, stop(), context.Canceled)
}

func TestStreamRestartResumesWithoutDuplicates(t *testing.T) {
	e := newEnv(t, `CREATE TABLE acc (id int PRIMARY KEY, bal bigint NOT NULL);
		CREATE TABLE log (seq bigserial PRIMARY KEY, id int, delta int);`)
	e.exec(t, `INSERT INTO acc SELECT i, 0 FROM generate_series(1, 100) i`)
	o := e.options()
	o.MaxBatchChanges = 50 // many destination transactions
	const txs = 400
	workload := func(from, to int) {
		for i := from; i < to; i++ {
			tx, err := e.src.Begin(context.Background())
			require.NoError(t, err)
			_, err = tx.Exec(context.Background(), `UPDATE acc SET bal = bal + $1 WHERE id = $2`, i, i%100+1)
			require.NoError(t, err)
			_, err = tx.Exec(context.Background(), `INSERT INTO log (id, delta) VALUES ($2, $1)`, i, i%100+1)
			require.NoError(t, err)
			require.NoError(t, tx.Commit(context.Background()))
		}
	}
	workload(0, txs/2)
	s1, stop1 := e.start(t, o)
	require.Eventually(t, func() bool { return s1.Stats().TxsApplied > 20 }, 30*time.Second, 5*time.Millisecond)
	require.ErrorIs(t, stop1(), context.Canceled)
	mid := s1.Stats().DurableLSN
	workload(txs/2, txs)

	s2, _ := e.start(t, o)
	e.waitCaughtUp(t, s2, 60*time.Second)
	assert.Greater(t, s2.Stats().DurableLSN, mid)
	e.requireSame(t)
}

func TestStreamLargeTransaction(t *testing.T) {
	rows := envInt("ARDENT_BIG_TX_ROWS", 30000)
	e := newEnv(t, `CREATE TABLE big (id int PRIMARY KEY, v text)`)
	o := e.options()
	o.ChunkChanges = 1000
	o.MaxInflightBytes = 1 << 20
	s, _ := e.start(t, o)
	e.exec(t, `INSERT INTO big SELECT i, md5(i::text) FROM generate_series(1, $1) i`, rows)
	e.exec(t, `UPDATE big SET v = v || '!'`)
	e.exec(t, `DELETE FROM big WHERE id % 3 = 0`)
	e.waitCaughtUp(t, s, 5*time.Minute)
	e.requireSame(t)
}

func TestStreamHeartbeatAdvancesIdleSlot(t *testing.T) {
	e := newEnv(t, `CREATE TABLE quiet (id int PRIMARY KEY)`)
	o := e.options()
	o.HeartbeatInterval = 200 * time.Millisecond
	var before string
	require.NoError(t, e.src.QueryRow(context.Background(),
		"SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", e.slot).Scan(&before))
	start, _ := sinkLSN(before)
	s, _ := e.start(t, o)
	require.Eventually(t, func() bool {
		var now string
		if err := e.src.QueryRow(context.Background(),
			"SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", e.slot).Scan(&now); err != nil {
			return false
		}
		l, _ := sinkLSN(now)
		return l > start && s.Stats().DurableLSN > start
	}, 30*time.Second, 50*time.Millisecond)
	d, err := e.sink.DurableLSN(context.Background(), "test")
	require.NoError(t, err)
	assert.Greater(t, d, start, "applied_lsn moves on heartbeats too")
}

func TestStreamSlotLost(t *testing.T) {
	e := newEnv(t, `CREATE TABLE x (id int PRIMARY KEY)`)
	e.exec(t, "SELECT pg_drop_replication_slot($1)", e.slot)
	s, err := New(e.options())
	require.NoError(t, err)
	err = s.Run(context.Background())
	require.Error(t, err)
	assert.True(t, errors.Is(err, source.ErrSlotLost), "got %v", err)
}

func TestStreamTakesOverActiveSlot(t *testing.T) {
	e := newEnv(t, `CREATE TABLE x (id int PRIMARY KEY)`)
	// A first streamer holds the slot, like a worker that died without
	// closing its connection.
	o := e.options()
	s1, err := New(o)
	require.NoError(t, err)
	ctx1, cancel1 := context.WithCancel(context.Background())
	defer cancel1()
	go func() { _ = s1.Run(ctx1) }()
	require.Eventually(t, func() bool { return s1.Stats().Connected }, 10*time.Second, 10*time.Millisecond)

	s2, _ := e.start(t, o)
	require.Eventually(t, func() bool { return s2.Stats().Connected }, 30*time.Second, 10*time.Millisecond)
	cancel1()
	e.exec(t, "INSERT INTO x VALUES (1)")
	e.waitCaughtUp(t, s2, 30*time.Second)
	e.requireSame(t)
}

func TestDropSlotIdempotent(t *testing.T) {
	e := newEnv(t, `CREATE TABLE x (id int PRIMARY KEY)`)
	s, _ := e.start(t, e.options())
	require.Eventually(t, func() bool { return s.Stats().Connected }, 10*time.Second, 10*time.Millisecond)
	ctx := context.Background()
	dropped, err := source.DropSlot(ctx, e.src, e.slot, source.TerminateAny)
	require.NoError(t, err, "drops a slot held by a walsender")
	require.True(t, dropped)
	dropped, err = source.DropSlot(ctx, e.src, e.slot, source.TerminateAny)
	require.NoError(t, err, "a missing slot is fine")
	require.False(t, dropped)
	_, err = source.SlotInfo(ctx, e.src, e.slot)
	require.ErrorIs(t, err, source.ErrSlotLost)
}

func TestStreamRestartInsideLargeTransaction(t *testing.T) {
	e := newEnv(t, `CREATE TABLE big (id int PRIMARY KEY, v text)`)
	o := e.options()
	o.ChunkChanges = 500
	o.MaxInflightBytes = 256 << 10
	e.exec(t, `INSERT INTO big SELECT i, md5(i::text) FROM generate_series(1, 50000) i`)
	s1, stop1 := e.start(t, o)
	require.Eventually(t, func() bool { return s1.Stats().RowsApplied >= 2000 }, time.Minute, time.Millisecond)
	require.ErrorIs(t, stop1(), context.Canceled)
	st := s1.Stats()
	require.Less(t, st.RowsApplied, uint64(50000), "stopped inside the transaction")
	var n int
	require.NoError(t, e.dst.QueryRow(context.Background(), "SELECT count(*) FROM big").Scan(&n))
	assert.Zero(t, n, "nothing of an uncommitted source transaction is visible")

	s2, _ := e.start(t, o) // same sink: its open destination transaction is abandoned
	e.waitCaughtUp(t, s2, 2*time.Minute)
	e.requireSame(t)
}

func TestStreamReconnectsAfterServerRestart(t *testing.T) {
	// Source and destination share the cluster: one restart drops both.
	e := newEnv(t, `CREATE TABLE r (id int PRIMARY KEY, v int)`)
	s, _ := e.start(t, e.options())
	e.exec(t, `INSERT INTO r SELECT i, i FROM generate_series(1, 1000) i`)
	e.waitCaughtUp(t, s, 30*time.Second)

	e.c.Restart(t)
	e.src = e.c.Connect(t, "src")
	e.dst = e.c.Connect(t, "dst")
	e.exec(t, `UPDATE r SET v = v + 1`)
	e.exec(t, `INSERT INTO r SELECT i, i FROM generate_series(1001, 2000) i`)
	e.waitCaughtUp(t, s, time.Minute)
	e.requireSame(t)
	assert.NotZero(t, s.Stats().Reconnects)
}

func TestStreamSlotInvalidated(t *testing.T) {
	e := newEnvWith(t, pgtest.Options{ExtraConf: []string{"max_slot_wal_keep_size = 1MB"}}, `CREATE TABLE x (id int PRIMARY KEY, v text)`)
	// Nobody consumes the slot while WAL beyond its allowance is written
	// and recycled: PostgreSQL invalidates it.
	for i := 0; i < 4; i++ {
		e.exec(t, `INSERT INTO x SELECT g, md5(g::text) FROM generate_series($1::int * 20000 + 1, ($1::int + 1) * 20000) g`, i)
		e.exec(t, `SELECT pg_switch_wal()`)
	}
	e.exec(t, `CHECKPOINT`)
	require.Eventually(t, func() bool {
		st, err := source.SlotInfo(context.Background(), e.src, e.slot)
		return err == nil && st.Lost()
	}, 30*time.Second, 100*time.Millisecond)
	s, err := New(e.options())
	require.NoError(t, err)
	err = s.Run(context.Background())
	require.ErrorIs(t, err, source.ErrSlotLost)
}

// TestStreamHeartbeatSurvivesItsConnectionLoss: the heartbeat's own SQL
// connection can die while the replication connection lives on; the
// heartbeat reconnects and the idle slot keeps advancing.
func TestStreamHeartbeatSurvivesItsConnectionLoss(t *testing.T) {
	e := newEnv(t, `CREATE TABLE quiet (id int PRIMARY KEY)`)
	o := e.options()
	o.HeartbeatInterval = 200 * time.Millisecond
	s, _ := e.start(t, o)
	ctx := context.Background()
	require.Eventually(t, func() bool { return s.Stats().Connected }, 30*time.Second, 20*time.Millisecond)
	// Terminate every client backend on the source database but ours and
	// the walsender's: that is the heartbeat's connection.
	// The condition runs on its own goroutine: it reports through c, not t.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		var killed int
		require.NoError(c, e.src.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = 'src' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&killed))
		assert.Positive(c, killed, "no heartbeat connection to terminate yet")
	}, 10*time.Second, 50*time.Millisecond)
	after := s.Stats().DurableLSN
	require.Eventually(t, func() bool {
		var emitted int
		_ = e.src.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = 'src' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&emitted)
		return emitted > 0 && s.Stats().DurableLSN > after
	}, 30*time.Second, 50*time.Millisecond, "the heartbeat did not come back: %+v", s.Stats())
}
