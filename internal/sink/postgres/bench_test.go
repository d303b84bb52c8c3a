package postgres

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// BenchmarkKeylessFullUpdates applies streamed single-row UPDATEs to a
// 1M-row table without a key (REPLICA IDENTITY FULL on the source): each
// matches its whole old row through the access index Prepare creates.
//
// Run with: go test ./internal/sink/postgres -run '^$' -bench KeylessFull -benchtime 20000x
func BenchmarkKeylessFullUpdates(b *testing.B) {
	ctx := context.Background()
	s, c := newSink(b)
	tbl := schema.Table{Schema: "public", Name: "events", Identity: schema.IdentityFull,
		Columns: []schema.Column{{Name: "id", Type: "bigint"}, {Name: "kind", Type: "integer"}, {Name: "note", Type: "text"}}}
	require.NoError(b, s.Prepare(ctx, "bench", []schema.Table{tbl}))
	c.Exec(b, "postgres", `INSERT INTO events SELECT g, g % 7, md5(g::text) FROM generate_series(1, 1000000) g`)
	c.Exec(b, "postgres", "VACUUM ANALYZE events")
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		// Rows spread over the whole table (7919 is coprime with 1M), so a
		// match without the index would scan half the table on average.
		n := (i*7919)%1000000 + 1
		id := strconv.Itoa(n)
		// The row as it was, and as it becomes: kind moves on by one per pass.
		pass := i / 1000000
		kind := func(pass int) string { return strconv.Itoa(n%7 + pass) }
		old := []sink.Value{val("id", id), val("kind", kind(pass)), {Name: "note", Text: md5hex(n)}}
		upd := []sink.Value{val("id", id), val("kind", kind(pass+1)), {Name: "note", Text: md5hex(n)}}
		_, err := s.Write(ctx, "bench", sink.Batch{Txs: []sink.Tx{{CommitLSN: pglogrepl.LSN(i + 1), Changes: []sink.Change{
			{Op: sink.OpUpdate, Schema: "public", Table: "events", Columns: upd, Identity: old}}}}})
		require.NoError(b, err)
	}
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "updates/s")
	var changed int
	require.NoError(b, c.Connect(b, "postgres").QueryRow(ctx, "SELECT count(*) FROM events WHERE kind >= 7 OR kind <> id % 7").Scan(&changed))
	require.Equal(b, min(b.N, 1000000), changed, "every update matched its row")
}

// md5hex is PostgreSQL's md5(i::text).
func md5hex(i int) string {
	sum := md5.Sum([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(sum[:])
}
