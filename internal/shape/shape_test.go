package shape

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func cols(cs ...Column) []Column { return cs }

var (
	id   = Column{Pos: 1, Name: "id", Type: "bigint", TypeOID: 20, NotNull: true}
	name = Column{Pos: 2, Name: "name", Type: "character varying(10)", TypeOID: 1043}
	qty  = Column{Pos: 3, Name: "qty", Type: "numeric(8,2)", TypeOID: 1700, NotNull: true}
)

func with(c Column, f func(*Column)) Column { f(&c); return c }

func kinds(ds []Delta) []Kind {
	var out []Kind
	for _, d := range ds {
		out = append(out, d.Kind)
	}
	return out
}

func TestDiff(t *testing.T) {
	known := Shape{Columns: cols(id, name, qty), PK: []string{"id"}}
	tests := []struct {
		name     string
		seen     []Column
		pk       []string
		complete bool
		want     []Kind
	}{
		{"same", cols(id, name, qty), []string{"id"}, true, nil},
		{"update without a toasted column is no drop", cols(id, qty), []string{"id"}, false, nil},
		{"insert without a column is a drop", cols(id, qty), []string{"id"}, true, []Kind{Dropped}},
		{"same attnum, new name: rename", cols(id, with(name, func(c *Column) { c.Name = "title" }), qty), nil, true, []Kind{Renamed}},
		{"new attnum: add", cols(id, name, qty, Column{Pos: 4, Name: "note", Type: "text", TypeOID: 25}), nil, false, []Kind{Added}},
		{"typmod change", cols(id, with(name, func(c *Column) { c.Type = "character varying(40)" }), qty), nil, false, []Kind{TypeChanged}},
		{"oid change", cols(with(id, func(c *Column) { c.TypeOID = 23; c.Type = "integer" }), name, qty), nil, false, []Kind{TypeChanged}},
		{"not null dropped", cols(id, name, with(qty, func(c *Column) { c.NotNull = false })), nil, false, []Kind{NullDropped}},
		{"not null set", cols(id, with(name, func(c *Column) { c.NotNull = true }), qty), nil, false, []Kind{NullSet}},
		{"key changed", cols(id, name, qty), []string{"id", "name"}, false, []Kind{KeyChanged}},
		{"renamed key column is no key change", cols(with(id, func(c *Column) { c.Name = "ident" }), name, qty), []string{"ident"}, true, []Kind{Renamed}},
		{"dropped and re-added under the same name: drop then add",
			cols(id, Column{Pos: 4, Name: "name", Type: "integer", TypeOID: 23}, qty), nil, true, []Kind{Dropped, Added}},
		{"a delete says nothing of columns", nil, []string{"id"}, false, nil},
		{"dropped and re-added, seen first in an update: the name is taken, so the old one is gone",
			cols(id, Column{Pos: 4, Name: "name", Type: "integer", TypeOID: 23}), nil, false, []Kind{Dropped, Added}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, kinds(Diff(known, tt.seen, tt.pk, tt.complete)))
		})
	}
	assert.Nil(t, Diff(Shape{}, cols(id), nil, true), "nothing known: nothing to compare")
}

func TestSameTypeSpelling(t *testing.T) {
	a := Column{Pos: 1, Name: "m", Type: `"Mood"`, TypeOID: 16500}
	b := Column{Pos: 1, Name: "m", Type: `Mood`, TypeOID: 16500}
	assert.Empty(t, Diff(Shape{Columns: cols(a)}, cols(b), nil, true))
	c := Column{Pos: 1, Name: "m", Type: `Mood`, TypeOID: 16501}
	assert.Equal(t, []Kind{TypeChanged}, kinds(Diff(Shape{Columns: cols(a)}, cols(c), nil, true)))
}

func TestApply(t *testing.T) {
	known := Shape{Columns: cols(id, name, qty)}
	seen := cols(id, with(name, func(c *Column) { c.Name = "title" }), Column{Pos: 4, Name: "note", Type: "text"})
	d := Diff(known, seen, []string{"id"}, true)
	got := Apply(known, seen, []string{"id"}, d)
	assert.Equal(t, []string{"id", "title", "note"}, names(got.Columns))
	assert.Equal(t, []string{"id"}, got.PK)
	// An update leaves what it does not show as it was.
	got = Apply(known, cols(id), nil, nil)
	assert.Equal(t, []string{"id", "name", "qty"}, names(got.Columns))
}

func names(cs []Column) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

func TestWidens(t *testing.T) {
	tests := []struct {
		from, to string
		want     bool
	}{
		{"character varying(10)", "character varying(40)", true},
		{"character varying(40)", "character varying(10)", false},
		{"character varying(10)", "character varying", true},
		{"character varying", "character varying(10)", false},
		{"character varying(10)", "text", true},
		{"text", "character varying(10)", false},
		{"character(3)", "character(5)", true},
		{"character(3)", "text", false},
		{"numeric(8,2)", "numeric(12,4)", true},
		{"numeric(8,2)", "numeric(8,4)", false}, // fewer integer digits
		{"numeric(8,2)", "numeric(10,1)", false},
		{"numeric(8,2)", "numeric", true},
		{"numeric", "numeric(20,2)", false},
		{"smallint", "integer", true},
		{"integer", "bigint", true},
		{"bigint", "integer", false},
		{"integer", "numeric(10,0)", true},
		{"integer", "numeric(9,0)", false},
		{"bigint", "numeric", true},
		{"real", "double precision", true},
		{"double precision", "real", false},
		{"integer", "text", false},
		{"timestamp(3) without time zone", "timestamp(6) without time zone", true},
		{"timestamp(3) without time zone", "timestamp without time zone", true},
		{"timestamp without time zone", "timestamp(3) without time zone", false},
		{"timestamp without time zone", "timestamp with time zone", false},
		{"time(2) with time zone", "time(4) with time zone", true},
		{"interval(2)", "interval", true},
		{"bit varying(4)", "bit varying(8)", true},
		{"bit(4)", "bit(8)", false},
		{"integer[]", "bigint[]", true},
		{"integer[]", "bigint", false},
		{"jsonb", "jsonb", true},
		{"json", "jsonb", false},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			assert.Equal(t, tt.want, Widens(tt.from, tt.to))
		})
	}
}

func TestPlan(t *testing.T) {
	dest := Dest{Schema: "app", Name: "t", Columns: map[string]DestColumn{
		"id":   {Type: "bigint", NotNull: true, Key: true},
		"name": {Type: "character varying(10)"},
		"qty":  {Type: "numeric(8,2)", NotNull: true},
		"mood": {Type: "text"},
	}}
	builtin := func(c Column) Resolved { return Resolved{StoredType: c.Type} }
	def := "5"
	tests := []struct {
		name       string
		deltas     []Delta
		resolve    func(Column) Resolved
		pol        Policy
		statements []string
		quarantine bool
		resync     bool
	}{
		{name: "add with a constant default",
			deltas:     []Delta{{Kind: Added, New: Column{Pos: 5, Name: "n", Type: "integer"}}},
			resolve:    func(Column) Resolved { return Resolved{StoredType: "integer", Default: &def} },
			statements: []string{`ALTER TABLE "app"."t" ADD COLUMN "n" integer DEFAULT '5'`}},
		{name: "add with a volatile default: copied again",
			deltas:     []Delta{{Kind: Added, New: Column{Pos: 5, Name: "n", Type: "timestamp with time zone"}}},
			resolve:    func(Column) Resolved { return Resolved{StoredType: "timestamp with time zone", Rewritten: true} },
			statements: []string{`ALTER TABLE "app"."t" ADD COLUMN "n" timestamp with time zone`}, resync: true},
		{name: "add of an unknown type", deltas: []Delta{{Kind: Added, New: Column{Pos: 5, Name: "n", Type: "hstore"}}},
			resolve: func(Column) Resolved { return Resolved{} }, quarantine: true},
		{name: "rename", deltas: []Delta{{Kind: Renamed, Old: name, New: with(name, func(c *Column) { c.Name = "title" })}},
			statements: []string{`ALTER TABLE "app"."t" RENAME COLUMN "name" TO "title"`}},
		{name: "widen", deltas: []Delta{{Kind: TypeChanged, Old: name, New: with(name, func(c *Column) { c.Type = "character varying(40)" })}},
			statements: []string{`ALTER TABLE "app"."t" ALTER COLUMN "name" TYPE character varying(40)`}},
		{name: "narrow", deltas: []Delta{{Kind: TypeChanged, Old: name, New: with(name, func(c *Column) { c.Type = "character varying(5)" })}},
			quarantine: true},
		{name: "enum to another enum, both stored as text",
			deltas:  []Delta{{Kind: TypeChanged, Old: Column{Pos: 4, Name: "mood", Type: "mood", TypeOID: 17000}, New: Column{Pos: 4, Name: "mood", Type: "mood2", TypeOID: 17001}}},
			resolve: func(Column) Resolved { return Resolved{StoredType: "text"} }},
		{name: "drop, kept", deltas: []Delta{{Kind: Dropped, Old: qty}},
			statements: []string{`ALTER TABLE "app"."t" ALTER COLUMN "qty" DROP NOT NULL`}},
		{name: "drop, dropped", deltas: []Delta{{Kind: Dropped, Old: qty}}, pol: Policy{DropColumns: DropDrop},
			statements: []string{`ALTER TABLE "app"."t" DROP COLUMN "qty"`}},
		{name: "drop of a key column", deltas: []Delta{{Kind: Dropped, Old: id}}, quarantine: true},
		{name: "dropped and re-added with another type: the kept one moves aside",
			deltas:  []Delta{{Kind: Dropped, Old: name}, {Kind: Added, New: Column{Pos: 6, Name: "name", Type: "integer", TypeOID: 23}}},
			resolve: func(Column) Resolved { return Resolved{StoredType: "integer"} },
			statements: []string{`ALTER TABLE "app"."t" RENAME COLUMN "name" TO "name_dropped"`,
				`ALTER TABLE "app"."t" ADD COLUMN "name" integer`}},
		{name: "key change", deltas: []Delta{{Kind: KeyChanged, OldPK: []string{"id"}, NewPK: []string{"id", "name"}}}, quarantine: true},
		{name: "nullable", deltas: []Delta{{Kind: NullDropped, Old: qty, New: with(qty, func(c *Column) { c.NotNull = false })}},
			statements: []string{`ALTER TABLE "app"."t" ALTER COLUMN "qty" DROP NOT NULL`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.resolve
			if r == nil {
				r = builtin
			}
			steps := Plan(tt.deltas, dest, r, tt.pol)
			var stmts []string
			resync := false
			for _, s := range steps {
				stmts = append(stmts, s.Statements...)
				resync = resync || s.Resync
			}
			q := Quarantined(steps)
			assert.Equal(t, tt.quarantine, q != "", q)
			if !tt.quarantine {
				assert.Equal(t, tt.statements, stmts)
			}
			assert.Equal(t, tt.resync, resync)
		})
	}
}
