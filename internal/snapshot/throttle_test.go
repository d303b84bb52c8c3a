package snapshot

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunHonoursMaxBytesPerSecond: a capped copy reads the source no faster
// than the cap, all workers together, and still copies every row. The
// assertion is a lower bound on the copy's duration that the limiter
// guarantees (bytes beyond the first burst take at least bytes/rate), so a
// slow machine cannot make it fail; without the cap the same copy takes a
// fraction of it.
func TestRunHonoursMaxBytesPerSecond(t *testing.T) {
	e := newEnv(t)
	ctx := testCtx(t)
	e.c.Exec(t, "src", `CREATE TABLE big (id bigint PRIMARY KEY, pad text NOT NULL);
		INSERT INTO big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 30000) g`) // ~4.5 MB as COPY binary
	tables := e.discover(t, "public")
	const rate = 1 << 20 // 1 MiB/s
	start := time.Now()
	res, err := Run(ctx, RunOptions{Source: e.srcCfg, Connector: "test", Slot: "ardent_throttle", Tables: tables, Copier: e.sink,
		Parallelism: 3, ChunkPages: 64, MaxBytesPerSecond: rate})
	took := time.Since(start)
	require.NoError(t, err)
	require.EqualValues(t, 30000, res.Copy.Rows)
	burst := int64(max(rate/4, pipeChunk))
	floor := time.Duration(float64(res.Copy.Bytes-burst) / rate * float64(time.Second))
	require.Greater(t, res.Copy.Bytes, int64(3<<20), "the table must outweigh the burst by far for the bound to mean anything")
	assert.GreaterOrEqual(t, took, floor, "copied %d bytes in %s with a cap of %d B/s", res.Copy.Bytes, took, rate)
}

func TestThrottledWriterSplitsLargeWrites(t *testing.T) {
	l := newLimiter(64 << 10)
	require.NotNil(t, l)
	assert.Nil(t, newLimiter(0))
	var out bytes.Buffer
	w := throttle(context.Background(), &out, l)
	big := bytes.Repeat([]byte("x"), 3*l.Burst()+5) // larger than the burst: waited for in pieces, written whole
	n, err := w.Write(big)
	require.NoError(t, err)
	assert.Equal(t, len(big), n)
	assert.Equal(t, len(big), out.Len())

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = throttle(ctx, &out, l).Write(big)
	require.ErrorIs(t, err, context.Canceled, "a cancelled copy stops waiting")
}
