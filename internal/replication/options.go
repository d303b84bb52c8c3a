package replication

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/jackc/pgx/v5"
)

// Options configure a Streamer. Source, Slot, Connector, Tables and Sink
// are required.
type Options struct {
	// Source is the parsed source connection (an ordinary SQL session);
	// the replication connection is derived from it.
	Source    *pgx.ConnConfig
	Slot      string
	Connector string
	Tables    []schema.Table // the add-tables filter: these tables...
	// ...and every table of these schemas (wal2json's "schema.*"), for a
	// selection by schema: tables created later are in the stream too.
	Schemas []string
	Sink    sink.Sink
	Log     *slog.Logger

	// HeartbeatInterval: when no message arrived for this long, emit a
	// pg_logical_emit_message so an idle slot keeps advancing. Default 10s.
	HeartbeatInterval time.Duration
	// StatusInterval between standby status updates. Default 10s, as
	// pg_recvlogical's: the walsender needs one within wal_sender_timeout
	// (60 s by default), and each is a write on every connector's
	// connection (a worker running a hundred connectors sent 33 a second
	// at 3 s). They fall on the interval's grid (internal/cadence), so
	// an idle worker's streams send theirs together.
	StatusInterval time.Duration
	// MaxBatchChanges caps the changes of one destination transaction made
	// of several small source transactions. Default 20,000.
	MaxBatchChanges int
	// ChunkChanges and ChunkBytes bound the pieces a large source
	// transaction is cut into (whichever is reached first). Defaults 5,000
	// changes and 2 MiB of wal2json messages.
	ChunkChanges int
	ChunkBytes   int
	// MaxInflightBytes bounds the wal2json message bytes whose decoded
	// changes are held between the receiver and the sink; with wide rows it,
	// not the change count, keeps the worker's memory in check. Default
	// 8 MiB (several times that once decoded into Go values).
	MaxInflightBytes int
	// Backoff bounds for reconnecting after a transient error (Run only).
	MinBackoff, MaxBackoff time.Duration
	// SlotActiveTimeout is how long to keep trying to take over a slot held
	// by another walsender. Default 60s.
	SlotActiveTimeout time.Duration
	// CatalogCheck, when set, is called every CatalogCheckInterval (default
	// one minute) with the stream's own ordinary source session, the one
	// its idle heartbeats use, so a caller can watch the source's catalog
	// without a session of its own. It runs on that session's goroutine:
	// while it runs, no heartbeat is emitted.
	CatalogCheck         func(ctx context.Context, conn *pgx.Conn)
	CatalogCheckInterval time.Duration
	// WithoutShapes leaves wal2json's shape fields out of the stream (the
	// attnum, type oid and NOT NULL of each column, the primary key): the
	// destination then cannot follow the source's DDL. For measuring what
	// shape tracking costs (make bench) only.
	WithoutShapes bool
}

func (o Options) withDefaults() Options {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.HeartbeatInterval, 10*time.Second)
	def(&o.StatusInterval, 10*time.Second)
	def(&o.CatalogCheckInterval, time.Minute)
	def(&o.MinBackoff, 500*time.Millisecond)
	def(&o.MaxBackoff, 30*time.Second)
	def(&o.SlotActiveTimeout, 60*time.Second)
	defInt(&o.MaxBatchChanges, 20000)
	defInt(&o.ChunkChanges, 5000)
	defInt(&o.ChunkBytes, 2<<20)
	defInt(&o.MaxInflightBytes, 8<<20)
	if o.MaxInflightBytes < o.ChunkBytes {
		o.MaxInflightBytes = o.ChunkBytes
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Source == nil:
		return fmt.Errorf("replication options: no source connection")
	case o.Slot == "":
		return fmt.Errorf("replication options: slot is empty")
	case o.Connector == "":
		return fmt.Errorf("replication options: connector is empty")
	case o.Sink == nil:
		return fmt.Errorf("replication options: sink is nil")
	case len(o.Tables) == 0 && len(o.Schemas) == 0:
		return fmt.Errorf("replication options: no tables and no schemas")
	}
	for _, c := range o.Slot {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return fmt.Errorf("replication options: slot name %q has characters other than a-z, 0-9 and _", o.Slot)
		}
	}
	return nil
}

// HeartbeatPrefix is the logical message prefix of Ardent's heartbeats; the
// stream asks wal2json for messages with this prefix only.
const HeartbeatPrefix = "ardent"

// PluginArgs are the wal2json options of START_REPLICATION: the changes of
// tables and of every table in schemas, each column with its attnum and
// NOT NULL, so the destination can follow the table's shape (design note
// 4.12). The type's name with its typmod (include-typmod) tells a type
// change; the primary key comes from the catalog poll's shape messages
// (EmitShape). include-type-oids and include-pk would say the same on
// every change at a cost: they make wal2json's output a quarter larger
// again (measured: 234 MB plain, 288 MB with positions and NOT NULL, 365
// MB with all four, for the same 900,000 changes), and decoding is paid
// per byte.
func PluginArgs(tables []schema.Table, schemas ...string) []string {
	return append(plainPluginArgs(tables, schemas),
		`"include-column-positions" 'true'`,
		`"include-not-null" 'true'`)
}

// plainPluginArgs are PluginArgs without the shape fields.
func plainPluginArgs(tables []schema.Table, schemas []string) []string {
	return []string{
		`"format-version" '2'`,
		`"include-transaction" 'true'`,
		`"include-lsn" 'true'`,
		`"include-timestamp" 'true'`,
		`"include-types" 'true'`,
		`"include-typmod" 'true'`,
		`"add-msg-prefixes" ` + quoteOption(escapeFilter(HeartbeatPrefix)),
		`"add-tables" ` + quoteOption(addFilter(tables, schemas)),
	}
}

// addFilter is AddTables for the tables outside schemas, after "schema.*"
// for each schema.
func addFilter(tables []schema.Table, schemas []string) string {
	var parts []string
	in := map[string]bool{}
	for _, s := range schemas {
		in[s] = true
		parts = append(parts, escapeFilter(s)+".*")
	}
	var rest []schema.Table
	for _, t := range tables {
		if !in[t.Schema] {
			rest = append(rest, t)
		}
	}
	if len(rest) > 0 {
		parts = append(parts, AddTables(rest))
	}
	return strings.Join(parts, ",")
}

// AddTables renders wal2json's add-tables value: "schema.table" entries
// separated by commas, where a comma, dot, asterisk, backslash or space in a
// name is escaped with a backslash (wal2json splits on unescaped ',' and
// '.', treats a lone '*' as a wildcard, and ends a name at white space).
func AddTables(tables []schema.Table) string {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = escapeFilter(t.Schema) + "." + escapeFilter(t.Name)
	}
	return strings.Join(parts, ",")
}

func escapeFilter(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch r {
		case ',', '.', '*', '\\', ' ', '\t', '\n', '\r', '\v', '\f':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// quoteOption quotes a value for the replication command grammar, where a
// single quote is doubled and a backslash has no special meaning.
func quoteOption(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }

func (o Options) pluginArgs() []string {
	if o.WithoutShapes {
		return plainPluginArgs(o.Tables, o.Schemas)
	}
	return PluginArgs(o.Tables, o.Schemas...)
}
