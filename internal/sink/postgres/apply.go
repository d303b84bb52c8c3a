package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/ardent-cdc/ardent/internal/sink"
)

// Tuning: groups of consecutive same-shaped changes become one set-based
// statement; large insert groups go through COPY; everything else is
// pipelined in a pgx.Batch so a round trip carries many statements.
const (
	maxGroupRows  = 5000 // rows per set-based statement
	copyThreshold = 64   // insert groups at least this large use COPY
	maxQueued     = 256  // statements pipelined per round trip
)

// writer applies changes, in order, inside one destination transaction.
type writer struct {
	s     *Sink
	a     *applier
	tx    pgx.Tx
	batch *pgx.Batch
	// batchTables[i] is the table queued statement i writes to (nil for
	// bookkeeping), so a refused statement's error can name it.
	batchTables []*tableInfo
	g           group
	copyBuf     bytes.Buffer
	connector   string        // the checkpoint's name
	lsn         pglogrepl.LSN // the commit LSN of the source transaction being added
}

// group is a run of consecutive changes of one kind to one table with the
// same column set, applied by one set-based statement.
type group struct {
	op   sink.Op
	ti   *tableInfo
	cols []string // the changes' column names (inserts, updates)
	rows []*sink.Change
	seen map[string]struct{} // update keys already in the group
}

func (w *writer) add(ctx context.Context, c *sink.Change) error {
	ti, err := w.s.table(ctx, c.Schema, c.Table)
	if err != nil {
		return &sink.ApplyError{Schema: w.s.target.Schema(c.Schema), Table: c.Table, SourceSchema: c.Schema, SourceTable: c.Table, Err: err}
	}
	if err := w.track(ctx, ti, c); err != nil {
		if errors.Is(err, errSkipChange) {
			return nil
		}
		return applyError(ti, err)
	}
	if err := w.addTo(ctx, ti, c); err != nil {
		return applyError(ti, err)
	}
	return nil
}

// applyError names the table of a refused change, unless err already does.
func applyError(ti *tableInfo, err error) error {
	var ae *sink.ApplyError
	if errors.As(err, &ae) {
		return err
	}
	ae = &sink.ApplyError{Schema: ti.schema, Table: ti.name, SourceSchema: ti.srcSchema, SourceTable: ti.name, Err: err}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		ae.Column = pe.ColumnName
	}
	return ae
}

func (w *writer) addTo(ctx context.Context, ti *tableInfo, c *sink.Change) error {
	switch c.Op {
	case sink.OpInsert:
		return w.addGrouped(ctx, ti, c, "")
	case sink.OpUpdate:
		if len(ti.key) == 0 {
			return w.rowUpdateFull(ctx, ti, c)
		}
		key, changed, err := updateKey(ti, c)
		if err != nil {
			return err
		}
		if changed {
			return w.rowUpdateKeyChange(ctx, ti, c)
		}
		return w.addGrouped(ctx, ti, c, key)
	case sink.OpDelete:
		if len(ti.key) == 0 {
			return w.rowDeleteFull(ctx, ti, c)
		}
		return w.addGrouped(ctx, ti, c, "")
	case sink.OpShape:
		return nil // no row: track followed it
	case sink.OpTruncate:
		if err := w.closeGroup(ctx); err != nil {
			return err
		}
		return w.queue(ctx, ti, "TRUNCATE "+ti.ident)
	default:
		return fmt.Errorf("change to %s: unknown operation %q", ti.ident, c.Op)
	}
}

// updateKey returns the old key of an update as a map key, and whether the
// update changes the key. wal2json sends the old key (identity) only when it
// changed or under REPLICA IDENTITY FULL.
func updateKey(ti *tableInfo, c *sink.Change) (string, bool, error) {
	var b strings.Builder
	changed := false
	for _, k := range ti.key {
		nv, inNew := find(c.Columns, k)
		ov, inOld := find(c.Identity, k)
		switch {
		case inOld:
			if inNew && (nv.Null != ov.Null || nv.Text != ov.Text) {
				changed = true
			}
		case inNew:
			ov = nv
		default:
			return "", false, fmt.Errorf("update of %s: key column %q missing", ti.ident, k)
		}
		if ov.Null {
			b.WriteString("\x01")
		} else {
			b.WriteString(ov.Text)
		}
		b.WriteByte(0)
	}
	return b.String(), changed, nil
}

func find(vs []sink.Value, name string) (*sink.Value, bool) {
	for i := range vs {
		if vs[i].Name == name {
			return &vs[i], true
		}
	}
	return nil, false
}

func sameCols(cols []string, vs []sink.Value) bool {
	if len(cols) != len(vs) {
		return false
	}
	for i := range vs {
		if cols[i] != vs[i].Name {
			return false
		}
	}
	return true
}

func (w *writer) addGrouped(ctx context.Context, ti *tableInfo, c *sink.Change, key string) error {
	g := &w.g
	fits := len(g.rows) > 0 && g.op == c.Op && g.ti == ti && len(g.rows) < maxGroupRows
	if fits && c.Op != sink.OpDelete {
		fits = sameCols(g.cols, c.Columns)
	}
	if fits && c.Op == sink.OpUpdate {
		_, dup := g.seen[key]
		fits = !dup
	}
	if !fits {
		if err := w.closeGroup(ctx); err != nil {
			return err
		}
		g.op, g.ti = c.Op, ti
		g.cols = g.cols[:0]
		for _, v := range c.Columns {
			g.cols = append(g.cols, v.Name)
		}
		if c.Op == sink.OpUpdate {
			g.seen = map[string]struct{}{}
		}
	}
	if c.Op == sink.OpUpdate {
		g.seen[key] = struct{}{}
	}
	g.rows = append(g.rows, c)
	return nil
}

// closeGroup turns the current group into statements.
func (w *writer) closeGroup(ctx context.Context) error {
	g := &w.g
	if len(g.rows) == 0 {
		return nil
	}
	defer func() { g.rows = g.rows[:0]; g.seen = nil }()
	var err error
	switch g.op {
	case sink.OpInsert:
		// COPY would store a value that does not fit a typmod rounded or
		// cut; the statement form guards it (tableInfo.assign).
		if len(g.rows) >= copyThreshold && !g.ti.hasGuarded(g.cols) {
			err = w.copyInsert(ctx)
		} else {
			err = w.unnestInsert(ctx)
		}
	case sink.OpUpdate:
		err = w.unnestUpdate(ctx)
	case sink.OpDelete:
		err = w.unnestDelete(ctx)
	default:
		err = fmt.Errorf("group of %q changes cannot be applied", g.op)
	}
	if err != nil {
		return applyError(g.ti, err)
	}
	return nil
}

// queue adds a statement writing to ti (nil: bookkeeping) to the pipeline.
func (w *writer) queue(ctx context.Context, ti *tableInfo, sql string, args ...any) error {
	w.batch.Queue(sql, args...)
	w.batchTables = append(w.batchTables, ti)
	if w.batch.Len() >= maxQueued {
		return w.send(ctx)
	}
	return nil
}

// flush sends everything accumulated so far. Unless wait is set, the
// results of the last round trip are read only by the next send (or
// finish): the destination executes it while the next batch of changes is
// received and encoded. An error surfaces one Write late, which is safe:
// nothing is committed, and so nothing acknowledged, before finish.
func (w *writer) flush(ctx context.Context, wait bool) error {
	if err := w.closeGroup(ctx); err != nil {
		return err
	}
	if err := w.send(ctx); err != nil {
		return err
	}
	if wait {
		return w.a.finish()
	}
	return nil
}

func (w *writer) send(ctx context.Context) error {
	if err := w.a.finish(); err != nil {
		return err
	}
	if w.batch.Len() == 0 {
		return nil
	}
	b := w.batch
	w.batch = &pgx.Batch{}
	w.a.pending = w.tx.SendBatch(ctx, b)
	w.a.pendingBatch = b
	w.a.pendingTables, w.batchTables = w.batchTables, w.a.pendingTables[:0]
	return nil
}

// finish reads the results of the statements in flight.
func (a *applier) finish() error {
	if a.pending == nil {
		return nil
	}
	br, b := a.pending, a.pendingBatch
	a.pending, a.pendingBatch = nil, nil
	for i := 0; i < b.Len(); i++ {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			err = fmt.Errorf("apply statement %q: %w", firstLine(b.QueuedQueries[i].SQL), err)
			if i < len(a.pendingTables) && a.pendingTables[i] != nil {
				return applyError(a.pendingTables[i], err)
			}
			return err
		}
	}
	return br.Close()
}

func firstLine(s string) string {
	if len(s) > 120 {
		s = s[:120] + "..."
	}
	return s
}

// column arrays: one text[] parameter per column, NULLs as invalid Text.
func textArray(rows []*sink.Change, pick func(*sink.Change) *sink.Value) []pgtype.Text {
	out := make([]pgtype.Text, len(rows))
	for i, r := range rows {
		if v := pick(r); v != nil && !v.Null {
			out[i] = pgtype.Text{String: v.Text, Valid: true}
		}
	}
	return out
}

func unnestFrom(n int) (string, []string) {
	params := make([]string, n)
	names := make([]string, n)
	for i := range n {
		params[i] = "$" + strconv.Itoa(i+1) + "::text[]"
		names[i] = "c" + strconv.Itoa(i+1)
	}
	return "unnest(" + strings.Join(params, ", ") + ") AS v(" + strings.Join(names, ", ") + ")", names
}

func (w *writer) unnestInsert(ctx context.Context) error {
	g := &w.g
	from, names := unnestFrom(len(g.cols))
	cols := make([]string, len(g.cols))
	sel := make([]string, len(g.cols))
	args := make([]any, len(g.cols))
	for i, c := range g.cols {
		expr, err := g.ti.assign(c, "v."+names[i])
		if err != nil {
			return err
		}
		cols[i] = quote(c)
		sel[i] = expr
		args[i] = textArray(g.rows, func(ch *sink.Change) *sink.Value { return &ch.Columns[i] })
	}
	sql := "INSERT INTO " + g.ti.ident + " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(sel, ", ") + " FROM " + from
	return w.queue(ctx, g.ti, sql, args...)
}

func (w *writer) copyInsert(ctx context.Context) error {
	g := &w.g
	if err := w.send(ctx); err != nil { // keep order: pipelined statements first
		return err
	}
	if err := w.a.finish(); err != nil { // COPY needs the connection to itself
		return err
	}
	cols := make([]string, len(g.cols))
	for i, c := range g.cols {
		if _, err := g.ti.col(c); err != nil {
			return err
		}
		cols[i] = quote(c)
	}
	buf := &w.copyBuf
	buf.Reset()
	for _, r := range g.rows {
		for i := range r.Columns {
			if i > 0 {
				buf.WriteByte('\t')
			}
			appendCopyText(buf, &r.Columns[i])
		}
		buf.WriteByte('\n')
	}
	sql := "COPY " + g.ti.ident + " (" + strings.Join(cols, ", ") + ") FROM STDIN"
	if _, err := w.tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf.Bytes()), sql); err != nil {
		return applyError(g.ti, fmt.Errorf("copy %d rows into %s: %w", len(g.rows), g.ti.ident, err))
	}
	return nil
}

// appendCopyText writes one value in COPY text format.
func appendCopyText(buf *bytes.Buffer, v *sink.Value) {
	if v.Null {
		buf.WriteString(`\N`)
		return
	}
	s := v.Text
	start := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '\\':
			esc = `\\`
		case '\n':
			esc = `\n`
		case '\r':
			esc = `\r`
		case '\t':
			esc = `\t`
		default:
			continue
		}
		buf.WriteString(s[start:i])
		buf.WriteString(esc)
		start = i + 1
	}
	buf.WriteString(s[start:])
}

func (w *writer) unnestUpdate(ctx context.Context) error {
	g := &w.g
	ti := g.ti
	isKey := map[string]bool{}
	for _, k := range ti.key {
		isKey[k] = true
	}
	var set, where []string
	var args []any
	n := 0
	param := func() string { n++; return "c" + strconv.Itoa(n) }
	for i, c := range g.cols {
		if isKey[c] {
			continue
		}
		expr, err := ti.assign(c, "v."+param())
		if err != nil {
			return err
		}
		set = append(set, quote(c)+" = "+expr)
		args = append(args, textArray(g.rows, func(ch *sink.Change) *sink.Value { return &ch.Columns[i] }))
	}
	if len(set) == 0 {
		return nil // only key columns, unchanged: nothing to do
	}
	for _, k := range ti.key {
		typ, err := ti.castOf(k)
		if err != nil {
			return err
		}
		where = append(where, "t."+quote(k)+" = v."+param()+"::"+typ)
		args = append(args, textArray(g.rows, func(ch *sink.Change) *sink.Value { return oldValue(ch, k) }))
	}
	from, _ := unnestFrom(n)
	sql := "UPDATE " + ti.ident + " AS t SET " + strings.Join(set, ", ") + " FROM " + from + " WHERE " + strings.Join(where, " AND ")
	return w.queue(ctx, ti, sql, args...)
}

// oldValue is the identity value of a column, or the new value when
// wal2json sent no identity (the key did not change).
func oldValue(c *sink.Change, col string) *sink.Value {
	if v, ok := find(c.Identity, col); ok {
		return v
	}
	v, _ := find(c.Columns, col)
	return v
}

func (w *writer) unnestDelete(ctx context.Context) error {
	g := &w.g
	ti := g.ti
	where := make([]string, len(ti.key))
	args := make([]any, len(ti.key))
	for i, k := range ti.key {
		typ, err := ti.castOf(k)
		if err != nil {
			return err
		}
		where[i] = "t." + quote(k) + " = v.c" + strconv.Itoa(i+1) + "::" + typ
		args[i] = textArray(g.rows, func(ch *sink.Change) *sink.Value { return oldValue(ch, k) })
	}
	from, _ := unnestFrom(len(ti.key))
	sql := "DELETE FROM " + ti.ident + " AS t USING " + from + " WHERE " + strings.Join(where, " AND ")
	return w.queue(ctx, ti, sql, args...)
}
