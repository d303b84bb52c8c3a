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

func (p *params) add(v *sink.Value, typ string) string {
	p.args = append(p.args, arg(v))
	return "$" + strconv.Itoa(len(p.args)) + "::" + typ
}

func (w *writer) setList(ti *tableInfo, c *sink.Change, p *params) ([]string, error) {
	set := make([]string, 0, len(c.Columns))
	for i := range c.Columns {
		v := &c.Columns[i]
		typ, err := ti.typeOf(v.Name)
		if err != nil {
			return nil, err
		}
		set = append(set, quote(v.Name)+" = "+p.add(v, typ))
	}
	return set, nil
}

// matchAll matches the whole old row; columns whose type has no equality
// operator (json, point, ...) are compared as text.
func matchAll(ti *tableInfo, c *sink.Change, p *params) (string, error) {
	if len(c.Identity) == 0 {
		return "", fmt.Errorf("change to %s: no old row to match (is REPLICA IDENTITY FULL set on the source?)", ti.ident)
	}
	conds := make([]string, 0, len(c.Identity))
	for i := range c.Identity {
		v := &c.Identity[i]
		typ, err := ti.typeOf(v.Name)
		if err != nil {
			return "", err
		}
		ph := p.add(v, typ)
		if ti.textCmp[v.Name] {
			conds = append(conds, quote(v.Name)+"::text IS NOT DISTINCT FROM ("+ph+")::text")
		} else {
			conds = append(conds, quote(v.Name)+" IS NOT DISTINCT FROM "+ph)
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
	return w.queue(ctx, "UPDATE "+ti.ident+" SET "+strings.Join(set, ", ")+" WHERE "+where, p.args...)
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
	return w.queue(ctx, "DELETE FROM "+ti.ident+" WHERE "+where, p.args...)
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
		typ, err := ti.typeOf(k)
		if err != nil {
			return err
		}
		conds[i] = quote(k) + " = " + p.add(oldValue(c, k), typ)
	}
	return w.queue(ctx, "UPDATE "+ti.ident+" SET "+strings.Join(set, ", ")+" WHERE "+strings.Join(conds, " AND "), p.args...)
}
