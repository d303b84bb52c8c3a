package wal2json

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/pgtest"
)

// TestRecordFixtures re-records testdata/*.jsonl from a real cluster when
// ARDENT_RECORD=1. The decoder tests read the committed recordings.
func TestRecordFixtures(t *testing.T) {
	if os.Getenv("ARDENT_RECORD") != "1" {
		t.Skip("set ARDENT_RECORD=1 to re-record fixtures")
	}
	c := pgtest.Start(t, pgtest.Options{})
	c.Exec(t, "postgres", `
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE public.kinds (
  id bigint PRIMARY KEY, n numeric(12,3), f float8, b boolean, j jsonb, js json, arr int[], tarr text[],
  by bytea, u uuid, ts timestamptz, iv interval, m mood, d posint, t text, g int GENERATED ALWAYS AS (id * 2) STORED);
CREATE TABLE public."Hostile, ""name"".x" ("we""ird col" int PRIMARY KEY, "a b" text);
CREATE TABLE public.full_t (a int, b text);
ALTER TABLE public.full_t REPLICA IDENTITY FULL;
CREATE TABLE public.comp (a int, b text, v text, PRIMARY KEY (a, b));
CREATE TABLE public.toast (id int PRIMARY KEY, big text, other int);
ALTER TABLE public.toast ALTER big SET STORAGE EXTERNAL;`)
	c.Exec(t, "postgres", `SELECT pg_create_logical_replication_slot('rec', 'wal2json')`)
	for _, stmt := range strings.Split(`
INSERT INTO kinds VALUES (1, 12345678.125, 1.5e300, true, '{"a": [1, 2.50, null], "s": "x\"y\\z"}', '{"k" : 1}', '{1,NULL,3}', '{"a b","c,d",NULL}', '\x00ff10', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-01-02 03:04:05.123456+00', '1 day 02:03:04', 'happy', 7, E'tab\there\nnewline \\ back \u00e9 \u2603');
INSERT INTO kinds (id) VALUES (2);
UPDATE kinds SET t = 'changed', f = 'NaN' WHERE id = 1;
UPDATE kinds SET id = 3 WHERE id = 2;
DELETE FROM kinds WHERE id = 3;
INSERT INTO "Hostile, ""name"".x" VALUES (1, 'x');
UPDATE "Hostile, ""name"".x" SET "a b" = NULL;
INSERT INTO full_t VALUES (1, 'one'), (1, 'one');
UPDATE full_t SET b = 'uno' WHERE a = 1;
DELETE FROM full_t;
INSERT INTO comp VALUES (1, 'x', 'v');
UPDATE comp SET b = 'y' WHERE a = 1;
DELETE FROM comp;
INSERT INTO toast SELECT 1, string_agg(md5(i::text), ''), 0 FROM generate_series(1, 200) i;
UPDATE toast SET other = 1;
TRUNCATE comp, toast;
SELECT pg_logical_emit_message(false, 'ardent', 'heartbeat');
BEGIN; SELECT pg_logical_emit_message(true, 'ardent', 'in tx'); INSERT INTO comp VALUES (2, 'z', NULL); COMMIT;
SET synchronous_commit = on; CREATE TABLE flush_wal()`, ";\n") {
		c.Exec(t, "postgres", stmt)
	}
	conn := c.Connect(t, "postgres")
	rows, err := conn.Query(context.Background(), `SELECT data FROM pg_logical_slot_get_changes('rec', NULL, NULL,
		'format-version', '2', 'include-transaction', 'true', 'include-lsn', 'true', 'include-types', 'true',
		'include-timestamp', 'true')`)
	require.NoError(t, err)
	var lines []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		lines = append(lines, s)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, os.WriteFile("testdata/changes.jsonl", []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}
