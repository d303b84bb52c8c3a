package verify

import (
	"regexp"
	"strings"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// plan is how one table is read on both sides.
type plan struct {
	name    string // "schema.table"
	src     string // quoted source relation
	dst     string // quoted destination relation
	dstName string // "schema.table" in the destination
	row     string // the row's text: ROW(t."a", t."b")::text
	key     string // the chunking column's name; "" for a keyless table
	keyExpr string // the chunking column in bucket order
	arrType string // the array type of thresholds for keyExpr
	keyText string // the whole key's text, for examples
}

// nativeOrder are the types whose order is the same on every server (no
// collation): their keys are bucketed as themselves. Any other key is
// bucketed by its text in COLLATE "C", which is the same everywhere too.
var nativeOrder = map[string]bool{
	"smallint": true, "integer": true, "bigint": true, "numeric": true, "oid": true,
	"real": true, "double precision": true, "date": true, "uuid": true,
	"timestamp without time zone": true, "timestamp with time zone": true,
	"time without time zone": true,
}

var typmod = regexp.MustCompile(`\([0-9, ]+\)`)

func newPlan(t, dst schema.Table) plan {
	p := plan{name: t.FullName(), src: t.Ident(), dst: dst.Ident(), dstName: dst.FullName()}
	cols := make([]string, 0, len(t.Columns))
	for _, c := range t.Columns {
		cols = append(cols, "t."+schema.QuoteIdent(c.Name))
	}
	p.row = "ROW(" + strings.Join(cols, ", ") + ")::text"
	if len(t.KeyColumns) == 0 {
		return p
	}
	p.key = t.KeyColumns[0]
	col := "t." + schema.QuoteIdent(p.key)
	base := typmod.ReplaceAllString(keyType(t, p.key), "")
	if nativeOrder[base] {
		p.keyExpr = col + "::" + base
		p.arrType = base + "[]"
	} else {
		p.keyExpr = "(" + col + `::text COLLATE "C")`
		p.arrType = "text[]"
	}
	keys := make([]string, len(t.KeyColumns))
	for i, k := range t.KeyColumns {
		keys[i] = "t." + schema.QuoteIdent(k)
	}
	if len(keys) == 1 {
		p.keyText = keys[0] + "::text"
	} else {
		p.keyText = "ROW(" + strings.Join(keys, ", ") + ")::text"
	}
	return p
}

// keyType is the type the destination stores the column as.
func keyType(t schema.Table, name string) string {
	for _, c := range t.Columns {
		if c.Name == name {
			if c.BaseType != "" {
				return c.BaseType
			}
			return c.Type
		}
	}
	return ""
}

// arrayLiteral renders values as a typed array constant, each element
// double-quoted (a backslash and a double quote escaped) inside a standard
// string literal.
func arrayLiteral(values []string, arrType string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		for _, r := range v {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return quoteLiteral(b.String()) + "::" + arrType
}
