package slotwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/source"
)

// Defaults of a Watcher's zero fields.
const (
	DefaultInterval    = 15 * time.Second
	DefaultTimeout     = 5 * time.Second
	DefaultParallelism = 4
)

// WALStatuses are the values a slot's wal_status gauge reports: the
// server's four, and Missing for a slot that does not exist.
var WALStatuses = []string{"reserved", "extended", "unreserved", "lost", Missing}

// Missing is the wal_status reported for a slot the source does not have.
const Missing = "missing"

// Recorder receives the readings. Its methods are called from several
// goroutines at once.
type Recorder interface {
	// Observe records a reading of connector's slot taken at at.
	Observe(connector string, r source.SlotRetention, at time.Time)
	// CheckFailed counts a check that could not read the slot: the source
	// unreachable or refusing, the credentials not opened, the timeout.
	CheckFailed(connector string)
	// Connectors are the connectors that have any series.
	Connectors() []string
	// Forget removes every series of connector.
	Forget(connector string)
}

// Catalog is what the watcher reads of the catalog (*catalog.Store).
type Catalog interface {
	List(ctx context.Context) ([]catalog.Connector, error)
	SourceURL(ctx context.Context, name string, kr *secrets.Keyring) (string, error)
}

// Watcher checks every live connector's slot every Interval. Zero fields
// take the defaults above.
type Watcher struct {
	Catalog  Catalog
	Keyring  *secrets.Keyring
	Recorder Recorder
	Interval time.Duration
	// Timeout bounds each step of a check: opening a connector's
	// credentials, connecting, one slot's query.
	Timeout     time.Duration
	Parallelism int
	Log         *slog.Logger

	mu sync.Mutex
	// seen are the connectors some earlier listing had live: one that is
	// gone from the catalog since was removed, not yet created.
	seen map[string]bool
	// sessions counts the sessions opened, for the tests.
	sessions atomic.Int64
	// failing are the connectors whose last check failed, so a source
	// that stays unreachable is logged when it fails and when it recovers,
	// not every round.
	failing map[string]bool
}

// Run checks at once, then every Interval, until ctx ends. A round that
// overruns the interval delays the next one; rounds never overlap.
func (w *Watcher) Run(ctx context.Context) {
	interval := w.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.Check(ctx); err != nil && ctx.Err() == nil {
			w.log().Warn("slot check: cannot list the catalog's connectors", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Check runs one round: it lists the catalog, forgets the connectors that
// left it, and reads every live connector's slot. It returns an error only
// when the catalog cannot be listed; a connector whose slot cannot be read
// is counted through the Recorder and logged.
func (w *Watcher) Check(ctx context.Context) error {
	all, err := w.Catalog.List(ctx)
	if err != nil {
		return err
	}
	var live []catalog.Connector
	isLive, dropped := map[string]bool{}, map[string]bool{}
	for _, c := range all {
		if c.DroppedAt != nil {
			dropped[c.Name] = true
			continue
		}
		live = append(live, c)
		isLive[c.Name] = true
	}
	w.forget(isLive, dropped)

	n := w.Parallelism
	if n <= 0 {
		n = DefaultParallelism
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for _, g := range w.group(ctx, live) {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil
		}
		wg.Go(func() {
			defer func() { <-sem }()
			w.checkGroup(ctx, g)
		})
	}
	wg.Wait()
	return nil
}

// target is a connector with its opened credentials (or why they did not
// open).
type target struct {
	c     catalog.Connector
	src   *pgurl.Conn
	where string
	err   error
}

// group opens each connector's credentials and groups the connectors by
// source server (host and port). pg_replication_slots is one view per
// server, so one session there reads every slot of the group: a worker
// running a hundred connectors on one source cluster opens one session a
// round, not a hundred (each a TLS handshake and a scram exchange on both
// ends). Connectors whose credentials do not open form groups of one.
func (w *Watcher) group(ctx context.Context, live []catalog.Connector) [][]target {
	var out [][]target
	at := map[string]int{}
	for _, c := range live {
		t := w.open(ctx, c)
		if t.err != nil {
			out = append(out, []target{t})
			continue
		}
		key := fmt.Sprintf("%s:%d", t.src.Config.Host, t.src.Config.Port)
		if i, ok := at[key]; ok {
			out[i] = append(out[i], t)
			continue
		}
		at[key] = len(out)
		out = append(out, []target{t})
	}
	return out
}

func (w *Watcher) open(ctx context.Context, c catalog.Connector) target {
	t := target{c: c, where: c.SourceDisplay}
	cctx, cancel := context.WithTimeout(ctx, w.timeout())
	defer cancel()
	raw, err := w.Catalog.SourceURL(cctx, c.Name, w.Keyring)
	if err != nil {
		t.err = err
		return t
	}
	src, err := pgurl.ParseSource(raw)
	if err != nil {
		t.err = err
		return t
	}
	t.src, t.where = src, src.Display()
	return t
}

// checkGroup reads every slot of a group over one session opened with the
// first connector's credentials. When that session cannot be opened, each
// connector is read over its own session, with its own credentials: one
// connector's changed password must not make another's slot unreadable.
func (w *Watcher) checkGroup(ctx context.Context, g []target) {
	if g[0].err != nil {
		w.record(ctx, g[0], source.SlotRetention{}, g[0].err)
		return
	}
	conn, err := w.connect(ctx, g[0])
	if err != nil {
		if len(g) == 1 {
			w.record(ctx, g[0], source.SlotRetention{}, err)
			return
		}
		for _, t := range g {
			w.checkAlone(ctx, t)
		}
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, t := range g {
		r, err := w.readSlot(ctx, conn, t)
		w.record(ctx, t, r, err)
	}
}

func (w *Watcher) checkAlone(ctx context.Context, t target) {
	conn, err := w.connect(ctx, t)
	if err != nil {
		w.record(ctx, t, source.SlotRetention{}, err)
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	r, err := w.readSlot(ctx, conn, t)
	w.record(ctx, t, r, err)
}

func (w *Watcher) connect(ctx context.Context, t target) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, w.timeout())
	defer cancel()
	cfg := t.src.Config.Copy()
	cfg.RuntimeParams["application_name"] = "ardent-slotwatch"
	w.sessions.Add(1)
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, scrubbed(fmt.Errorf("connect to source %s: %w", t.where, err), t.src.Password())
	}
	return conn, nil
}

func (w *Watcher) readSlot(ctx context.Context, conn *pgx.Conn, t target) (source.SlotRetention, error) {
	cctx, cancel := context.WithTimeout(ctx, w.timeout())
	defer cancel()
	r, err := source.ReadSlotRetention(cctx, conn, t.c.SlotName)
	return r, scrubbed(err, t.src.Password())
}

func (w *Watcher) timeout() time.Duration {
	if w.Timeout <= 0 {
		return DefaultTimeout
	}
	return w.Timeout
}

func (w *Watcher) forget(isLive, dropped map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	for _, name := range w.Recorder.Connectors() {
		if !isLive[name] && (dropped[name] || w.seen[name]) {
			w.Recorder.Forget(name)
			delete(w.failing, name)
		}
	}
	for name := range isLive {
		w.seen[name] = true
	}
}

// record reports one connector's reading, or its failure.
func (w *Watcher) record(ctx context.Context, t target, r source.SlotRetention, err error) {
	c := t.c
	if ctx.Err() != nil {
		return // shutting down: not the source's failure
	}
	if err != nil {
		w.Recorder.CheckFailed(c.Name)
		if w.setFailing(c.Name, true) {
			w.log().Warn("slot check failed; retried every round, logged again when it recovers",
				"connector", c.Name, "slot", c.SlotName, "source", t.where, "err", err)
		} else {
			w.log().Debug("slot check failed", "connector", c.Name, "slot", c.SlotName, "source", t.where, "err", err)
		}
		return
	}
	w.Recorder.Observe(c.Name, r, time.Now())
	if w.setFailing(c.Name, false) {
		w.log().Info("slot check recovered", "connector", c.Name, "slot", c.SlotName, "source", t.where)
	}
}

// setFailing records whether connector's check failed and reports whether
// that changed.
func (w *Watcher) setFailing(connector string, failed bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failing == nil {
		w.failing = map[string]bool{}
	}
	was := w.failing[connector]
	if failed {
		w.failing[connector] = true
	} else {
		delete(w.failing, connector)
	}
	return was != failed
}

// scrubbed is err with password removed from its text (a driver error can
// quote what it was given); nil stays nil.
func scrubbed(err error, password string) error {
	if err == nil {
		return nil
	}
	return errors.New(pgurl.Scrub(err.Error(), password))
}

func (w *Watcher) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}
