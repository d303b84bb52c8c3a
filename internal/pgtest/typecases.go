package pgtest

import (
	"math"
	"strings"
)

// The type cases are shared by every test that must hold for each column
// type the destination reproduces (the row digest, verify): one list, so a
// type added here is covered everywhere.

// TypeCase is one column of the type-test table: its values in rows
// k=1..3 and a new value for row k=2 that differs by one byte or one unit.
type TypeCase struct {
	Name, Type string
	Vals       [3]string // SQL literals
	Changed    string    // SQL expression for row 2 in the copy
	Args       []any     // parameters of Changed
}

// TypeCases has every type the destination must reproduce, and columns named
// t, s and r: the aliases the old helper and the digest query use.
var TypeCases = []TypeCase{
	{"k", "bigint", [3]string{"1", "2", "3"}, "3", nil},
	{"t", "text", [3]string{"'alpha'", "'bravo'", "'charlie'"}, "'bravp'", nil},
	{"s", "int", [3]string{"41", "42", "NULL"}, "43", nil},
	{"r", "bytea", [3]string{`'\x00'`, `'\xdeadbeef'`, `'\x'`}, `'\xdeadbeee'`, nil},
	{"c_bigint", "bigint", [3]string{"9223372036854775807", "-5", "0"}, "-4", nil},
	{"c_int", "int", [3]string{"-2147483648", "0", "2147483647"}, "1", nil},
	{"c_smallint", "smallint", [3]string{"-1", "7", "32767"}, "8", nil},
	{"c_numeric", "numeric", [3]string{"0", "12345678901234567890.0001", "-0.5"}, "12345678901234567890.0002", nil},
	// Equal under =, printed differently: a copy that lost the scale is not the same data.
	{"c_numeric_scale", "numeric", [3]string{"2.5", "1.0", "NULL"}, "1.00", nil},
	{"c_real", "real", [3]string{"0.1", "1.5", "-3.25"}, "$1", []any{math.Nextafter32(1.5, 2)}},
	{"c_double", "double precision", [3]string{"0.1", "2.5", "-1e300"}, "$1", []any{math.Nextafter(2.5, 3)}},
	{"c_text", "text", [3]string{"'x'", "'quote\" comma, paren)'", "'é'"}, "'quote\" comma, paren('", nil},
	{"c_text_null", "text", [3]string{"'x'", "NULL", "''"}, "''", nil},
	{"c_varchar", "varchar(20)", [3]string{"'v1'", "'v2'", "'v3'"}, "'v9'", nil},
	{"c_char", "char(5)", [3]string{"'abcde'", "'fghij'", "'k'"}, "'fghik'", nil},
	{"c_bytea", "bytea", [3]string{`'\x00ff10'`, `'\x5c0a00'`, "NULL"}, `'\x5c0a01'`, nil},
	{"c_bool", "boolean", [3]string{"true", "false", "NULL"}, "true", nil},
	{"c_date", "date", [3]string{"'2024-02-29'", "'1999-12-31'", "'0044-03-15 BC'"}, "'1999-12-30'", nil},
	{"c_time", "time", [3]string{"'00:00'", "'12:34:56.789012'", "'23:59:59.999999'"}, "'12:34:56.789013'", nil},
	{"c_timetz", "timetz", [3]string{"'00:00+00'", "'12:34:56.5+05:30'", "'23:59-08'"}, "'12:34:56.5+05:31'", nil},
	{"c_timestamp", "timestamp", [3]string{"'2024-06-01 00:00'", "'2024-06-01 12:00:00.5'", "'infinity'"}, "'2024-06-01 12:00:00.500001'", nil},
	{"c_timestamptz", "timestamptz", [3]string{"'2024-06-01 00:00+00'", "'2024-06-01 12:00:00+02'", "'-infinity'"}, "'2024-06-01 12:00:00.000001+02'", nil},
	{"c_interval", "interval", [3]string{"'0'", "'1 year 2 mons 3 days 04:05:06.789'", "'-1 day'"}, "'1 year 2 mons 3 days 04:05:06.789001'", nil},
	{"c_uuid", "uuid", [3]string{"'00000000-0000-0000-0000-000000000000'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "NULL"}, "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'", nil},
	// Whitespace is part of a json value's text; a copy that reformats it is not the same data.
	{"c_json", "json", [3]string{`'{"a": [1, 2]}'`, `'{"b": "x"}'`, `'[]'`}, `'{"b":"x"}'`, nil},
	{"c_jsonb", "jsonb", [3]string{`'{"a": 1}'`, `'{"a": 2, "b": [true]}'`, `'null'`}, `'{"a": 3, "b": [true]}'`, nil},
	{"c_inet", "inet", [3]string{"'192.168.0.1/24'", "'::1'", "'10.0.0.1'"}, "'::2'", nil},
	{"c_cidr", "cidr", [3]string{"'10.0.0.0/8'", "'192.168.1.0/24'", "'::/0'"}, "'192.168.3.0/24'", nil},
	{"c_macaddr", "macaddr", [3]string{"'08:00:2b:01:02:03'", "'00:00:00:00:00:00'", "'ff:ff:ff:ff:ff:ff'"}, "'00:00:00:00:00:01'", nil},
	{"c_bit", "bit(8)", [3]string{"B'00000000'", "B'10101010'", "B'11111111'"}, "B'10101011'", nil},
	{"c_varbit", "varbit", [3]string{"B''", "B'101'", "B'1'"}, "B'100'", nil},
	{"c_int_arr", "int[]", [3]string{"'{}'", "'{1,2,3}'", "'{NULL}'"}, "'{1,2,4}'", nil},
	{"c_text_arr", "text[]", [3]string{"'{a}'", `'{"a b",NULL,"c,d"}'`, "NULL"}, `'{"a c",NULL,"c,d"}'`, nil},
	{"c_bytea_arr", "bytea[]", [3]string{`ARRAY['\x01'::bytea]`, `ARRAY['\x01'::bytea, '\x02']`, "'{}'"}, `ARRAY['\x01'::bytea, '\x03']`, nil},
	{"c_point", "point", [3]string{"'(0,0)'", "'(1.5,2.5)'", "'(-1,1e10)'"}, "'(1.5,3.5)'", nil},
	{"c_enum", "mood", [3]string{"'sad'", "'ok'", "'happy'"}, "'happy'", nil},
	{"c_domain", "blob", [3]string{`'\xcafe'`, `'\xcafe'`, "NULL"}, `'\xcaff'`, nil},
	{"c_tsvector", "tsvector", [3]string{"'a fat cat'", "'sat on a mat'", "''"}, "'sat on a map'", nil},
	{"c_money", "money", [3]string{"0", "12.34", "-1000000"}, "12.35", nil},
}

// TypeCasesSQL creates the types (enum mood, domain blob) and the table
// with one column per TypeCase, keyed by k, with three rows.
func TypeCasesSQL(table string) string {
	var defs []string
	for _, c := range TypeCases {
		defs = append(defs, c.Name+" "+c.Type)
	}
	var rows []string
	for i := range 3 {
		var vals []string
		for _, c := range TypeCases {
			vals = append(vals, c.Vals[i])
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	return "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');\n" +
		"CREATE DOMAIN blob AS bytea;\n" +
		"CREATE TABLE " + table + " (" + strings.Join(defs, ", ") + ");\n" +
		"INSERT INTO " + table + " VALUES " + strings.Join(rows, ",\n") + ";\n"
}
