package snapshot

import (
	"fmt"
	"strings"
)

// typedColumns are (name, type, value expression over i) for a table
// covering the common types; every 7th row is NULL in each nullable column.
var typedColumns = [][3]string{
	{"n", "numeric", "CASE WHEN i = 3 THEN 'NaN'::numeric ELSE i::numeric * 1.5 - 1e20 END"},
	{"n2", "numeric(10,2)", "i * 1.25"},
	{"f8", "float8", "CASE WHEN i = 5 THEN 'Infinity'::float8 ELSE i / 3.0 END"},
	{"f4", "real", "i / 7.0"},
	{"i2", "smallint", "(i % 30000)::smallint"},
	{"b", "boolean", "i % 2 = 0"},
	{"j", "json", `('{ "i" : ' || i || ', "s": "x"}')::json`},
	{"jb", "jsonb", "jsonb_build_object('i', i, 'arr', jsonb_build_array(i, 'a', null))"},
	{"ia", "int[]", "ARRAY[i, i + 1, NULL]::int[]"},
	{"ta", "text[]", `ARRAY['a' || i, 'quo"te', 'com,ma', NULL]`},
	{"by", "bytea", `decode(md5(i::text), 'hex') || '\x00ff'::bytea`},
	{"u", "uuid", "md5(i::text)::uuid"},
	{"ts", "timestamptz", "timestamptz '2020-01-01 00:00:00+00' + i * interval '1 minute 1.123456 sec'"},
	{"tsn", "timestamp", "timestamp '1999-12-31 23:59:59' + i * interval '1 hour'"},
	{"d", "date", "date '2000-01-01' + i"},
	{"tm", "time", "time '00:00' + i * interval '1 second'"},
	{"iv", "interval", "i * interval '1 day 2 hours 3.5 seconds' + interval '1 month'"},
	{"m", "mood", "(enum_range(NULL::mood))[1 + i % 3]"},
	{"pi", "posint", "(1 + i)::posint"},
	{"pr", "price", "(i * 1.255)::price"},
	{"ch", "char(3)", "lpad((i % 1000)::text, 3)"},
	{"vc", "varchar(20)", "'v' || i"},
	{"ip", "inet", "('10.0.' || (i % 256) || '.' || (i % 200))::inet"},
	{"t", "text", `E'tab\there\nnewline back\\slash ' || i`},
}

// enumArray is not binary-portable: its array header carries the enum's OID.
var enumArray = [3]string{"ma", "mood[]", "ARRAY[(enum_range(NULL::mood))[1 + i % 3], 'happy']::mood[]"}

func typedTableSQL(name string, cols [][3]string, rows int) string {
	var defs, names, exprs []string
	for _, c := range cols {
		defs = append(defs, fmt.Sprintf("%s %s", c[0], c[1]))
		names = append(names, c[0])
		exprs = append(exprs, fmt.Sprintf("CASE WHEN i %% 7 = 0 THEN NULL ELSE %s END", c[2]))
	}
	return fmt.Sprintf(`CREATE TABLE %[1]s (id bigint PRIMARY KEY, %[2]s, gen bigint GENERATED ALWAYS AS (id * 2) STORED);
INSERT INTO %[1]s (id, %[3]s) SELECT i, %[4]s FROM generate_series(1, %[5]d) i;
`, name, strings.Join(defs, ", "), strings.Join(names, ", "), strings.Join(exprs, ", "), rows)
}

// fixtureSQL builds the source database of the integration tests.
func fixtureSQL() string {
	var b strings.Builder
	b.WriteString(`
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN price AS numeric(12,2);
`)
	b.WriteString(typedTableSQL("types_bin", typedColumns, 5000))
	b.WriteString(typedTableSQL("types_text", append(append([][3]string{}, typedColumns...), enumArray), 3000))
	b.WriteString(`
CREATE TABLE wide (id int PRIMARY KEY, body text, blob bytea);
INSERT INTO wide
SELECT i, (SELECT string_agg(md5(i::text || g::text), '') FROM generate_series(1, 3000) g),
       (SELECT string_agg(decode(md5(g::text || i::text), 'hex'), '') FROM generate_series(1, 3000) g)
  FROM generate_series(1, 40) i;
INSERT INTO wide VALUES (41, NULL, NULL);

CREATE TABLE empty (id int PRIMARY KEY, v text);

CREATE SCHEMA "MixedCase";
CREATE TABLE "MixedCase"."Quoted ""Table""" ("Id" int PRIMARY KEY, "Value Col" text, "select" int);
INSERT INTO "MixedCase"."Quoted ""Table""" SELECT i, 'v' || i, i FROM generate_series(1, 500) i;

CREATE TABLE busy (id bigint PRIMARY KEY, v int NOT NULL, note text);
INSERT INTO busy SELECT i, i, 'init' FROM generate_series(1, 30000) i;
CREATE SEQUENCE busy_ids START 1000000;

CREATE TABLE parted (id bigint PRIMARY KEY, v int NOT NULL, note text) PARTITION BY RANGE (id);
CREATE TABLE parted_lo PARTITION OF parted FOR VALUES FROM (MINVALUE) TO (1000000);
CREATE TABLE parted_hi PARTITION OF parted FOR VALUES FROM (1000000) TO (MAXVALUE);
INSERT INTO parted SELECT i, i, 'init' FROM generate_series(1, 20000) i;
CREATE SEQUENCE parted_ids START 1000000;
ANALYZE;
`)
	return b.String()
}

// writerSQL is one writer transaction: an insert, an update and a delete
// on both the plain and the partitioned busy tables.
const writerSQL = `
BEGIN;
INSERT INTO busy VALUES (nextval('busy_ids'), 1, 'ins');
UPDATE busy SET v = v + 1, note = 'upd' WHERE id = 1 + floor(random() * 30000)::int;
DELETE FROM busy WHERE id = 1 + floor(random() * 30000)::int;
INSERT INTO parted VALUES (nextval('parted_ids'), 1, 'ins');
UPDATE parted SET v = v + 1, note = 'upd' WHERE id = 1 + floor(random() * 20000)::int;
DELETE FROM parted WHERE id = 1 + floor(random() * 20000)::int;
COMMIT;`
