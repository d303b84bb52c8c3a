package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/cadence"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/replication"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/ardent-cdc/ardent/internal/source"
)

// Streamer runs continuous replication.
type Streamer struct {
	Catalog           *catalog.Store
	Keyring           *secrets.Keyring
	Sinks             map[string]SinkFactory
	HeartbeatInterval time.Duration
	IdleEmitInterval  time.Duration
	// StallTimeout: a stream that applied nothing for this long while it
	// kept reconnecting ends the attempt with a retryable Stalled error, so
	// the workflow shows retrying and counts the attempt instead of saying
	// streaming. Default DefaultStallTimeout; negative disables it.
	StallTimeout time.Duration
	// CredentialsInterval is how often a stream session reads its
	// connector's credentials version to take new credentials. Default
	// DefaultCredentialsInterval.
	CredentialsInterval time.Duration
	// CatalogCheckInterval is how often a stream session reads the source's
	// catalog for changes to the selection's tables, to ask its workflow
	// for a table discovery at once (catalogWatch). Default
	// contract.CatalogCheckInterval; negative disables it.
	CatalogCheckInterval time.Duration
	// Report sends the stream's health to its workflow (nil: none), at
	// once when it changes, else every ProgressInterval (default
	// contract.ProgressInterval); UnhealthyAfter is the grace before a
	// stream reconnecting with nothing applied is unhealthy (default
	// DefaultUnhealthyAfter).
	Report           Reporter
	ProgressInterval time.Duration
	UnhealthyAfter   time.Duration
	Metrics          *Metrics
	Log              *slog.Logger

	creds credentialsWatch // one catalog read per interval for all sessions
}

// DefaultCredentialsInterval keeps `ardent credentials set` within seconds
// of taking effect (the old session keeps working meanwhile).
const DefaultCredentialsInterval = 10 * time.Second

// DefaultStallTimeout is above the stream's longest reconnect backoff (30 s)
// plus a slot takeover, so one outage of a minute does not end an attempt.
const DefaultStallTimeout = 90 * time.Second

// Replicate streams changes from the connector's slot into the destination
// for in.MaxDuration, then returns so the workflow can continue as new.
// It resumes from the LSN committed in the destination, so a retry after a
// crash (or the next run) never applies a change twice; only that durable
// LSN is acknowledged to the source. It heartbeats its position every few
// seconds. A slot dropped or invalidated behind Ardent's back is a
// non-retryable SlotLost failure: changes would otherwise be skipped. A
// change the destination refuses for its shape is a non-retryable
// SchemaMismatch naming the table, the column and the likely source DDL.
// Every error carries the durable LSN the attempt reached. New credentials
// stored in the catalog (`ardent credentials set`) end the stream session
// within CredentialsInterval and start a new one with them, in the same
// attempt, from the destination's checkpoint.
func (s *Streamer) Replicate(ctx context.Context, in ReplicateInput) (*ReplicateResult, error) {
	at := site{activity: ReplicateName, connector: in.Name, metrics: s.Metrics}
	res, err := s.run(ctx, in, &at)
	return res, boundary(err, at)
}

func (s *Streamer) run(ctx context.Context, in ReplicateInput, at *site) (*ReplicateResult, error) {
	env, err := loadConnector(ctx, s.Catalog, s.Keyring, in.Name, &at.passwords)
	if err != nil {
		return nil, err
	}
	log := activityLog(ctx, s.log()).With("connector", in.Name)
	dst, err := openTargetSink(ctx, s.Sinks, env.dst, env.conn.Selection.TargetSchema, log)
	if err != nil {
		return nil, err
	}
	followShapes(dst, env.src, env.conn.Selection, log)
	defer func() {
		if dst != nil {
			dst.Close(context.WithoutCancel(ctx))
		}
	}()
	s.Metrics.setStage(in.Name, "streaming")
	if reg, ok := dst.(sink.Registry); ok {
		// A connector snapshotted before per-table states existed: its
		// tables stream. (A table that has a state keeps it.)
		if err := reg.SetTableStates(ctx, in.Name, streamingStates(env.conn.Schema), true); err != nil {
			return nil, err
		}
	}

	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if in.MaxDuration > 0 {
		runCtx, cancel = context.WithTimeout(ctx, in.MaxDuration)
	}
	defer cancel()
	hb := startHeartbeat(ctx, s.HeartbeatInterval, ReplicationProgress{})
	defer hb.close()
	var before sessionTotals
	for {
		final, err := s.session(runCtx, in.Name, env, dst, hb, before, log)
		before = before.add(final)
		at.lsn = before.durable.String()
		switch {
		case ctx.Err() != nil && workerStopped(ctx):
			// The worker stops: hand back as at the end of a run, so the
			// workflow starts the next run at once on another worker,
			// not a retry after a failure.
			log.Info("worker stopping: replication handed back", "durable_lsn", at.lsn)
			return &ReplicateResult{ConfirmedLSN: at.lsn}, nil
		case ctx.Err() != nil:
			return nil, context.Canceled
		case errors.Is(err, errStalled):
			return nil, err
		case errors.Is(err, context.DeadlineExceeded) && runCtx.Err() != nil:
			// The run's time is up: a clean hand-back, not a failure.
			return &ReplicateResult{ConfirmedLSN: at.lsn}, nil
		case errors.Is(err, errCredentialsChanged):
			// The session ended at a transaction boundary of the
			// destination (whatever it had not committed rolled back), so
			// the next one resumes from the destination's checkpoint:
			// nothing is lost, nothing applied twice, nothing copied again.
			next, err := loadConnector(ctx, s.Catalog, s.Keyring, in.Name, &at.passwords)
			if err != nil {
				return nil, err
			}
			if next.dst.ConnString() != env.dst.ConnString() {
				dst.Close(context.WithoutCancel(ctx))
				if dst, err = openTargetSink(ctx, s.Sinks, next.dst, next.conn.Selection.TargetSchema, log); err != nil {
					return nil, err
				}
			}
			followShapes(dst, next.src, next.conn.Selection, log)
			what := "credentials changed: new stream session"
			if next.src.ConnString() == env.src.ConnString() && next.dst.ConnString() == env.dst.ConnString() {
				what = "selection changed: new stream session" // tables added or removed (catalog.SetSelection)
			}
			log.Info(what, "credentials_version", next.version,
				"source", next.src.Display(), "destination", next.dst.Display(), "durable_lsn", at.lsn)
			env = next
			continue
		case errors.Is(err, source.ErrSlotLost):
			return nil, fmt.Errorf("%w: %w", errSlotLost, err)
		case err != nil:
			if q, ok := s.quarantine(ctx, in.Name, dst, err, before.durable, log); ok {
				// The others stream on: a new session resumes from the
				// checkpoint and leaves the quarantined table's changes.
				log.Warn("table quarantined: its changes are no longer applied; the other tables stream on",
					"table", q, "from_lsn", at.lsn, "err", err)
				continue
			}
			return nil, err
		}
		return &ReplicateResult{ConfirmedLSN: at.lsn}, nil
	}
}

// errCredentialsChanged ends a stream session whose connector's stored
// credentials changed (`ardent credentials set`): PostgreSQL keeps a
// session alive after its password changes, so without it the old
// credentials would stream on until the next reconnect.
var errCredentialsChanged = errors.New("credentials changed")

// session streams with env's credentials into dst until runCtx ends, the
// stream fails, it stalls (errStalled) or the connector's credentials
// change (errCredentialsChanged). It returns the session's own counters.
func (s *Streamer) session(runCtx context.Context, name string, env *connectorEnv, dst sink.Sink,
	hb *heartbeater[ReplicationProgress], before sessionTotals, log *slog.Logger) (replication.Stats, error) {
	conn := env.conn
	schemas := streamSchemas(conn)
	opts := replication.Options{
		Source: env.src.Config, Slot: conn.SlotName, Connector: name, Tables: conn.Schema, Schemas: schemas, Sink: dst,
		Log: log, HeartbeatInterval: s.IdleEmitInterval,
	}
	if s.CatalogCheckInterval >= 0 {
		sel := conn.Selection
		w := newCatalogWatch(schema.Selection{Schemas: sel.Schemas, Tables: sel.Tables, Exclude: sel.ExcludeTables}, conn.Schema,
			func(ctx context.Context) {
				s.Report.send(ctx, contract.ProgressReport{CatalogChanged: true, At: time.Now()}, log)
			}, log)
		opts.CatalogCheck, opts.CatalogCheckInterval = w.check, s.CatalogCheckInterval
		if opts.CatalogCheckInterval == 0 {
			opts.CatalogCheckInterval = contract.CatalogCheckInterval
		}
	}
	stream, err := replication.New(opts)
	if err != nil {
		return replication.Stats{}, fmt.Errorf("%w: %w", errInvalidInput, err)
	}
	if reg, ok := dst.(sink.Registry); ok {
		// Before the session receives anything: a backfill hands a table
		// over only to a session that receives its changes.
		if err := reg.SetStreamSchemas(runCtx, name, schemas); err != nil {
			return replication.Stats{}, err
		}
	}
	streamCtx, end := context.WithCancelCause(runCtx)
	defer end(nil)
	stopSampler := s.sample(runCtx, name, stream, hb, before, end, log)
	stopWatch := s.watchCredentials(name, env.version, end)
	err = stream.Run(streamCtx)
	stopWatch()
	stopSampler()
	if cause := context.Cause(streamCtx); errors.Is(cause, errStalled) || errors.Is(cause, errCredentialsChanged) {
		err = cause
	}
	return stream.Stats(), err
}

// watchCredentials ends the session through end once the connector's
// credentials version differs from version, read by the worker's one
// credentials watch every CredentialsInterval. A catalog that does not
// answer only delays the switch.
func (s *Streamer) watchCredentials(name string, version int64, end func(error)) (stop func()) {
	every := s.CredentialsInterval
	if every <= 0 {
		every = DefaultCredentialsInterval
	}
	return s.creds.add(&watchedSession{name: name, version: version, end: end}, s.Catalog, every, s.log())
}

// sessionTotals are the counters of the activity's finished stream
// sessions, so the heartbeat and the result keep counting across a
// credentials change.
type sessionTotals struct {
	rows, txs uint64
	durable   pglogrepl.LSN
}

func (t sessionTotals) add(st replication.Stats) sessionTotals {
	return sessionTotals{rows: t.rows + st.RowsApplied, txs: t.txs + st.TxsApplied, durable: max(t.durable, st.DurableLSN)}
}

// sample turns the stream's counters into the heartbeat and the metrics,
// once per heartbeat interval: never per row. It also watches for a stall
// and reports it through stall, and reports the stream's health to the
// workflow (Report).
func (s *Streamer) sample(ctx context.Context, name string, stream *replication.Streamer, hb *heartbeater[ReplicationProgress],
	before sessionTotals, stall func(error), log *slog.Logger) (stop func()) {
	every := s.HeartbeatInterval
	if every <= 0 {
		every = 5 * time.Second
	}
	limit := s.StallTimeout
	if limit == 0 {
		limit = DefaultStallTimeout
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := cadence.NewTimer(every) // with the heartbeats' grid
		defer t.Stop()
		var lastRows uint64
		lastAt := time.Now()
		w := newStallWatch(lastAt, limit)
		health := newHealthWatch(lastAt, s.UnhealthyAfter, s.ProgressInterval)
		first := time.After(time.Second) // a first sample soon after the stream starts
		for {
			var now time.Time
			select {
			case <-done:
				return
			case now = <-first:
			case now = <-t.C:
				t.Reset(now)
			}
			st := stream.Stats()
			durable := max(st.DurableLSN, before.durable)
			rate := float64(st.RowsApplied-lastRows) / now.Sub(lastAt).Seconds()
			hb.set(ReplicationProgress{ReceivedLSN: max(st.ReceivedLSN, before.durable).String(), ConfirmedLSN: durable.String(),
				LagBytes: int64(st.LagBytes), LagSeconds: st.LagSeconds, RowsApplied: int64(before.rows + st.RowsApplied),
				TxApplied: int64(before.txs + st.TxsApplied), RowsPerSecond: rate, LastCommitAt: st.LastCommitTime,
				LastApplyAt: st.LastWriteTime, StreamError: st.LastError, SampledAt: now})
			if m := s.Metrics; m != nil {
				m.ConfirmedLSN.WithLabelValues(name).Set(float64(durable))
				m.LagBytes.WithLabelValues(name).Set(float64(st.LagBytes))
				m.LagSeconds.WithLabelValues(name).Set(st.LagSeconds)
				m.RowsApplied.WithLabelValues(name).Add(float64(st.RowsApplied - lastRows))
				if !st.LastWriteTime.IsZero() {
					m.LastApply.WithLabelValues(name).Set(float64(st.LastWriteTime.UnixNano()) / 1e9)
				}
			}
			lastRows, lastAt = st.RowsApplied, now
			if h, send := health.observe(st, now); send {
				h.ConfirmedLSN = durable.String()
				s.Report.send(ctx, contract.ProgressReport{Stream: &h, At: now}, log)
			}
			if err := w.check(st, now); err != nil {
				s.log().Warn("replication stalled, ending the attempt", "connector", name, "err", err)
				stall(err)
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// stallWatch tells a stream that cannot apply anything (the destination or
// the source refuses it again and again: the stream reconnects by itself
// after each transient error, forever) from one that is merely quiet or
// slow: stalled means no write accepted for limit although the stream
// reconnected since the last one.
type stallWatch struct {
	limit      time.Duration
	lastOK     time.Time
	reconnects uint64
}

func newStallWatch(start time.Time, limit time.Duration) *stallWatch {
	return &stallWatch{limit: limit, lastOK: start}
}

func (w *stallWatch) check(st replication.Stats, now time.Time) error {
	if st.LastWriteTime.After(w.lastOK) {
		w.lastOK, w.reconnects = st.LastWriteTime, st.Reconnects
	}
	if w.limit <= 0 || st.Reconnects == w.reconnects || now.Sub(w.lastOK) < w.limit {
		return nil
	}
	return fmt.Errorf("%w: nothing applied for %s while the stream reconnected %d times; last error: %s",
		errStalled, now.Sub(w.lastOK).Round(time.Second), st.Reconnects-w.reconnects, st.LastError)
}

func (s *Streamer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// streamSchemas are the schemas whose every table the stream receives
// (wal2json's "schema.*"): the selected schemas, the default one when
// nothing was selected, the schema of every table selected by name or
// replicated, so a table created or added there later needs no new filter,
// and the schemas holding leaf partitions of selected partitioned tables.
func streamSchemas(conn catalog.Connector) []string {
	out := append(selectedSchemas(conn.Selection), conn.Selection.PartitionSchemas...)
	for _, t := range conn.Schema {
		out = append(out, t.Schema)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// selectedSchemas are the schemas the selection names: by schema (the
// default one when nothing is selected) or through a table selected by
// name.
func selectedSchemas(sel catalog.Selection) []string {
	out := slices.Clone(sel.Schemas)
	if len(sel.Schemas) == 0 && len(sel.Tables) == 0 {
		out = append(out, schema.DefaultSchema)
	}
	for _, n := range sel.Tables {
		if q, err := schema.ParseQualified(n); err == nil {
			out = append(out, q.Schema)
		}
	}
	return out
}

// streamingStates are the tables' states once copied: streaming.
func streamingStates(tables []schema.Table) []sink.TableState {
	out := make([]sink.TableState, len(tables))
	for i, t := range tables {
		out[i] = sink.TableState{Schema: t.Schema, Name: t.Name, State: sink.TableStreaming}
	}
	return out
}

// quarantine records the table a schema mismatch names as quarantined
// (from the checkpoint on, its changes are left out, with the cause and
// the remedy), so one table the destination refuses does not stop the
// others. It reports false when err is no such mismatch, names no source
// table, or the destination keeps no per-table states: the error then
// stops the stream as before.
func (s *Streamer) quarantine(ctx context.Context, connector string, dst sink.Sink, err error, at pglogrepl.LSN, log *slog.Logger) (string, bool) {
	m, ok := schemaMismatch(err, true)
	var ae *sink.ApplyError
	reg, isReg := dst.(sink.Registry)
	if !ok || !errors.As(err, &ae) || ae.SourceTable == "" || !isReg {
		return "", false
	}
	table := ae.SourceSchema + "." + ae.SourceTable
	st := sink.TableState{Schema: ae.SourceSchema, Name: ae.SourceTable, State: sink.TableQuarantined, Since: at,
		Cause: m.message(),
		Remedy: fmt.Sprintf("make the destination table match the source (e.g. %s), then `ardent resync %s --table %s` copies it again exactly",
			m.kind.fix(m.tableIdent(), m.columnIdent()), connector, table)}
	if m.pg.Code == "23505" {
		// Only a new copy makes it equal again: discovery starts it.
		st.Remedy = sink.RemedyAutoResync
	}
	if qerr := reg.SetTableStates(ctx, connector, []sink.TableState{st}, false); qerr != nil {
		log.Warn("quarantining a table failed", "table", table, "err", qerr)
		return "", false
	}
	return table, true
}
