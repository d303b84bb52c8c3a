package schema

import (
	"fmt"
	"strings"
)

// DefaultSchema is selected when a Selection names neither schemas nor tables.
const DefaultSchema = "public"

// Selection says which source tables are replicated. Names are the catalog's
// unquoted spelling. Tables and Exclude hold "schema.table"; a name without a
// dot is in DefaultSchema, and either part may be double-quoted when it
// contains a dot itself ("my.schema"."t").
//
// A leaf partition is selected when it or its root partitioned table is
// selected (by schema or by name), and excluded when either is excluded, so
// an operator names the table they know (the root) and gets the leaves
// wal2json actually reports.
type Selection struct {
	Schemas []string
	Tables  []string
	Exclude []string
}

// QualifiedName is a parsed "schema.table".
type QualifiedName struct{ Schema, Name string }

func (q QualifiedName) String() string { return q.Schema + "." + q.Name }

// ParseQualified splits "schema.table" (or "table", meaning DefaultSchema).
func ParseQualified(s string) (QualifiedName, error) {
	parts, err := splitName(s)
	if err != nil {
		return QualifiedName{}, fmt.Errorf("table name %q: %w", s, err)
	}
	switch len(parts) {
	case 1:
		return QualifiedName{DefaultSchema, parts[0]}, nil
	case 2:
		return QualifiedName{parts[0], parts[1]}, nil
	default:
		return QualifiedName{}, fmt.Errorf("table name %q: want schema.table (quote a part that contains a dot)", s)
	}
}

// splitName splits on dots outside double quotes; "" inside quotes is a quote.
func splitName(s string) ([]string, error) {
	var parts []string
	var cur strings.Builder
	quoted, wasQuoted := false, false
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quoted && r == '"' && i+1 < len(rs) && rs[i+1] == '"':
			cur.WriteRune('"')
			i++
		case r == '"' && (quoted || cur.Len() == 0):
			quoted = !quoted
			wasQuoted = true
		case r == '.' && !quoted:
			if cur.Len() == 0 && !wasQuoted {
				return nil, fmt.Errorf("empty name part")
			}
			parts = append(parts, cur.String())
			cur.Reset()
			wasQuoted = false
		default:
			cur.WriteRune(r)
		}
	}
	if quoted {
		return nil, fmt.Errorf("unterminated quote")
	}
	if cur.Len() == 0 && !wasQuoted {
		return nil, fmt.Errorf("empty name part")
	}
	return append(parts, cur.String()), nil
}

// schemas returns the schemas to select wholesale: the listed ones, or
// DefaultSchema when nothing at all is listed.
func (s Selection) schemas() []string {
	if len(s.Schemas) == 0 && len(s.Tables) == 0 {
		return []string{DefaultSchema}
	}
	return s.Schemas
}

func parseAll(names []string) (schemas, tables []string, err error) {
	for _, n := range names {
		q, err := ParseQualified(n)
		if err != nil {
			return nil, nil, err
		}
		schemas = append(schemas, q.Schema)
		tables = append(tables, q.Name)
	}
	return schemas, tables, nil
}
