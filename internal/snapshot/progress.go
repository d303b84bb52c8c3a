package snapshot

import (
	"sync/atomic"
	"time"
)

// DefaultProgressInterval is how often Copy calls Options.Progress at most.
const DefaultProgressInterval = 500 * time.Millisecond

// TableProgress is one table's share of a running copy.
type TableProgress struct {
	Schema string `json:"schema"`
	Name   string `json:"name"`
	// Rows and Bytes copied so far. Bytes count the COPY stream, which is
	// smaller than the table on disk: compare with EstimatedBytes loosely.
	Rows  int64 `json:"rows"`
	Bytes int64 `json:"bytes"`
	// Estimates from discovery (pg_class.reltuples and the relation size).
	EstimatedRows  int64 `json:"estimated_rows"`
	EstimatedBytes int64 `json:"estimated_bytes"`
	Chunks         int   `json:"chunks"`
	ChunksDone     int   `json:"chunks_done"`
	Done           bool  `json:"done"`
}

// Progress is a point-in-time view of a running copy.
type Progress struct {
	Tables         []TableProgress `json:"tables"`
	TablesDone     int             `json:"tables_done"`
	Rows           int64           `json:"rows"`
	Bytes          int64           `json:"bytes"`
	EstimatedRows  int64           `json:"estimated_rows"`
	EstimatedBytes int64           `json:"estimated_bytes"`
	// Fraction of the work done, 0..1, by heap pages copied.
	Fraction float64       `json:"fraction"`
	Elapsed  time.Duration `json:"elapsed"`
	// ETA is the estimated remaining time; 0 until something was copied.
	ETA  time.Duration `json:"eta"`
	Done bool          `json:"done"`
}

// tableCounters is updated by workers and read by the reporter.
type tableCounters struct {
	rows, bytes atomic.Int64
	pagesDone   atomic.Int64
	chunksDone  atomic.Int64
}

type tracker struct {
	jobs     []*tableJob
	counters []tableCounters
	start    time.Time
}

func newTracker(jobs []*tableJob, start time.Time) *tracker {
	return &tracker{jobs: jobs, counters: make([]tableCounters, len(jobs)), start: start}
}

// snapshot builds a Progress from the counters; now is passed in so tests
// can pin the clock.
func (tr *tracker) snapshot(now time.Time, done bool) Progress {
	p := Progress{Tables: make([]TableProgress, len(tr.jobs)), Elapsed: now.Sub(tr.start), Done: done}
	var work, worked float64
	for i, j := range tr.jobs {
		c := &tr.counters[i]
		tp := TableProgress{
			Schema: j.table.Schema, Name: j.table.Name,
			Rows: c.rows.Load(), Bytes: c.bytes.Load(),
			EstimatedRows: max(j.table.EstimatedRows, 0), EstimatedBytes: max(j.table.SizeBytes, 0),
			Chunks: len(j.chunks), ChunksDone: int(c.chunksDone.Load()),
		}
		tp.Done = tp.ChunksDone == tp.Chunks
		if tp.Done {
			p.TablesDone++
		}
		w := float64(max(j.pages, 1))
		work += w
		worked += w * tableFraction(tp, c.pagesDone.Load(), j.pages)
		p.Rows += tp.Rows
		p.Bytes += tp.Bytes
		p.EstimatedRows += tp.EstimatedRows
		p.EstimatedBytes += tp.EstimatedBytes
		p.Tables[i] = tp
	}
	switch {
	case done || work == 0:
		p.Fraction = 1
	default:
		p.Fraction = worked / work
	}
	if p.Fraction > 0 && !done {
		p.ETA = time.Duration(float64(p.Elapsed) * (1 - p.Fraction) / p.Fraction).Round(time.Second)
	}
	return p
}

// tableFraction estimates how much of a table is copied: finished chunks by
// pages, and inside running chunks by rows against the estimate, capped so
// a stale estimate never claims a table done early.
func tableFraction(tp TableProgress, pagesDone, pages int64) float64 {
	if tp.Done {
		return 1
	}
	f := 0.0
	if pages > 0 {
		f = float64(pagesDone) / float64(pages)
	}
	if tp.EstimatedRows > 0 {
		f = max(f, min(float64(tp.Rows)/float64(tp.EstimatedRows), 0.99))
	}
	return min(f, 0.99)
}
