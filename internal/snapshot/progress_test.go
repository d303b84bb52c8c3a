package snapshot

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/internal/schema"
)

func TestTrackerSnapshot(t *testing.T) {
	a := &tableJob{table: schema.Table{Schema: "s", Name: "a", EstimatedRows: 1000, SizeBytes: 8192 * 100}, pages: 100}
	a.chunks = make([]chunk, 4)
	b := &tableJob{table: schema.Table{Schema: "s", Name: "b", EstimatedRows: -1}, pages: 100}
	b.chunks = make([]chunk, 1)
	empty := &tableJob{table: schema.Table{Schema: "s", Name: "empty"}, pages: 0}
	empty.chunks = make([]chunk, 1)
	start := time.Unix(1000, 0)
	tr := newTracker([]*tableJob{a, b, empty}, start)

	p := tr.snapshot(start, false)
	assert.Zero(t, p.Fraction)
	assert.Zero(t, p.ETA, "no ETA before anything moved")
	assert.Equal(t, int64(1000), p.EstimatedRows, "a negative estimate counts as zero")

	// a: two of four chunks done (50 pages) and rows past that; empty done.
	tr.counters[0].pagesDone.Add(50)
	tr.counters[0].chunksDone.Add(2)
	tr.counters[0].rows.Add(600)
	tr.counters[0].bytes.Add(12345)
	tr.counters[2].chunksDone.Add(1)
	p = tr.snapshot(start.Add(10*time.Second), false)
	assert.Equal(t, 1, p.TablesDone)
	assert.Equal(t, int64(600), p.Rows)
	assert.Equal(t, int64(12345), p.Bytes)
	// work: a 100 pages at 0.6, b 100 at 0, empty 1 at 1 -> 61/201.
	assert.InDelta(t, 61.0/201, p.Fraction, 1e-9)
	assert.Equal(t, (10 * time.Second * 140 / 61).Round(time.Second), p.ETA)
	assert.Equal(t, TableProgress{Schema: "s", Name: "a", Rows: 600, Bytes: 12345, EstimatedRows: 1000,
		EstimatedBytes: 819200, Chunks: 4, ChunksDone: 2}, p.Tables[0])

	// A stale estimate never claims a running table done.
	tr.counters[0].rows.Add(5000)
	p = tr.snapshot(start.Add(20*time.Second), false)
	assert.Less(t, p.Fraction, 1.0)
	assert.False(t, p.Tables[0].Done)

	p = tr.snapshot(start.Add(30*time.Second), true)
	assert.Equal(t, 1.0, p.Fraction)
	assert.Zero(t, p.ETA)
	assert.True(t, p.Done)
}
