package shape

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Drop-column policies.
const (
	// DropKeep keeps a dropped column in the destination, nullable, with
	// the values it had: history stays queryable.
	DropKeep = "keep"
	// DropDrop drops it from the destination too.
	DropDrop = "drop"
)

// Policy is what a connector (or one of its tables) does with the changes
// that have a choice.
type Policy struct {
	DropColumns string // DropKeep (default) or DropDrop
}

// DestColumn is one destination column as its catalog has it.
type DestColumn struct {
	Type    string // format_type with typmod
	NotNull bool
	Key     bool // in the destination's primary key
}

// Dest is the destination table a plan changes.
type Dest struct {
	Schema, Name string
	Columns      map[string]DestColumn
}

func (d Dest) ident() string { return pgx.Identifier{d.Schema, d.Name}.Sanitize() }

// Resolved is what the source's catalog says about a new or retyped column
// beyond what the stream carries.
type Resolved struct {
	// StoredType is the destination type: the column's type, or for
	// domains and enums the base type the destination stores. "" when the
	// catalog could not say (the type is then unknown to Ardent).
	StoredType string
	// Default is the constant value rows that existed before an added
	// column have (pg_attribute.attmissingval), nil when none.
	Default *string
	// Rewritten: existing rows got values the stream never carries (a
	// volatile default, an identity or generated column, or a column the
	// catalog no longer shows): the table must be copied again.
	Rewritten bool
}

// Step is what the destination does about one Delta.
type Step struct {
	Delta      Delta
	Statements []string // destination DDL, in order (may be none)
	// Note says what was decided when no statement runs, or why.
	Note string
	// Quarantine, when set, is why the table stops being applied: the
	// change cannot be followed without the operator.
	Quarantine string
	// Kept: the destination keeps what the source changed (a dropped
	// column kept by DropKeep), whatever statements ran to allow it.
	Kept bool
	// Resync: the statements alone leave existing rows different from the
	// source's; the table must be copied again.
	Resync bool
}

// Plan decides each delta against the destination table. resolve is asked
// about added and retyped columns. If any step quarantines, the plan is
// for the operator: the caller applies none of its statements.
func Plan(deltas []Delta, dest Dest, resolve func(Column) Resolved, pol Policy) []Step {
	cols := make(map[string]DestColumn, len(dest.Columns))
	for k, v := range dest.Columns {
		cols[k] = v
	}
	t := dest.ident()
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	// aside renames a destination column out of the way of a source column
	// taking its name (a dropped column kept by DropKeep, then re-added).
	aside := func(name string) string {
		for i := 1; ; i++ {
			suffix := "_dropped"
			if i > 1 {
				suffix = fmt.Sprintf("_dropped%d", i)
			}
			n := name
			for len(n)+len(suffix) > 63 {
				n = n[:len(n)-1]
			}
			if _, taken := cols[n+suffix]; !taken {
				cols[n+suffix] = cols[name]
				delete(cols, name)
				return fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", t, q(name), q(n+suffix))
			}
		}
	}
	var steps []Step
	for _, d := range deltas {
		s := Step{Delta: d}
		switch d.Kind {
		case Dropped:
			c, ok := cols[d.Old.Name]
			switch {
			case !ok:
				s.Note = "the destination has no such column"
			case c.Key:
				s.Quarantine = fmt.Sprintf("column %q was dropped on the source but is in the destination's primary key", d.Old.Name)
			case pol.DropColumns == DropDrop:
				s.Statements = append(s.Statements, fmt.Sprintf("ALTER TABLE %s DROP COLUMN %s", t, q(d.Old.Name)))
				delete(cols, d.Old.Name)
			default:
				s.Kept = true
				s.Note = "kept in the destination with the values it had (drop-column policy keep); new rows have NULL"
				if c.NotNull {
					s.Statements = append(s.Statements, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", t, q(d.Old.Name)))
					c.NotNull = false
					cols[d.Old.Name] = c
				}
			}
		case Renamed:
			c, ok := cols[d.Old.Name]
			if !ok {
				s.Quarantine = fmt.Sprintf("column %q was renamed to %q on the source, but the destination has no column %q", d.Old.Name, d.New.Name, d.Old.Name)
				break
			}
			if _, taken := cols[d.New.Name]; taken {
				s.Statements = append(s.Statements, aside(d.New.Name))
			}
			s.Statements = append(s.Statements, fmt.Sprintf("ALTER TABLE %s RENAME COLUMN %s TO %s", t, q(d.Old.Name), q(d.New.Name)))
			delete(cols, d.Old.Name)
			cols[d.New.Name] = c
		case TypeChanged:
			c, ok := cols[d.New.Name]
			if !ok {
				s.Quarantine = fmt.Sprintf("column %q changed type on the source, but the destination has no such column", d.New.Name)
				break
			}
			r := resolve(d.New)
			switch {
			case r.StoredType == "":
				s.Quarantine = fmt.Sprintf("column %q changed type from %s to %s on the source, a type Ardent does not know", d.New.Name, d.Old.Type, d.New.Type)
			case r.StoredType == c.Type:
				s.Note = "the destination already stores it as " + c.Type
			case Widens(c.Type, r.StoredType):
				s.Statements = append(s.Statements, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s", t, q(d.New.Name), r.StoredType))
				c.Type = r.StoredType
				cols[d.New.Name] = c
			default:
				s.Quarantine = fmt.Sprintf("column %q changed type from %s to %s on the source: not a lossless widening of the destination's %s, so existing values could change",
					d.New.Name, d.Old.Type, d.New.Type, c.Type)
			}
		case NullDropped:
			c, ok := cols[d.New.Name]
			switch {
			case !ok || !c.NotNull:
				s.Note = "the destination column is already nullable"
			case c.Key:
				s.Quarantine = fmt.Sprintf("column %q was made nullable on the source but is in the destination's primary key", d.New.Name)
			default:
				s.Statements = append(s.Statements, fmt.Sprintf("ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", t, q(d.New.Name)))
				c.NotNull = false
				cols[d.New.Name] = c
			}
		case NullSet:
			s.Note = "the destination column stays nullable"
		case Added:
			r := resolve(d.New)
			if r.StoredType == "" {
				s.Quarantine = fmt.Sprintf("column %q was added on the source with type %s, a type Ardent does not know", d.New.Name, d.New.Type)
				break
			}
			if _, taken := cols[d.New.Name]; taken {
				s.Statements = append(s.Statements, aside(d.New.Name))
			}
			add := fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", t, q(d.New.Name), r.StoredType)
			if r.Default != nil && !r.Rewritten {
				// Existing rows have this value on the source (a constant
				// default): the same default gives the destination's the same.
				add += " DEFAULT " + quoteLiteral(*r.Default)
			}
			s.Statements = append(s.Statements, add)
			s.Resync = r.Rewritten
			if r.Rewritten {
				s.Note = "existing rows got values the stream does not carry (a volatile default, an identity or generated column): the table is copied again"
			}
			cols[d.New.Name] = DestColumn{Type: r.StoredType}
		case KeyChanged:
			s.Quarantine = "the source's " + d.String()
		}
		steps = append(steps, s)
	}
	return steps
}

// Quarantined returns the reasons the plan quarantines the table ("" none).
func Quarantined(steps []Step) string {
	var why []string
	for _, s := range steps {
		if s.Quarantine != "" {
			why = append(why, s.Quarantine)
		}
	}
	return strings.Join(why, "; ")
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
