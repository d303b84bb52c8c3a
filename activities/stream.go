package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// Streamer runs continuous replication.
type Streamer struct {
	Catalog           *catalog.Store
	Keyring           *secrets.Keyring
	Sinks             map[string]SinkFactory
	HeartbeatInterval time.Duration
	IdleEmitInterval  time.Duration
	Metrics           *Metrics
	Log               *slog.Logger
}

// Replicate streams changes from the connector's slot into the destination
// for in.MaxDuration, then returns so the workflow can continue as new.
// It resumes from the LSN committed in the destination, so a retry after a
// crash (or the next run) never applies a change twice; only that durable
// LSN is acknowledged to the source. It heartbeats its position every few
// seconds. A slot dropped or invalidated behind Ardent's back is a
// non-retryable SlotLost failure: changes would otherwise be skipped.
func (s *Streamer) Replicate(ctx context.Context, in ReplicateInput) (*ReplicateResult, error) {
	var pw []string
	res, err := s.run(ctx, in, &pw)
	return res, boundary(err, s.Metrics, ReplicateName, pw...)
}

func (s *Streamer) run(ctx context.Context, in ReplicateInput, pw *[]string) (*ReplicateResult, error) {
	env, err := openConnector(ctx, s.Catalog, s.Keyring, s.Sinks, s.Log, in.Name, pw)
	if err != nil {
		return nil, err
	}
	conn, src, dst := env.conn, env.src, env.dst
	defer dst.Close(context.WithoutCancel(ctx))
	stream, err := replication.New(replication.Options{
		SourceURL: src, Slot: conn.SlotName, Connector: in.Name, Tables: conn.Schema, Sink: dst,
		Log: s.log().With("connector", in.Name), HeartbeatInterval: s.IdleEmitInterval,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalidInput, err)
	}
	_ = s.Catalog.SetStage(ctx, in.Name, "streaming", "")

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if in.MaxDuration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, in.MaxDuration)
	}
	defer cancel()
	hb := startHeartbeat(ctx, s.HeartbeatInterval, ReplicationProgress{})
	defer hb.close()
	stopSampler := s.sample(in.Name, stream, hb)
	err = stream.Run(runCtx)
	stopSampler()
	final := stream.Stats()
	switch {
	case ctx.Err() != nil:
		return nil, context.Canceled
	case errors.Is(err, context.DeadlineExceeded) && runCtx.Err() != nil:
		// The run's time is up: a clean hand-back, not a failure.
		return &ReplicateResult{ConfirmedLSN: final.DurableLSN.String()}, nil
	case errors.Is(err, replication.ErrSlotLost):
		return nil, fmt.Errorf("%w: %w", errSlotLost, err)
	case err != nil:
		return nil, err
	}
	return &ReplicateResult{ConfirmedLSN: final.DurableLSN.String()}, nil
}

// sample turns the stream's counters into the heartbeat and the metrics,
// once per heartbeat interval: never per row.
func (s *Streamer) sample(name string, stream *replication.Streamer, hb *heartbeater[ReplicationProgress]) (stop func()) {
	every := s.HeartbeatInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		var lastRows uint64
		lastAt := time.Now()
		first := time.After(time.Second) // a first sample soon after the stream starts
		for {
			var now time.Time
			select {
			case <-done:
				return
			case now = <-first:
			case now = <-t.C:
			}
			st := stream.Stats()
			rate := float64(st.RowsApplied-lastRows) / now.Sub(lastAt).Seconds()
			hb.set(ReplicationProgress{ReceivedLSN: st.ReceivedLSN.String(), ConfirmedLSN: st.DurableLSN.String(),
				LagBytes: int64(st.LagBytes), LagSeconds: st.LagSeconds, RowsApplied: int64(st.RowsApplied),
				TxApplied: int64(st.TxsApplied), RowsPerSecond: rate, LastCommitAt: st.LastCommitTime, SampledAt: now})
			if m := s.Metrics; m != nil {
				m.ConfirmedLSN.WithLabelValues(name).Set(float64(st.DurableLSN))
				m.LagBytes.WithLabelValues(name).Set(float64(st.LagBytes))
				m.LagSeconds.WithLabelValues(name).Set(st.LagSeconds)
				m.RowsApplied.WithLabelValues(name).Add(float64(st.RowsApplied - lastRows))
			}
			lastRows, lastAt = st.RowsApplied, now
		}
	}()
	return func() { close(done); <-finished }
}

func (s *Streamer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
