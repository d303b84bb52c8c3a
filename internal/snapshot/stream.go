package snapshot

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"golang.org/x/time/rate"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// pipeChunk is the size of the writes into the pipe. The source sends one
// CopyData message per row and the destination side sends one message per
// Read, so without this buffer every row would cost a goroutine hand-off
// and a syscall. 65531 bytes fill exactly one of pgconn's CopyFrom reads
// (a 64 KiB buffer minus the 5-byte message header).
const pipeChunk = 65536 - 5

// publishEvery bounds how many rows a meter counts before publishing to
// the shared counters, keeping atomics off the per-row path.
const publishEvery = 1024

// errDestinationStopped unblocks the source side when the destination
// returned without reading the whole stream.
var errDestinationStopped = errors.New("destination stopped reading")

// meter counts what the source sends. pgconn writes one CopyData message
// per call and PostgreSQL sends one message per row (plus the binary
// trailer), so the call count is a live row count; the exact count comes
// from the command tag when the chunk ends.
type meter struct {
	w           io.Writer
	c           *tableCounters
	rows, bytes int64 // not yet published
	sent        int64 // rows published so far
}

func (m *meter) Write(p []byte) (int, error) {
	m.rows++
	m.bytes += int64(len(p))
	if m.rows >= publishEvery {
		m.publish()
	}
	return m.w.Write(p)
}

func (m *meter) publish() {
	m.c.rows.Add(m.rows)
	m.c.bytes.Add(m.bytes)
	m.sent += m.rows
	m.rows, m.bytes = 0, 0
}

// copyChunk streams one chunk from the source connection into the copier.
// Either side failing fails the chunk: a source error closes the pipe with
// that error so the destination aborts its COPY (CopyFail), and a
// destination error closes the pipe so the source side stops.
func copyChunk(ctx context.Context, conn *pgx.Conn, c chunk, copier sink.Copier, counters *tableCounters, lim *rate.Limiter) error {
	pr, pw := io.Pipe()
	bw := bufio.NewWriterSize(throttle(ctx, pw, lim), pipeChunk)
	m := &meter{w: bw, c: counters}
	sql := copySQL(c)

	var srcRows int64
	srcDone := make(chan error, 1)
	go func() {
		tag, err := conn.PgConn().CopyTo(ctx, m, sql)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			pw.CloseWithError(err)
		} else {
			srcRows = tag.RowsAffected()
			pw.Close()
		}
		srcDone <- err
	}()
	dstRows, dstErr := copier.CopyFrom(ctx, c.job.table, pr, c.job.binary)
	pr.CloseWithError(errDestinationStopped)
	srcErr := <-srcDone

	m.publish()
	where := chunkName(c)
	switch {
	case srcErr != nil && !errors.Is(srcErr, errDestinationStopped):
		return fmt.Errorf("copy %s: read source: %w", where, srcErr)
	case dstErr != nil:
		return fmt.Errorf("copy %s: write destination: %w", where, dstErr)
	case srcErr != nil:
		return fmt.Errorf("copy %s: %w", where, srcErr)
	case dstRows != srcRows:
		return fmt.Errorf("copy %s: source sent %d rows, destination wrote %d", where, srcRows, dstRows)
	}
	// Replace the live estimate with the exact count.
	counters.rows.Add(srcRows - m.sent)
	return nil
}

func chunkName(c chunk) string {
	t := c.job.table.Ident()
	switch {
	case c.whole:
		return t
	case c.hi < 0:
		return fmt.Sprintf("%s pages %d-end", t, c.lo)
	default:
		return fmt.Sprintf("%s pages %d-%d", t, c.lo, c.hi)
	}
}
