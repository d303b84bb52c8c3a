package snapshot

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// The snapshot throttle: the operator caps the bytes per second the copy
// reads from the source (Options.MaxBytesPerSecond), so its load on the
// customer's primary is a choice. One limiter is shared by every worker,
// so the cap holds for the whole copy, whatever the parallelism. The
// bytes counted are the COPY stream's as the source sends it.

// newLimiter returns nil (no cap) for a rate of zero or less. The burst is
// at least one pipe write, so a write never waits on more than the limiter
// can hold, and at most a quarter of a second's worth above that, so the
// rate is smooth rather than bursty.
func newLimiter(bytesPerSecond int64) *rate.Limiter {
	if bytesPerSecond <= 0 {
		return nil
	}
	burst := max(int(bytesPerSecond/4), pipeChunk)
	return rate.NewLimiter(rate.Limit(bytesPerSecond), burst)
}

// throttledWriter waits for the limiter before each write. The source side
// of a chunk writes through it, so the source's COPY is read only as fast
// as the cap allows: TCP backpressure then slows the source's walk of the
// table itself.
type throttledWriter struct {
	ctx context.Context
	w   io.Writer
	l   *rate.Limiter
}

func throttle(ctx context.Context, w io.Writer, l *rate.Limiter) io.Writer {
	if l == nil {
		return w
	}
	return &throttledWriter{ctx: ctx, w: w, l: l}
}

func (t *throttledWriter) Write(p []byte) (int, error) {
	for rest := len(p); rest > 0; {
		n := min(rest, t.l.Burst())
		if err := t.l.WaitN(t.ctx, n); err != nil {
			return 0, err
		}
		rest -= n
	}
	return t.w.Write(p)
}
