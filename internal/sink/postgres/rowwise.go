package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// Row-by-row statements, for the cases a set-based statement cannot express:
// key changes (a swap of keys inside one statement would trip the unique
// check) and tables without a key (REPLICA IDENTITY FULL), where exactly one
// of possibly several identical rows must change.

func quote(s string) string { return schema.QuoteIdent(s) }

func arg(v *sink.Value) any {
	if v == nil || v.Null {
		return nil
	}
	return v.Text
}

type params struct{ args []any }

// add binds v and returns its text placeholder.
func (p *params) add(v *sink.Value) string {
	p.args = append(p.args, arg(v))
	return "$" + strconv.Itoa(len(p.args)) + "::text"
}

func (w *writer) setList(ti *tableInfo, c *sink.Change, p *params) ([]string, error) {
	set := make([]string, 0, len(c.Columns))
	for i := range c.Columns {
		v := &c.Columns[i]
		expr, err := ti.assign(v.Name, p.add(v))
		if err != nil {
			return nil, err
		}
		set = append(set, quote(v.Name)+" = "+expr)
	}
	return set, nil
}

// matchAll matches the whole old row; columns whose type has no equality
// operator (json, point, ...) are compared as text. A NULL is matched with
// IS NULL and a value with =, never IS NOT DISTINCT FROM, so the access
// index of a keyless table (see createTableSQL) can be used.
func matchAll(ti *tableInfo, c *sink.Change, p *params) (string, error) {
	if len(c.Identity) == 0 {
		return "", fmt.Errorf("change to %s: no old row to match (is REPLICA IDENTITY FULL set on the source?)", ti.ident)
	}
	conds := make([]string, 0, len(c.Identity))
	for i := range c.Identity {
		v := &c.Identity[i]
		col, err := ti.col(v.Name)
		if err != nil {
			return "", err
		}
		switch {
		case v.Null:
			conds = append(conds, quote(v.Name)+" IS NULL")
		case col.textCmp:
			conds = append(conds, quote(v.Name)+"::text = ("+p.add(v)+"::"+col.cast+")::text")
		default:
			conds = append(conds, quote(v.Name)+" = "+p.add(v)+"::"+col.cast)
		}
	}
	return "ctid = (SELECT ctid FROM " + ti.ident + " WHERE " + strings.Join(conds, " AND ") + " LIMIT 1)", nil
}

func (w *writer) rowUpdateFull(ctx context.Context, ti *tableInfo, c *sink.Change) error {
	if err := w.closeGroup(ctx); err != nil {
		return err
	}
	var p params
	set, err := w.setList(ti, c, &p)
	if err != nil {
		return err
	}
	if len(set) == 0 {
		return nil
	}
	where, err := matchAll(ti, c, &p)
	if err != nil {
		return err
	}
	return w.queue(ctx, ti, "UPDATE "+ti.ident+" SET "+strings.Join(set, ", ")+" WHERE "+where, p.args...)
}

func (w *writer) rowDeleteFull(ctx context.Context, ti *tableInfo, c *sink.Change) error {
	if err := w.closeGroup(ctx); err != nil {
		return err
	}
	var p params
	where, err := matchAll(ti, c, &p)
	if err != nil {
		return err
	}
	return w.queue(ctx, ti, "DELETE FROM "+ti.ident+" WHERE "+where, p.args...)
}

func (w *writer) rowUpdateKeyChange(ctx context.Context, ti *tableInfo, c *sink.Change) error {
	if err := w.closeGroup(ctx); err != nil {
		return err
	}
	var p params
	set, err := w.setList(ti, c, &p)
	if err != nil {
		return err
	}
	conds := make([]string, len(ti.key))
	for i, k := range ti.key {
		typ, err := ti.castOf(k)
		if err != nil {
			return err
		}
		conds[i] = quote(k) + " = " + p.add(oldValue(c, k)) + "::" + typ
	}
	return w.queue(ctx, ti, "UPDATE "+ti.ident+" SET "+strings.Join(set, ", ")+" WHERE "+strings.Join(conds, " AND "), p.args...)
}
