package preflight

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// KnownSourceFunc returns the connector already using a source database
// (system identifier + database name), if any.
type KnownSourceFunc func(ctx context.Context, systemID uint64, database string) (string, bool, error)

// Options configures Run.
type Options struct {
	SourceURL string
	Selection schema.Selection
	// ExcludeTables ("schema.table") are added to Selection.Exclude.
	ExcludeTables []string
	// ReplicaIdentityFull names tables ("schema.table") the operator chose
	// to replicate with REPLICA IDENTITY FULL.
	ReplicaIdentityFull []string
	// EgressIP is the address Ardent connects from, for pg_hba remedies.
	EgressIP string
	// Role is the role Ardent will use; default: the URL's user.
	Role string
	// Destination, when set, adds the destination check (nil: the check
	// is left out of the report).
	Destination *Destination
	// KnownSource looks the source up in Ardent's catalog; nil skips
	// duplicate_source with a warning.
	KnownSource KnownSourceFunc
	// AcceptUnverified lists check ids whose unverified status the operator
	// accepts.
	AcceptUnverified []string
	// Plugin is the output plugin probed by wal2json (default "wal2json");
	// tests name a missing plugin here.
	Plugin string
	// ProbeTimeout bounds each network probe (default 5 s).
	ProbeTimeout time.Duration
	// WALSampleInterval is how long wal_budget samples the WAL rate
	// (default DefaultWALSampleInterval) when the window since the last
	// checkpoint cannot stand for it. The sample starts after connecting,
	// so the other checks run inside it.
	WALSampleInterval time.Duration
	// CopyRateLimit (bytes/s) is the snapshot's rate limit, if any: the
	// copy takes at least size / limit, whatever rate wal_budget measures.
	CopyRateLimit int64
	Logger        *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Plugin == "" {
		o.Plugin = "wal2json"
	}
	if o.ProbeTimeout <= 0 {
		o.ProbeTimeout = 5 * time.Second
	}
	if o.WALSampleInterval <= 0 {
		o.WALSampleInterval = DefaultWALSampleInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.Selection.Exclude = append(append([]string(nil), o.Selection.Exclude...), o.ExcludeTables...)
	return o
}

// runner carries one preflight run's connection and findings between checks.
type runner struct {
	opts       Options
	shapeDiffs map[string][]string // destination check: see shapeDifferences
	src        *pgurl.Conn
	conn       *pgx.Conn
	role       string
	facts      serverFacts
	tables     []schema.Table
	systemID   uint64 // from IDENTIFY_SYSTEM, 0 if unknown
	checks     map[string]Check
	tableRep   []TableReport
	walStart   walSample // wal_budget's sample window opens after readFacts
}

// Run checks the source and reports every check in order. It never returns
// an error: what goes wrong is a check's status.
func Run(ctx context.Context, opts Options) Report {
	opts = opts.withDefaults()
	start := time.Now()
	r := &runner{opts: opts, checks: map[string]Check{}}
	defer func() {
		if r.conn != nil {
			_ = r.conn.Close(context.Background())
		}
	}()
	r.run(ctx)
	if opts.Destination != nil {
		r.timed("destination", func() { r.checkDestination(ctx) })
	}
	rep := Report{Tables: r.tableRep}
	if rep.Tables == nil {
		rep.Tables = []TableReport{}
	}
	for _, id := range CheckIDs {
		if id == CheckDestination && opts.Destination == nil {
			continue
		}
		c, ok := r.checks[id]
		if !ok {
			c = Check{ID: id, Status: StatusUnverified, Message: "not checked"}
		}
		c.ID = id
		c.Message = r.scrub(c.Message)
		c.Remedy = r.scrub(c.Remedy)
		rep.Checks = append(rep.Checks, c)
	}
	rep.Passed = passed(rep.Checks, opts.AcceptUnverified)
	opts.Logger.Info("preflight finished", "source", r.display(), "passed", rep.Passed,
		"tables", len(rep.Tables), "duration", time.Since(start))
	return rep
}

func (r *runner) run(ctx context.Context) {
	src, err := pgurl.ParseSource(r.opts.SourceURL)
	if err != nil {
		r.set(CheckConnect, StatusFail, err.Error(), "fix the source URL: postgres://USER:PASSWORD@HOST:PORT/DATABASE")
		r.skipAll("not checked: the source URL is malformed")
		return
	}
	r.src = src
	r.role = r.opts.Role
	if r.role == "" {
		r.role = src.Config.User
	}
	r.timed("ipv4", func() { r.checkIPv4(ctx) })
	var ok bool
	r.timed("connect", func() { ok = r.connect(ctx) })
	if !ok {
		r.skipAll("not checked: connect failed")
		return
	}
	// Facts first: the walsender count must not see this run's own
	// replication connection, which is still winding down after the probe.
	if err := r.readFacts(ctx); err != nil {
		r.skipAll("not checked: reading server settings failed: " + err.Error())
		return
	}
	r.startWALSample(ctx)
	r.checkSSL()
	r.checkServerVersion()
	r.checkIsWriter()
	r.checkWalLevel()
	r.timed("replication_role", func() { r.checkReplicationRole(ctx) })
	r.timed("replication_connection", func() { r.checkReplicationConnection(ctx) })
	r.checkSlots()
	r.checkWalSenders()
	r.timed("wal2json", func() { r.checkWal2JSON(ctx) })
	r.timed("bookkeeping", func() { r.checkBookkeeping(ctx) })
	r.checkTables(ctx)
	r.timed("duplicate_source", func() { r.checkDuplicateSource(ctx) })
	r.checkWalRetention()
	r.timed("wal_budget", func() { r.checkWalBudget(ctx) })
}

// timed logs how long a step took: the 2 s budget for 10,000 tables is
// kept by knowing where the time goes.
func (r *runner) timed(step string, f func()) {
	start := time.Now()
	f()
	r.opts.Logger.Debug("preflight step", "step", step, "duration", time.Since(start))
}

func (r *runner) set(id string, st Status, msg, remedy string) {
	r.checks[id] = Check{ID: id, Status: st, Message: msg, Remedy: remedy}
}

// skipAll marks every check not yet decided as unverified with why.
func (r *runner) skipAll(why string) {
	for _, id := range CheckIDs {
		if _, ok := r.checks[id]; !ok {
			r.set(id, StatusUnverified, why, "")
		}
	}
}

func (r *runner) scrub(s string) string {
	pw := ""
	if r.src != nil {
		pw = r.src.Password()
	}
	return pgurl.Scrub(s, pw)
}

func (r *runner) display() string {
	if r.src == nil {
		return "(malformed URL)"
	}
	return r.src.Display()
}

// errText is an error's text with the password scrubbed.
func (r *runner) errText(err error) string { return r.scrub(err.Error()) }

func (r *runner) db() string { return r.src.Config.Database }

func (r *runner) probeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opts.ProbeTimeout)
}

func firstFew(names []string, max int) string {
	s := ""
	for i, n := range names {
		if i == max {
			return s + fmt.Sprintf(" and %d more", len(names)-max)
		}
		if i > 0 {
			s += ", "
		}
		s += printable(n)
	}
	return s
}

// printable shows a name with control characters (a line break in a
// --schema value) escaped, so it cannot forge lines of the report.
func printable(n string) string {
	if strings.ContainsFunc(n, unicode.IsControl) {
		return strconv.Quote(n)
	}
	return n
}
