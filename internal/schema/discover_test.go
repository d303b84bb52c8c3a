package schema_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/schema"
)

var fixture = `
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE DOMAIN money2 AS numeric(10,2);
CREATE DOMAIN money3 AS money2 CHECK (VALUE >= 0);
CREATE DOMAIN mood_d AS mood;
CREATE TABLE pk (id bigint PRIMARY KEY, m mood, amount money3, md mood_d, moods mood[],
                 twice bigint GENERATED ALWAYS AS (id * 2) STORED);
CREATE TABLE by_index (a int NOT NULL, b text NOT NULL, c text);
CREATE UNIQUE INDEX by_index_ab ON by_index (a, b);
ALTER TABLE by_index REPLICA IDENTITY USING INDEX by_index_ab;
CREATE TABLE cand (a int NOT NULL, b int);
CREATE UNIQUE INDEX cand_a ON cand (a);
CREATE UNIQUE INDEX cand_b ON cand (b);            -- nullable: unusable
CREATE TABLE full_t (x int);
ALTER TABLE full_t REPLICA IDENTITY FULL;
CREATE TABLE full_pk (id int PRIMARY KEY, v text);
ALTER TABLE full_pk REPLICA IDENTITY FULL;
CREATE TABLE full_uniq (a int NOT NULL, b text);
CREATE UNIQUE INDEX full_uniq_a ON full_uniq (a);
ALTER TABLE full_uniq REPLICA IDENTITY FULL;
CREATE TABLE nothing (x int);
CREATE TABLE nothing_pk (id int PRIMARY KEY);
ALTER TABLE nothing_pk REPLICA IDENTITY NOTHING;
CREATE TABLE partial (a int NOT NULL);
CREATE UNIQUE INDEX partial_a ON partial (a) WHERE a > 0;
CREATE TABLE deferred (a int NOT NULL, CONSTRAINT deferred_a UNIQUE (a) DEFERRABLE);
CREATE TABLE expr (a text NOT NULL);
CREATE UNIQUE INDEX expr_lower ON expr (lower(a));
CREATE TABLE dropped_ri (a int NOT NULL, b int);
CREATE UNIQUE INDEX dropped_ri_a ON dropped_ri (a);
ALTER TABLE dropped_ri REPLICA IDENTITY USING INDEX dropped_ri_a;
DROP INDEX dropped_ri_a;
CREATE TABLE measurements (id int NOT NULL, at date NOT NULL, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE measurements_2025 PARTITION OF measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE measurements_2026 PARTITION OF measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')
  PARTITION BY RANGE (id);
CREATE TABLE measurements_2026_low PARTITION OF measurements_2026 FOR VALUES FROM (0) TO (1000);
CREATE VIEW v AS SELECT 1 AS one;
CREATE SCHEMA other;
CREATE TABLE other.t (id int PRIMARY KEY);
CREATE TABLE other.leaf PARTITION OF measurements FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE SCHEMA "Hostile ""Schema"".x";
CREATE TABLE "Hostile ""Schema"".x"."select" ("Weird ""col""" int PRIMARY KEY, "ünï" text);
CREATE TABLE "Hostile ""Schema"".x"."` + long63 + `" (id int PRIMARY KEY);
`

// long63 is a 63-byte name, the longest identifier PostgreSQL keeps.
var long63 = strings.Repeat("ä", 31) + "z"

func byName(ts []schema.Table) map[string]schema.Table {
	m := map[string]schema.Table{}
	for _, t := range ts {
		m[t.FullName()] = t
	}
	return m
}

func TestDiscover(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", fixture)
	conn := c.Connect(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tables, err := schema.Discover(ctx, conn, schema.Selection{})
	require.NoError(t, err)
	got := byName(tables)

	identities := map[string]struct {
		id        schema.Identity
		index     string
		candidate string
		keys      []string
	}{
		"public.pk":       {schema.IdentityPrimaryKey, "pk_pkey", "", []string{"id"}},
		"public.by_index": {schema.IdentityIndex, "by_index_ab", "", []string{"a", "b"}},
		"public.cand":     {schema.IdentityNone, "", "cand_a", nil},
		"public.full_t":   {schema.IdentityFull, "", "", nil},
		// FULL with a key: the destination keeps the key (issue 12, bug 4).
		"public.full_pk":               {schema.IdentityFull, "", "", []string{"id"}},
		"public.full_uniq":             {schema.IdentityFull, "", "", []string{"a"}},
		"public.nothing":               {schema.IdentityNone, "", "", nil},
		"public.nothing_pk":            {schema.IdentityNone, "", "nothing_pk_pkey", nil},
		"public.partial":               {schema.IdentityNone, "", "", nil},
		"public.deferred":              {schema.IdentityNone, "", "", nil},
		"public.expr":                  {schema.IdentityNone, "", "", nil},
		"public.dropped_ri":            {schema.IdentityNone, "", "", nil},
		"public.measurements_2025":     {schema.IdentityPrimaryKey, "measurements_2025_pkey", "", []string{"id", "at"}},
		"public.measurements_2026_low": {schema.IdentityPrimaryKey, "measurements_2026_low_pkey", "", []string{"id", "at"}},
		"other.leaf":                   {schema.IdentityPrimaryKey, "leaf_pkey", "", []string{"id", "at"}},
	}
	for name, want := range identities {
		tb, ok := got[name]
		if !assert.True(t, ok, "table %s not discovered", name) {
			continue
		}
		assert.Equal(t, want.id, tb.Identity, name)
		assert.Equal(t, want.index, tb.IdentityIndex, name)
		assert.Equal(t, want.candidate, tb.CandidateIndex, name)
		assert.Equal(t, want.keys, tb.KeyColumns, name)
		assert.Equal(t, "postgres", tb.Owner, name)
	}
	assert.Len(t, tables, len(identities), "roots, views and other schemas' plain tables are not selected")
	assert.NotContains(t, got, "public.measurements")
	assert.NotContains(t, got, "public.measurements_2026")
	assert.Equal(t, "public.measurements", got["public.measurements_2026_low"].Parent)
	assert.Equal(t, "public.measurements", got["other.leaf"].Parent, "a leaf follows its root's selection")
	assert.True(t, got["other.leaf"].Partition)
	assert.Empty(t, got["public.pk"].Parent)

	cols := got["public.pk"].Columns
	require.Len(t, cols, 6)
	assert.Equal(t, schema.Column{Name: "id", Pos: 1, Type: "bigint", TypeOID: 20, NotNull: true, Key: true}, cols[0])
	for i, c := range cols {
		assert.Equal(t, i+1, c.Pos, "attnum of %s", c.Name)
	}
	assert.Equal(t, []string{"id"}, got["public.pk"].PK, "the primary key, for the shape the destination follows")
	assert.Equal(t, "mood", cols[1].Type)
	assert.Equal(t, "text", cols[1].BaseType)
	assert.Equal(t, "money3", cols[2].Type)
	assert.Equal(t, "numeric(10,2)", cols[2].BaseType, "domain over domain resolves to the innermost base")
	assert.Equal(t, "text", cols[3].BaseType, "domain over enum")
	assert.Equal(t, "text[]", cols[4].BaseType)
	assert.True(t, cols[5].Generated)
	assert.False(t, cols[0].Generated)
}

func TestDiscoverSelection(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", fixture)
	conn := c.Connect(t, "postgres")
	ctx := context.Background()

	hostile := `"Hostile ""Schema"".x"`
	tests := []struct {
		name string
		sel  schema.Selection
		want []string
	}{
		{"tables only", schema.Selection{Tables: []string{"other.t", "pk"}}, []string{"other.t", "public.pk"}},
		{"root selects leaves", schema.Selection{Tables: []string{"public.measurements"}},
			[]string{"other.leaf", "public.measurements_2025", "public.measurements_2026_low"}},
		{"exclude root excludes leaves", schema.Selection{Schemas: []string{"other"}, Exclude: []string{"public.measurements"}},
			[]string{"other.t"}},
		{"exclude one", schema.Selection{Schemas: []string{"other"}, Exclude: []string{"other.t"}}, []string{"other.leaf"}},
		{"hostile schema", schema.Selection{Schemas: []string{`Hostile "Schema".x`}},
			[]string{`Hostile "Schema".x.` + long63, `Hostile "Schema".x.select`}},
		{"hostile quoted table", schema.Selection{Tables: []string{hostile + `.select`}}, []string{`Hostile "Schema".x.select`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tables, err := schema.Discover(ctx, conn, tt.sel)
			require.NoError(t, err)
			var names []string
			for _, tb := range tables {
				names = append(names, tb.FullName())
			}
			assert.ElementsMatch(t, tt.want, names)
		})
	}

	tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{hostile + `.select`}})
	require.NoError(t, err)
	require.Len(t, tables, 1)
	assert.Equal(t, `"Hostile ""Schema"".x"."select"`, tables[0].Ident())
	assert.Equal(t, []string{`Weird "col"`}, tables[0].KeyColumns)
	assert.True(t, tables[0].Columns[0].Key)

	schemas, missing, err := schema.Missing(ctx, conn, schema.Selection{
		Schemas: []string{"public", "nope"}, Tables: []string{"public.pk", "public.v", "public.measurements", "ghost"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"nope"}, schemas)
	assert.Equal(t, []string{"public.v", "public.ghost"}, missing)
}

func TestParseQualified(t *testing.T) {
	tests := []struct {
		in      string
		want    schema.QualifiedName
		wantErr bool
	}{
		{"t", schema.QualifiedName{Schema: "public", Name: "t"}, false},
		{"s.t", schema.QualifiedName{Schema: "s", Name: "t"}, false},
		{`"a.b"."c"`, schema.QualifiedName{Schema: "a.b", Name: "c"}, false},
		{`"x ""y"""."Z"`, schema.QualifiedName{Schema: `x "y"`, Name: "Z"}, false},
		{`"My Table"`, schema.QualifiedName{Schema: "public", Name: "My Table"}, false},
		{"a.b.c", schema.QualifiedName{}, true},
		{"a.", schema.QualifiedName{}, true},
		{`"open`, schema.QualifiedName{}, true},
		{"", schema.QualifiedName{}, true},
	}
	for _, tt := range tests {
		got, err := schema.ParseQualified(tt.in)
		if tt.wantErr {
			assert.Error(t, err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
}

// TestDiscoverBaseTypesOfArraysAndComposites: a destination has none of the
// source's domains, enums or composite types, so each column must name a
// type the destination has.
func TestDiscoverBaseTypesOfArraysAndComposites(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
		CREATE DOMAIN label AS varchar(20);
		CREATE TYPE pair AS (a int, b text);
		CREATE TABLE public.t (id int PRIMARY KEY, ps posint[], ls label[], p pair, pp pair[], plain int[]);`)
	tables, err := schema.Discover(context.Background(), c.Connect(t, "postgres"), schema.Selection{})
	require.NoError(t, err)
	cols := byName(tables)["public.t"].Columns
	require.Len(t, cols, 6)
	want := map[string]string{"ps": "integer[]", "ls": "character varying(20)[]", "p": "text", "pp": "text[]", "plain": ""}
	for _, col := range cols[1:] {
		assert.Equal(t, want[col.Name], col.BaseType, col.Name)
	}
}

// TestDiscoverIncludeColumns: PostgreSQL requires only an index's key
// columns (the first indnkeyatts of indkey) to be NOT NULL for it to serve
// as replica identity, and only they identify a row; INCLUDE columns are
// payload. The destination key is built from KeyColumns, so an INCLUDE
// column there would make the destination key differ from the source's.
func TestDiscoverIncludeColumns(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `
CREATE TABLE pk_incl (a int, b text, PRIMARY KEY (a) INCLUDE (b));
CREATE TABLE pk_incl2 (a int, b text, c int, d text, PRIMARY KEY (c, a) INCLUDE (d, b));
CREATE TABLE ri_incl (a int NOT NULL, b text);
CREATE UNIQUE INDEX ri_incl_a ON ri_incl (a) INCLUDE (b);
ALTER TABLE ri_incl REPLICA IDENTITY USING INDEX ri_incl_a;
CREATE TABLE cand_incl (a int NOT NULL, b text);
CREATE UNIQUE INDEX cand_incl_a ON cand_incl (a) INCLUDE (b);
CREATE TABLE nullable_key (a int NOT NULL, b text);
CREATE UNIQUE INDEX nullable_key_b ON nullable_key (b) INCLUDE (a); -- key column nullable: unusable`)
	conn := c.Connect(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tests := []struct {
		table     string
		id        schema.Identity
		index     string
		candidate string
		keys      []string
	}{
		{"pk_incl", schema.IdentityPrimaryKey, "pk_incl_pkey", "", []string{"a"}},
		{"pk_incl2", schema.IdentityPrimaryKey, "pk_incl2_pkey", "", []string{"c", "a"}},
		{"ri_incl", schema.IdentityIndex, "ri_incl_a", "", []string{"a"}},
		{"cand_incl", schema.IdentityNone, "", "cand_incl_a", nil},
		{"nullable_key", schema.IdentityNone, "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			tables, err := schema.Discover(ctx, conn, schema.Selection{Tables: []string{tt.table}})
			require.NoError(t, err)
			require.Len(t, tables, 1)
			tb := tables[0]
			assert.Equal(t, tt.id, tb.Identity)
			assert.Equal(t, tt.index, tb.IdentityIndex)
			assert.Equal(t, tt.candidate, tb.CandidateIndex)
			assert.Equal(t, tt.keys, tb.KeyColumns)
			for _, col := range tb.Columns {
				assert.Equal(t, slices.Contains(tt.keys, col.Name), col.Key, col.Name)
			}
		})
	}
}

// TestDiscoverNoColumns: a table without columns cannot be copied (COPY and
// the destination table need at least one column) nor keyed, so discovery
// refuses it by name before a connector is created, instead of letting each
// snapshot attempt fail on it.
func TestDiscoverNoColumns(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `
CREATE TABLE ok (id int PRIMARY KEY);
CREATE TABLE empty ();
CREATE TABLE gone (a int);
ALTER TABLE gone DROP COLUMN a;
CREATE SCHEMA "Odd.Schema";
CREATE TABLE "Odd.Schema"."E" ();`)
	conn := c.Connect(t, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tests := []struct {
		name    string
		sel     schema.Selection
		wantErr []string // substrings of the error; nil: no error
	}{
		{"empty table", schema.Selection{Tables: []string{"empty"}},
			[]string{`"public"."empty"`, "no columns", "--exclude-table public.empty"}},
		{"every column dropped", schema.Selection{Tables: []string{"gone"}},
			[]string{`"public"."gone"`, "no columns"}},
		{"whole schema", schema.Selection{},
			[]string{"2 tables", `"public"."empty"`, `"public"."gone"`, "--exclude-table public.empty"}},
		{"quoted names", schema.Selection{Schemas: []string{"Odd.Schema"}},
			[]string{`"Odd.Schema"."E"`, `--exclude-table '"Odd.Schema"'.E`}},
		{"excluded", schema.Selection{Exclude: []string{"empty", "gone"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tables, err := schema.Discover(ctx, conn, tt.sel)
			if tt.wantErr == nil {
				require.NoError(t, err)
				require.Len(t, tables, 1)
				assert.Equal(t, "public.ok", tables[0].FullName())
				return
			}
			var noCols *schema.NoColumnsError
			require.ErrorAs(t, err, &noCols, "a typed error, so callers can treat it as permanent")
			for _, s := range tt.wantErr {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}
