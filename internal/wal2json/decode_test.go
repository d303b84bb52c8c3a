package wal2json

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/sink"
)

func fixture(t testing.TB) [][]byte {
	t.Helper()
	data, err := os.ReadFile("testdata/changes.jsonl")
	require.NoError(t, err)
	var lines [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	require.NoError(t, sc.Err())
	return lines
}

func decodeAll(t *testing.T) []Message {
	d := NewDecoder()
	var out []Message
	for i, l := range fixture(t) {
		var m Message
		require.NoError(t, d.Decode(l, &m), "line %d", i+1)
		out = append(out, m)
	}
	return out
}

func col(vs []sink.Value, name string) (sink.Value, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v, true
		}
	}
	return sink.Value{}, false
}

func TestDecodeFixtureKinds(t *testing.T) {
	msgs := decodeAll(t)
	require.Equal(t, byte(ActionBegin), msgs[0].Action)
	assert.Equal(t, "0/151AA70", msgs[0].NextLSN.String())
	assert.Equal(t, "0/151AA40", msgs[0].LSN.String())
	assert.NotEmpty(t, msgs[0].Timestamp)

	ins := msgs[1].Change
	assert.Equal(t, sink.OpInsert, ins.Op)
	assert.Equal(t, "public", ins.Schema)
	assert.Equal(t, "kinds", ins.Table)
	tests := []struct{ name, text, typ string }{
		{"id", "1", "bigint"},
		{"n", "12345678.125", "numeric(12,3)"},
		{"f", "1.5e+300", "double precision"},
		{"b", "true", "boolean"},
		{"j", `{"a": [1, 2.50, null], "s": "x\"y\\z"}`, "jsonb"},
		{"arr", "{1,NULL,3}", "integer[]"},
		{"tarr", `{"a b","c,d",NULL}`, "text[]"},
		{"by", `\x00ff10`, "bytea"}, // wal2json sends "00ff10": the decoder restores the prefix
		{"u", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "uuid"},
		{"ts", "2024-01-02 03:04:05.123456+00", "timestamp with time zone"},
		{"iv", "1 day 02:03:04", "interval"},
		{"m", "happy", "mood"},
		{"d", "7", "posint"},
		{"t", "tab\there\nnewline \\ back é ☃", "text"},
		{"g", "2", "integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := col(ins.Columns, tt.name)
			require.True(t, ok)
			assert.False(t, v.Null)
			assert.Equal(t, tt.text, v.Text)
			assert.Equal(t, tt.typ, v.Type)
		})
	}
}

func TestDecodeFixtureSemantics(t *testing.T) {
	msgs := decodeAll(t)
	var changes []sink.Change
	var heartbeats, txMessages int
	for _, m := range msgs {
		switch m.Action {
		case ActionInsert, ActionUpdate, ActionDelete, ActionTruncate:
			changes = append(changes, m.Change)
		case ActionMessage:
			if m.Transactional {
				txMessages++
			} else {
				heartbeats++
				assert.Equal(t, "ardent", m.Prefix)
				assert.Equal(t, "heartbeat", m.Content)
			}
		}
	}
	assert.Equal(t, 1, heartbeats)
	assert.Equal(t, 1, txMessages)

	// key change: identity carries the old key.
	var keyChange, toastUpdate, hostile *sink.Change
	var truncates []string
	for i := range changes {
		c := &changes[i]
		switch {
		case c.Op == sink.OpUpdate && c.Table == "kinds" && len(c.Identity) == 1 && c.Identity[0].Text == "2":
			keyChange = c
		case c.Op == sink.OpUpdate && c.Table == "toast":
			toastUpdate = c
		case c.Table == `Hostile, "name".x` && c.Op == sink.OpInsert:
			hostile = c
		case c.Op == sink.OpTruncate:
			truncates = append(truncates, c.Table)
		}
	}
	require.NotNil(t, keyChange)
	v, _ := col(keyChange.Columns, "id")
	assert.Equal(t, "3", v.Text)

	require.NotNil(t, toastUpdate, "unchanged TOAST update")
	_, present := col(toastUpdate.Columns, "big")
	assert.False(t, present, "an unchanged TOAST column must stay absent")

	require.NotNil(t, hostile)
	assert.Equal(t, `we"ird col`, hostile.Columns[0].Name)
	assert.Equal(t, "a b", hostile.Columns[1].Name)

	assert.Equal(t, []string{"comp", "toast"}, truncates)
}

func TestDecodeNulls(t *testing.T) {
	msgs := decodeAll(t)
	ins := msgs[4].Change // INSERT INTO kinds (id) VALUES (2)
	require.Equal(t, sink.OpInsert, ins.Op)
	v, _ := col(ins.Columns, "t")
	assert.True(t, v.Null)
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not object", "[]"},
		{"no action", `{"lsn":"0/1"}`},
		{"unknown action", `{"action":"X"}`},
		{"bad lsn", `{"action":"B","lsn":"zz"}`},
		{"bad lsn no slash", `{"action":"B","lsn":"12"}`},
		{"truncated", `{"action":"I","columns":[{"name":"a","value":1`},
		{"trailing", `{"action":"B"} x`},
		{"bad number", `{"action":"I","columns":[{"name":"a","value":1.}]}`},
		{"bad escape", `{"action":"I","columns":[{"name":"a","value":"\q"}]}`},
		{"nested value", `{"action":"I","columns":[{"name":"a","value":{}}]}`},
	}
	d := NewDecoder()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			err := d.Decode([]byte(tt.in), &m)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrSyntax)
		})
	}
}

func TestDecodeEscapes(t *testing.T) {
	d := NewDecoder()
	var m Message
	in := `{"action":"I","schema":"s","table":"t","columns":[{"name":"a","type":"text","value":"\u00e9\ud83d\ude00\/\b\f\r\"x"},{"name":"b","type":"int","value":-12.5E-3},{"name":"c","type":"bool","value":false}],"extra":{"x":[1,{"y":null}]}}`
	require.NoError(t, d.Decode([]byte(in), &m))
	assert.Equal(t, "é😀/\b\f\r\"x", m.Change.Columns[0].Text)
	assert.Equal(t, "-12.5E-3", m.Change.Columns[1].Text)
	assert.Equal(t, "false", m.Change.Columns[2].Text)
}

// The decoder agrees with encoding/json on every string and number it accepts.
func FuzzDecode(f *testing.F) {
	for _, l := range fixture(f) {
		f.Add(l)
	}
	f.Add([]byte(`{"action":"I","columns":[{"name":"a","value":"\ud800"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder()
		var m Message
		if err := d.Decode(data, &m); err != nil {
			return
		}
		// Maps, not structs: encoding/json matches struct fields without
		// regard to case, the decoder (like wal2json) is exact.
		var top map[string]json.RawMessage
		if json.Unmarshal(data, &top) != nil {
			return // duplicate or odd fields: encoding/json is not the reference there
		}
		var cols []map[string]json.RawMessage
		if raw, ok := top["columns"]; !ok || json.Unmarshal(raw, &cols) != nil {
			return
		}
		if len(cols) != len(m.Change.Columns) {
			return
		}
		type refCol struct{ Value json.RawMessage }
		var ref struct{ Columns []refCol }
		for _, c := range cols {
			ref.Columns = append(ref.Columns, refCol{Value: c["value"]})
		}
		for i, rc := range ref.Columns {
			got := m.Change.Columns[i]
			raw := strings.TrimSpace(string(rc.Value))
			switch {
			case raw == "" || raw == "null":
				continue
			case raw[0] == '"':
				var s string
				require.NoError(t, json.Unmarshal(rc.Value, &s))
				if got.Type == "bytea" {
					s = byteaText(s)
				}
				if utf8Valid(s) {
					assert.Equal(t, s, got.Text)
				}
			default:
				assert.Equal(t, raw, got.Text)
			}
		}
	})
}

func utf8Valid(s string) bool { return !strings.ContainsRune(s, '\uFFFD') }

func BenchmarkDecode(b *testing.B) {
	lines := fixture(b)
	// A typical insert: the first I line of the fixture.
	var ins []byte
	for _, l := range lines {
		if bytes.Contains(l, []byte(`"action":"I"`)) {
			ins = l
			break
		}
	}
	d := NewDecoder()
	var m Message
	b.SetBytes(int64(len(ins)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(ins, &m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeSmallRow(b *testing.B) {
	row := []byte(`{"action":"I","lsn":"0/1A2B3C4","schema":"public","table":"bench","columns":[{"name":"id","type":"bigint","value":123456},{"name":"v","type":"integer","value":42},{"name":"t","type":"text","value":"some payload text here"}]}`)
	d := NewDecoder()
	var m Message
	b.SetBytes(int64(len(row)))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(row, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeShapes: what the shape fields cost the decoder on the
// bench's row (make bench's streaming table), plain, with the positions
// and NOT NULL the stream asks for, and with type oids and primary keys too.
func BenchmarkDecodeShapes(b *testing.B) {
	for _, tc := range []struct{ name, row string }{
		{"plain", `{"action":"I","lsn":"0/1A2B3C4","schema":"public","table":"bench","columns":[{"name":"id","type":"integer","value":123456},{"name":"v","type":"integer","value":42},{"name":"t","type":"text","value":"0b2c9f3b1b8e4f7e8d5c2a1f0e9d8c7b"}]}`},
		{"positions_notnull", `{"action":"I","lsn":"0/1A2B3C4","schema":"public","table":"bench","columns":[{"name":"id","type":"integer","value":123456,"optional":false,"position":1},{"name":"v","type":"integer","value":42,"optional":false,"position":2},{"name":"t","type":"text","value":"0b2c9f3b1b8e4f7e8d5c2a1f0e9d8c7b","optional":false,"position":3}]}`},
		{"all_four", `{"action":"I","lsn":"0/1A2B3C4","schema":"public","table":"bench","columns":[{"name":"id","type":"integer","typeoid":23,"value":123456,"optional":false,"position":1},{"name":"v","type":"integer","typeoid":23,"value":42,"optional":false,"position":2},{"name":"t","type":"text","typeoid":25,"value":"0b2c9f3b1b8e4f7e8d5c2a1f0e9d8c7b","optional":false,"position":3}],"pk":[{"name":"id","type":"integer","typeoid":23}]}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			row := []byte(tc.row)
			d := NewDecoder()
			var m Message
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Decode(row, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestDecodeShapeFields: the shape of each change (include-column-positions,
// include-type-oids, include-not-null, include-pk), as wal2json 2.5 prints it.
func TestDecodeShapeFields(t *testing.T) {
	d := NewDecoder()
	var m Message
	in := `{"action":"I","schema":"public","table":"t","columns":[{"name":"id","type":"integer","typeoid":23,"value":2,"optional":false,"position":1},{"name":"v","type":"text","typeoid":25,"value":"b","optional":true,"position":3}],"pk":[{"name":"id","type":"integer","typeoid":23}]}`
	require.NoError(t, d.Decode([]byte(in), &m))
	c := m.Change
	require.Len(t, c.Columns, 2)
	assert.Equal(t, sink.Value{Name: "id", Type: "integer", Text: "2", Pos: 1, TypeOID: 23, NotNull: true}, c.Columns[0])
	assert.Equal(t, sink.Value{Name: "v", Type: "text", Text: "b", Pos: 3, TypeOID: 25}, c.Columns[1])
	assert.Equal(t, []string{"id"}, c.PK)

	// The next change to the table shares the key's slice; another key,
	// or none, does not.
	var m2 Message
	require.NoError(t, d.Decode([]byte(`{"action":"D","schema":"public","table":"t","identity":[{"name":"id","type":"integer","typeoid":23,"value":2}],"pk":[{"name":"id","type":"integer","typeoid":23}]}`), &m2))
	assert.Equal(t, []string{"id"}, m2.Change.PK)
	require.NoError(t, d.Decode([]byte(`{"action":"D","schema":"public","table":"t","identity":[{"name":"a","value":1}],"pk":[{"name":"a","type":"integer"},{"name":"b","type":"text"}]}`), &m2))
	assert.Equal(t, []string{"a", "b"}, m2.Change.PK)
	assert.Equal(t, []string{"id"}, c.PK, "an earlier change's key is never overwritten")
	require.NoError(t, d.Decode([]byte(`{"action":"D","schema":"public","table":"t","identity":[{"name":"a","value":1}],"pk":[]}`), &m2))
	assert.NotNil(t, m2.Change.PK)
	assert.Empty(t, m2.Change.PK)
	require.NoError(t, d.Decode([]byte(`{"action":"D","schema":"public","table":"t","identity":[{"name":"a","value":1}]}`), &m2))
	assert.Nil(t, m2.Change.PK, "no pk field: not known")
	for _, bad := range []string{`"pk":[{"name":1}]`, `"pk":[{"name":"a"}`, `"columns":[{"name":"a","position":-1}]`, `"columns":[{"name":"a","typeoid":"x"}]`} {
		assert.Error(t, d.Decode([]byte(`{"action":"D","schema":"public","table":"t",`+bad+`}`), &m2), bad)
	}
}

// TestDecodeSizesColumnArrays: a change's column slice is as long as the
// previous change's of its kind, and a longer or shorter one still decodes
// whole, each change with a slice of its own.
func TestDecodeSizesColumnArrays(t *testing.T) {
	d := NewDecoder()
	three := []byte(`{"action":"U","schema":"public","table":"a","columns":[{"name":"id","type":"bigint","value":1},{"name":"v","type":"integer","value":2},{"name":"t","type":"text","value":"x"}],"identity":[{"name":"id","type":"bigint","value":1}]}`)
	five := []byte(`{"action":"I","schema":"public","table":"b","columns":[{"name":"a","type":"integer","value":1},{"name":"b","type":"integer","value":2},{"name":"c","type":"integer","value":3},{"name":"d","type":"integer","value":4},{"name":"e","type":"integer","value":5}]}`)
	var first, second, third, fourth Message
	require.NoError(t, d.Decode(three, &first))
	require.NoError(t, d.Decode(three, &second))
	assert.Equal(t, 3, cap(second.Change.Columns), "sized by the previous change")
	assert.Equal(t, 1, cap(second.Change.Identity), "identity sized by the previous identity")
	require.NoError(t, d.Decode(five, &third))
	require.Len(t, third.Change.Columns, 5)
	assert.Equal(t, "5", third.Change.Columns[4].Text)
	require.NoError(t, d.Decode(three, &fourth))
	require.Len(t, fourth.Change.Columns, 3)
	assert.Equal(t, "x", fourth.Change.Columns[2].Text)
	assert.Equal(t, "x", first.Change.Columns[2].Text, "an earlier change keeps its values")
	assert.Equal(t, "1", third.Change.Columns[0].Text)
}
