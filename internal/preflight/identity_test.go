package preflight_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/preflight"
	"github.com/ardent-cdc/ardent/internal/schema"
)

func TestReplicaIdentity(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `
CREATE TABLE pk (id int PRIMARY KEY);
CREATE TABLE idx (a int NOT NULL);
CREATE UNIQUE INDEX idx_a ON idx (a);
ALTER TABLE idx REPLICA IDENTITY USING INDEX idx_a;
CREATE TABLE cand (a int NOT NULL);
CREATE UNIQUE INDEX "Cand A" ON cand (a);
CREATE TABLE full_t (x int);
ALTER TABLE full_t REPLICA IDENTITY FULL;
CREATE TABLE keyless (x int);
CREATE TABLE wants_full (x int);
CREATE TABLE parted (id int PRIMARY KEY) PARTITION BY HASH (id);
CREATE TABLE parted_0 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE parted_1 PARTITION OF parted FOR VALUES WITH (MODULUS 2, REMAINDER 1);`)
	url := c.URL("postgres")
	rep := run(t, preflight.Options{SourceURL: url, ReplicaIdentityFull: []string{"public.wants_full"}})
	ch := requireStatus(t, rep, preflight.CheckReplicaIdentity, preflight.StatusFail)
	assert.Equal(t, `3 of 8 tables lack a usable replica identity: "public"."cand", "public"."keyless", "public"."wants_full"`, ch.Message)
	want := map[string]preflight.TableReport{
		"pk":         {Schema: "public", Name: "pk", Identity: schema.IdentityPrimaryKey},
		"idx":        {Schema: "public", Name: "idx", Identity: schema.IdentityIndex},
		"cand":       {Schema: "public", Name: "cand", Identity: schema.IdentityNone, Remedy: `ALTER TABLE "public"."cand" REPLICA IDENTITY USING INDEX "Cand A";`},
		"full_t":     {Schema: "public", Name: "full_t", Identity: schema.IdentityFull},
		"keyless":    {Schema: "public", Name: "keyless", Identity: schema.IdentityNone},
		"wants_full": {Schema: "public", Name: "wants_full", Identity: schema.IdentityNone, Remedy: `ALTER TABLE "public"."wants_full" REPLICA IDENTITY FULL;`},
		"parted_0":   {Schema: "public", Name: "parted_0", Identity: schema.IdentityPrimaryKey},
		"parted_1":   {Schema: "public", Name: "parted_1", Identity: schema.IdentityPrimaryKey},
	}
	require.Len(t, rep.Tables, len(want))
	for _, tr := range rep.Tables {
		w := want[tr.Name]
		if tr.Name == "keyless" {
			assert.Contains(t, tr.Remedy, "--exclude-table public.keyless")
			assert.Contains(t, tr.Remedy, "--replica-identity-full public.keyless")
			w.Remedy = tr.Remedy
		}
		assert.Equal(t, w, tr)
	}

	// Apply the remedies and exclude the keyless table: now it passes.
	for _, tr := range rep.Tables {
		if strings.HasPrefix(tr.Remedy, "ALTER TABLE") {
			c.Exec(t, "postgres", tr.Remedy)
		}
	}
	rep = run(t, preflight.Options{SourceURL: url, ReplicaIdentityFull: []string{"public.wants_full"}, ExcludeTables: []string{"keyless"}})
	ch = requireStatus(t, rep, preflight.CheckReplicaIdentity, preflight.StatusPass)
	assert.Equal(t, "all 7 selected tables have a usable replica identity", ch.Message)
}

func TestHostileIdentifiers(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	long := strings.Repeat("é", 31) + "x" // 63 bytes
	c.Exec(t, "postgres", `
CREATE SCHEMA "Select ""Me"" now";
CREATE TABLE "Select ""Me"" now"."Order" ("Key" int NOT NULL, v text);
CREATE UNIQUE INDEX "user" ON "Select ""Me"" now"."Order" ("Key");
CREATE TABLE "Select ""Me"" now"."`+long+`" (id serial PRIMARY KEY);
CREATE ROLE "Ardent Role" LOGIN REPLICATION;
GRANT CREATE ON DATABASE postgres TO "Ardent Role";`)
	sel := schema.Selection{Schemas: []string{`Select "Me" now`}}
	rep := run(t, preflight.Options{SourceURL: c.URL("postgres"), Selection: sel, Role: "Ardent Role"})
	ch := requireStatus(t, rep, preflight.CheckCanReadTables, preflight.StatusFail)
	assert.Contains(t, ch.Message, `no USAGE on schemas "Select ""Me"" now"`)
	ch = requireStatus(t, rep, preflight.CheckReplicaIdentity, preflight.StatusFail)
	require.Len(t, rep.Tables, 2)
	remedy := rep.Tables[0].Remedy
	assert.Equal(t, `ALTER TABLE "Select ""Me"" now"."Order" REPLICA IDENTITY USING INDEX "user";`, remedy)
	c.Exec(t, "postgres", remedy)
	c.Exec(t, "postgres", `GRANT USAGE ON SCHEMA "Select ""Me"" now" TO "Ardent Role";
GRANT SELECT ON ALL TABLES IN SCHEMA "Select ""Me"" now" TO "Ardent Role";
GRANT SELECT ON ALL SEQUENCES IN SCHEMA "Select ""Me"" now" TO "Ardent Role";`)
	rep = run(t, preflight.Options{SourceURL: c.URL("postgres"), Selection: sel, Role: "Ardent Role"})
	requireStatus(t, rep, preflight.CheckCanReadTables, preflight.StatusPass)
	requireStatus(t, rep, preflight.CheckReplicaIdentity, preflight.StatusPass)
	requireStatus(t, rep, preflight.CheckBookkeeping, preflight.StatusPass)
	assert.Equal(t, long, rep.Tables[1].Name)
}

// TestIdentityEdgeCases: keys with INCLUDE columns are identities (only key
// columns must be NOT NULL), and a table without columns, which no snapshot
// can copy, fails replica_identity with its own remedy whatever its
// identity.
func TestIdentityEdgeCases(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `
CREATE TABLE pk_incl (a int, b text, PRIMARY KEY (a) INCLUDE (b));
CREATE TABLE ri_incl (a int NOT NULL, b text);
CREATE UNIQUE INDEX ri_incl_a ON ri_incl (a) INCLUDE (b);
ALTER TABLE ri_incl REPLICA IDENTITY USING INDEX ri_incl_a;
CREATE TABLE cand_incl (a int NOT NULL, b text);
CREATE UNIQUE INDEX cand_incl_a ON cand_incl (a) INCLUDE (b);
CREATE TABLE empty ();
CREATE TABLE empty_full ();
ALTER TABLE empty_full REPLICA IDENTITY FULL;
CREATE TABLE gone (a int PRIMARY KEY);
ALTER TABLE gone DROP COLUMN a;`)
	url := c.URL("postgres")
	conn := c.Connect(t, "postgres")
	noColumns := func(name string) []string {
		return []string{"no columns", "add a column with a primary key", "--exclude-table public." + name}
	}

	tests := []struct {
		table    string
		full     bool // --replica-identity-full for the table
		status   preflight.Status
		message  string
		identity schema.Identity
		remedy   []string // substrings; nil: no remedy
		keys     []string // KeyColumns from schema.Discover
		refused  bool     // schema.Discover refuses the table
	}{
		{table: "pk_incl", status: preflight.StatusPass, message: "all 1 selected tables have a usable replica identity",
			identity: schema.IdentityPrimaryKey, keys: []string{"a"}},
		{table: "ri_incl", status: preflight.StatusPass, message: "all 1 selected tables have a usable replica identity",
			identity: schema.IdentityIndex, keys: []string{"a"}},
		{table: "cand_incl", status: preflight.StatusFail,
			message:  `1 of 1 tables lack a usable replica identity: "public"."cand_incl"`,
			identity: schema.IdentityNone, remedy: []string{`ALTER TABLE "public"."cand_incl" REPLICA IDENTITY USING INDEX "cand_incl_a";`},
		},
		{table: "empty", status: preflight.StatusFail,
			message:  `1 of 1 tables have no columns and cannot be replicated: "public"."empty"`,
			identity: schema.IdentityNone, remedy: noColumns("empty"), refused: true},
		{table: "empty", full: true, status: preflight.StatusFail,
			message:  `1 of 1 tables have no columns and cannot be replicated: "public"."empty"`,
			identity: schema.IdentityNone, remedy: noColumns("empty"), refused: true},
		{table: "empty_full", status: preflight.StatusFail,
			message:  `1 of 1 tables have no columns and cannot be replicated: "public"."empty_full"`,
			identity: schema.IdentityFull, remedy: noColumns("empty_full"), refused: true},
		{table: "gone", status: preflight.StatusFail,
			message:  `1 of 1 tables have no columns and cannot be replicated: "public"."gone"`,
			identity: schema.IdentityNone, remedy: noColumns("gone"), refused: true},
	}
	for _, tt := range tests {
		name := tt.table
		if tt.full {
			name += " chose full"
		}
		t.Run(name, func(t *testing.T) {
			opts := preflight.Options{SourceURL: url, Selection: schema.Selection{Tables: []string{tt.table}}}
			if tt.full {
				opts.ReplicaIdentityFull = []string{tt.table}
			}
			rep := run(t, opts)
			ch := requireStatus(t, rep, preflight.CheckReplicaIdentity, tt.status)
			assert.Equal(t, tt.message, ch.Message)
			if tt.status == preflight.StatusFail {
				assert.False(t, rep.Passed)
			}
			require.Len(t, rep.Tables, 1)
			tr := rep.Tables[0]
			assert.Equal(t, tt.table, tr.Name)
			assert.Equal(t, tt.identity, tr.Identity)
			if tt.remedy == nil {
				assert.Empty(t, tr.Remedy)
			}
			for _, s := range tt.remedy {
				assert.Contains(t, tr.Remedy, s)
			}

			// Connector creation discovers the same selection.
			tables, err := schema.Discover(context.Background(), conn, opts.Selection)
			if tt.refused {
				require.Error(t, err, "discovery must refuse a table without columns")
				assert.Contains(t, err.Error(), `"public".`+strconv.Quote(tt.table))
				return
			}
			require.NoError(t, err)
			require.Len(t, tables, 1)
			assert.Equal(t, tt.keys, tables[0].KeyColumns)
		})
	}

	// The table list of a mixed selection names each failing table, and
	// excluding the column-less ones (as the remedy says) leaves the rest.
	rep := run(t, preflight.Options{SourceURL: url, ExcludeTables: []string{"cand_incl"}})
	ch := requireStatus(t, rep, preflight.CheckReplicaIdentity, preflight.StatusFail)
	assert.Equal(t, `3 of 5 tables have no columns and cannot be replicated: "public"."empty", "public"."empty_full", "public"."gone"`, ch.Message)
	assert.Contains(t, ch.Remedy, "--exclude-table")
	rep = run(t, preflight.Options{SourceURL: url, ExcludeTables: []string{"cand_incl", "empty", "empty_full", "gone"}})
	ch = requireStatus(t, rep, preflight.CheckReplicaIdentity, preflight.StatusPass)
	assert.Equal(t, "all 2 selected tables have a usable replica identity", ch.Message)
}
