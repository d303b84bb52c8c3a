package main

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
)

const tablesPassword = "Tables-pw-5e3a"

// TestCheckAddSource: `tables add` refuses, on the real source catalog, a
// table that does not exist (with its differently-cased namesake), is not
// a table, has no usable replica identity (naming the statement), no
// columns, is unlogged, or that the connector's role cannot read (naming
// the GRANT), partitions included; it accepts replicable tables, and never
// prints the password.
func TestCheckAddSource(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{PasswordAuth: true})
	c.CreateDatabase(t, "app")
	c.Exec(t, "postgres", `CREATE ROLE ardent LOGIN PASSWORD '`+tablesPassword+`'`)
	c.Exec(t, "app", `
CREATE TABLE ok (id int PRIMARY KEY);
CREATE TABLE "Orders" (id int PRIMARY KEY);
CREATE TABLE logs (msg text);
CREATE TABLE cand (id int NOT NULL, note text);
CREATE UNIQUE INDEX cand_id ON cand (id);
CREATE TABLE secret (id int PRIMARY KEY);
CREATE VIEW v AS SELECT 1 AS one;
CREATE UNLOGGED TABLE u (id int PRIMARY KEY);
CREATE TABLE empty ();
CREATE TABLE p (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE TABLE q (id int) PARTITION BY LIST (id);
CREATE TABLE q1 PARTITION OF q FOR VALUES IN (1);
CREATE TABLE q2 PARTITION OF q FOR VALUES IN (2);
CREATE TABLE q3 PARTITION OF q FOR VALUES IN (3);
CREATE TABLE q4 PARTITION OF q FOR VALUES IN (4);
CREATE TABLE r (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE r1 PARTITION OF r FOR VALUES FROM (0) TO (10);
CREATE SCHEMA hidden;
CREATE TABLE hidden.t (id int PRIMARY KEY);
GRANT SELECT ON ok, "Orders", logs, cand, v, u, empty, p, q, q1, q2, q3, q4, r, r1, hidden.t TO ardent;`)
	src, err := pgurl.ParseSource(c.URLFor("ardent", tablesPassword, "app"))
	require.NoError(t, err)
	where := net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) + "/app"
	ctx := context.Background()
	check := func(t *testing.T, names ...string) string {
		t.Helper()
		q, err := parseTables(names, "")
		require.NoError(t, err)
		err = checkAddSource(ctx, src, "shop", q)
		if err == nil {
			return ""
		}
		var ee *exitError
		require.ErrorAs(t, err, &ee)
		require.Equal(t, 1, ee.code, ee.Error())
		require.NotContains(t, ee.Error(), tablesPassword)
		return ee.Error()
	}

	require.Empty(t, check(t, "ok", "public.Orders", "public.ok"))
	require.Empty(t, check(t, "public.r"), "a partitioned table whose partitions are readable and keyed")

	for _, tt := range []struct {
		table string
		want  []string
	}{
		{"public.nope", []string{"public.nope: not found on " + where + " (names are case-sensitive)"}},
		{"public.orders", []string{"public.orders: not found on " + where + " (names are case-sensitive; did you mean public.Orders?)"}},
		{"public.v", []string{"public.v: is a view on " + where + ", not a table"}},
		{"public.logs", []string{"public.logs: no usable replica identity",
			"→ add a primary key, or ALTER TABLE \"public\".\"logs\" REPLICA IDENTITY FULL;"}},
		{"public.cand", []string{"public.cand: no usable replica identity",
			"→ ALTER TABLE \"public\".\"cand\" REPLICA IDENTITY USING INDEX \"cand_id\"; (its unique NOT NULL index becomes the identity)"}},
		{"public.secret", []string{"public.secret: role ardent may not read it", "→ GRANT SELECT ON public.secret TO \"ardent\";"}},
		{"public.u", []string{"public.u: UNLOGGED", "→ ALTER TABLE public.u SET LOGGED;"}},
		{"public.empty", []string{"public.empty: no columns"}},
		{"public.p", []string{"public.p: partition public.p1: role ardent may not read it", "→ GRANT SELECT ON public.p1 TO \"ardent\";"}},
		{"public.p1", []string{"public.p1: role ardent may not read it"}},
		{"public.q", []string{"public.q: partition \"public\".\"q1\": no usable replica identity", "partition \"public\".\"q3\"",
			"… and 1 more partitions without a usable replica identity"}},
		{"hidden.t", []string{"hidden.t: role ardent has no USAGE on schema hidden", "→ GRANT USAGE ON SCHEMA hidden TO \"ardent\";"}},
	} {
		t.Run(tt.table, func(t *testing.T) {
			msg := check(t, "public.ok", tt.table)
			require.Contains(t, msg, "cannot add 1 table to connector shop:\n")
			require.Contains(t, msg, "\nnothing was sent")
			require.NotContains(t, msg, "public.ok")
			for _, w := range tt.want {
				require.Contains(t, msg, w)
			}
		})
	}
	msg := check(t, "public.nope", "public.logs", "public.ok")
	require.Contains(t, msg, "cannot add 2 tables to connector shop:\n  public.nope: not found")
	require.Contains(t, msg, "\n  public.logs: no usable")

	// A password the source refuses: said so, never shown.
	wrong, err := pgurl.ParseSource(c.URLFor("ardent", "Wrong-"+tablesPassword, "app"))
	require.NoError(t, err)
	err = checkAddSource(ctx, wrong, "shop", []schema.QualifiedName{{Schema: "public", Name: "ok"}})
	require.ErrorContains(t, err, "password authentication failed for ardent@"+where)
	require.NotContains(t, err.Error(), tablesPassword)
}
