package shape

import (
	"slices"
	"strconv"
	"strings"
)

// Column is one column of a source table as of some LSN.
type Column struct {
	Pos     int    `json:"pos"` // attnum
	Name    string `json:"name"`
	Type    string `json:"type"` // format_type with typmod, as wal2json prints it
	TypeOID uint32 `json:"type_oid,omitempty"`
	NotNull bool   `json:"not_null,omitempty"`
}

// Shape is a source table's columns (ordered by Pos) and primary key.
type Shape struct {
	Columns []Column `json:"columns"`
	// PK names the primary key's columns; nil when not known.
	PK []string `json:"pk"`
}

// Find returns the column at attnum pos.
func (s *Shape) Find(pos int) (Column, bool) {
	for _, c := range s.Columns {
		if c.Pos == pos {
			return c, true
		}
	}
	return Column{}, false
}

// Named returns the column called name.
func (s *Shape) Named(name string) (Column, bool) {
	for _, c := range s.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// Kind is one kind of shape change.
type Kind string

// The shape changes Diff finds.
const (
	Added       Kind = "add column"
	Dropped     Kind = "drop column"
	Renamed     Kind = "rename column"
	TypeChanged Kind = "change type"
	NullDropped Kind = "drop not null"
	NullSet     Kind = "set not null"
	KeyChanged  Kind = "change primary key"
)

// Delta is one change between two shapes.
type Delta struct {
	Kind     Kind
	Old, New Column   // Old for drops, New for adds, both otherwise
	OldPK    []string // KeyChanged
	NewPK    []string
}

// String describes the change for the audit and the operator.
func (d Delta) String() string {
	switch d.Kind {
	case Added:
		return "column " + quote(d.New.Name) + " " + d.New.Type + " added"
	case Dropped:
		return "column " + quote(d.Old.Name) + " dropped"
	case Renamed:
		return "column " + quote(d.Old.Name) + " renamed to " + quote(d.New.Name)
	case TypeChanged:
		return "column " + quote(d.New.Name) + " changed type from " + d.Old.Type + " to " + d.New.Type
	case NullDropped:
		return "column " + quote(d.New.Name) + " made nullable"
	case NullSet:
		return "column " + quote(d.New.Name) + " made NOT NULL"
	case KeyChanged:
		return "primary key changed from (" + strings.Join(d.OldPK, ", ") + ") to (" + strings.Join(d.NewPK, ", ") + ")"
	}
	return string(d.Kind)
}

func quote(s string) string { return strconv.Quote(s) }

// Diff lists the changes from known to what a change shows: seen (columns
// with their attnums), pk (nil when the change does not say) and complete
// (seen holds every column: an INSERT or the catalog). Drops come first,
// then renames, type and nullability changes, then additions, then a key
// change: the order the destination applies them in. known with no columns
// means nothing is known yet: Diff returns nothing.
func Diff(known Shape, seen []Column, pk []string, complete bool) []Delta {
	if len(known.Columns) == 0 {
		return nil
	}
	var drops, changes, adds []Delta
	present := make(map[int]bool, len(seen))
	for _, c := range seen {
		present[c.Pos] = true
		old, ok := known.Find(c.Pos)
		if !ok {
			adds = append(adds, Delta{Kind: Added, New: c})
			continue
		}
		if old.Name != c.Name {
			changes = append(changes, Delta{Kind: Renamed, Old: old, New: c})
		}
		if !sameType(old, c) {
			changes = append(changes, Delta{Kind: TypeChanged, Old: old, New: c})
		}
		switch {
		case old.NotNull && !c.NotNull:
			changes = append(changes, Delta{Kind: NullDropped, Old: old, New: c})
		case !old.NotNull && c.NotNull:
			changes = append(changes, Delta{Kind: NullSet, Old: old, New: c})
		}
	}
	for _, old := range known.Columns {
		if present[old.Pos] {
			continue
		}
		// A column is gone when a complete view lacks it, or when another
		// column now has its name (names are unique in a table): a column
		// dropped and added again under its name, seen first in an UPDATE.
		if complete || slices.ContainsFunc(adds, func(a Delta) bool { return a.New.Name == old.Name }) {
			drops = append(drops, Delta{Kind: Dropped, Old: old})
		}
	}
	out := append(append(drops, changes...), adds...)
	if pk != nil && known.PK != nil {
		// The key as it would read after the renames above.
		want := make([]string, len(known.PK))
		for i, k := range known.PK {
			want[i] = k
			if c, ok := known.Named(k); ok {
				for _, s := range seen {
					if s.Pos == c.Pos {
						want[i] = s.Name
					}
				}
			}
		}
		if !slices.Equal(want, pk) {
			out = append(out, Delta{Kind: KeyChanged, OldPK: known.PK, NewPK: pk})
		}
	}
	return out
}

// Apply returns known changed by deltas (Diff's result for seen): the shape
// to record.
func Apply(known Shape, seen []Column, pk []string, deltas []Delta) Shape {
	next := Shape{PK: known.PK}
	dropped := map[int]bool{}
	for _, d := range deltas {
		if d.Kind == Dropped {
			dropped[d.Old.Pos] = true
		}
	}
	byPos := map[int]Column{}
	for _, c := range known.Columns {
		if !dropped[c.Pos] {
			byPos[c.Pos] = c
		}
	}
	for _, c := range seen {
		byPos[c.Pos] = c
	}
	for _, c := range byPos {
		next.Columns = append(next.Columns, c)
	}
	slices.SortFunc(next.Columns, func(a, b Column) int { return a.Pos - b.Pos })
	if pk != nil {
		next.PK = slices.Clone(pk)
	}
	return next
}

// sameType: the catalog spells a type as format_type does ("Mood" quoted),
// wal2json prints a quoted name without its quotes: the two spellings are
// one type (two types whose names differ only by quotes cannot both be in
// one schema's search path under those spellings). Oids, when both sides
// have them (the catalog's shapes), decide first.
func sameType(a, b Column) bool {
	if a.TypeOID != 0 && b.TypeOID != 0 && a.TypeOID != b.TypeOID {
		return false
	}
	if a.Type == b.Type {
		return true
	}
	// The oids, when both are known, have already said the same type.
	return strings.ReplaceAll(a.Type, `"`, "") == strings.ReplaceAll(b.Type, `"`, "")
}
