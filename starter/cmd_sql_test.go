package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

func TestSQLGeneric(t *testing.T) {
	stdout, stderr, code := runSourceCLI(t, "", "sql", "--schema", "Sales", "--role", "cdc", "--egress-ip", "203.0.113.7")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `GRANT USAGE ON SCHEMA "Sales" TO "cdc";`)
	assert.Contains(t, stdout, "Table owners unknown (generated without --source)")
	assert.Contains(t, stdout, "hostssl <database> cdc 203.0.113.7/32 scram-sha-256")

	stdout, _, code = runSourceCLI(t, "", "sql", "--table", "app.orders")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, `GRANT USAGE ON SCHEMA "app" TO "ardent";`)
	assert.NotContains(t, stdout, `SCHEMA "public"`)
}

func TestSQLFromSource(t *testing.T) {
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `CREATE ROLE app; CREATE SCHEMA shop AUTHORIZATION app;
SET ROLE app;
CREATE TABLE shop.items (id int PRIMARY KEY);
CREATE TABLE shop.codes (code text NOT NULL);
CREATE UNIQUE INDEX codes_code ON shop.codes (code);
CREATE TABLE shop.logs (line text);
RESET ROLE;`)
	stdout, stderr, code := runSourceCLI(t, "", "sql", "--source", c.URL("postgres"), "--schema", "shop",
		"--replica-identity-full", "shop.logs")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, `SELECT current_database() = 'postgres' AS ardent_right_database \gset`)
	assert.Contains(t, stdout, `ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "shop" GRANT SELECT ON TABLES TO "ardent";`)
	assert.Contains(t, stdout, `ALTER TABLE "shop"."codes" REPLICA IDENTITY USING INDEX "codes_code";`)
	assert.Contains(t, stdout, `ALTER TABLE "shop"."logs" REPLICA IDENTITY FULL;`)
	assert.NotContains(t, stdout, `"shop"."items" REPLICA`)

	_, stderr, code = runSourceCLI(t, "", "sql", "--source", c.URL("postgres"), "--schema", "Shop")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `schemas ["Shop"]`)

	_, stderr, code = runSourceCLI(t, "", "sql", "--source", "postgres://x:"+cliPassword+"@127.0.0.1:1/postgres")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "connect to 127.0.0.1:1/postgres")
}
