package wal2json

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/ardent-cdc/ardent/internal/sink"
	"github.com/jackc/pglogrepl"
)

// scanner walks one JSON object. Errors carry no input text: messages hold
// row data, which must not leak into logs.
type scanner struct {
	buf []byte
	pos int
	d   *Decoder
}

var errEOF = errors.New("unexpected end of input")

func (s *scanner) ws() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) expect(c byte) error {
	s.ws()
	if s.pos >= len(s.buf) {
		return errEOF
	}
	if s.buf[s.pos] != c {
		return fmt.Errorf("expected %q, found %q", c, s.buf[s.pos])
	}
	s.pos++
	return nil
}

// peek returns the next non-space byte without consuming it.
func (s *scanner) peek() (byte, error) {
	s.ws()
	if s.pos >= len(s.buf) {
		return 0, errEOF
	}
	return s.buf[s.pos], nil
}

// object calls field for each key; field must consume the value.
func (s *scanner) object(field func(key []byte) error) error {
	if err := s.expect('{'); err != nil {
		return err
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	if c == '}' {
		s.pos++
		return nil
	}
	for {
		key, err := s.rawString()
		if err != nil {
			return err
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		c, err := s.peek()
		if err != nil {
			return err
		}
		s.pos++
		switch c {
		case ',':
		case '}':
			return nil
		default:
			return fmt.Errorf("expected ',' or '}', found %q", c)
		}
	}
}

func (s *scanner) message(m *Message) error {
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "action":
			var a []byte
			if a, err = s.rawString(); err == nil {
				if len(a) != 1 {
					return errors.New("action is not one character")
				}
				m.Action = a[0]
			}
		case "xid":
			var n []byte
			if n, err = s.number(); err == nil {
				var x uint64
				x, err = strconv.ParseUint(string(n), 10, 32)
				m.XID = uint32(x)
			}
		case "lsn":
			m.LSN, err = s.lsn()
		case "nextlsn":
			m.NextLSN, err = s.lsn()
		case "timestamp":
			var v sink.Value
			if err = s.value(&v); err == nil && !v.Null {
				m.Timestamp = v.Text
			}
		case "schema":
			m.Change.Schema, err = s.cachedString(&s.d.schemas, 0)
		case "table":
			m.Change.Table, err = s.cachedString(&s.d.tables, 0)
		case "columns":
			m.Change.Columns, err = s.columns(&s.d.columnsLen)
		case "identity":
			m.Change.Identity, err = s.columns(&s.d.identityLen)
		case "pk":
			m.Change.PK, err = s.pk()
		case "transactional":
			var v sink.Value
			if err = s.value(&v); err == nil {
				m.Transactional = v.Text == "true"
			}
		case "prefix":
			m.Prefix, err = s.stringValue()
		case "content":
			m.Content, err = s.stringValue()
		default:
			err = s.skip(0)
		}
		return err
	})
	if err != nil {
		return err
	}
	s.ws()
	if s.pos != len(s.buf) {
		return errors.New("trailing data after object")
	}
	return nil
}

func (s *scanner) lsn() (pglogrepl.LSN, error) {
	b, err := s.rawString()
	if err != nil {
		return 0, err
	}
	var hi, lo uint64
	i := 0
	for ; i < len(b) && b[i] != '/'; i++ {
		h, ok := hexVal(b[i])
		if !ok || i >= 8 {
			return 0, errors.New("malformed LSN")
		}
		hi = hi<<4 | uint64(h)
	}
	if i == 0 || i >= len(b)-1 || len(b)-i-1 > 8 {
		return 0, errors.New("malformed LSN")
	}
	for i++; i < len(b); i++ {
		h, ok := hexVal(b[i])
		if !ok {
			return 0, errors.New("malformed LSN")
		}
		lo = lo<<4 | uint64(h)
	}
	return pglogrepl.LSN(hi<<32 | lo), nil
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// columns reads a column array. The slice is sized by *last, the length
// of the previous array of its kind (consecutive changes mostly touch one
// table), which it then updates: a change keeps its slice until it is
// applied, so an exact size is the memory the stream holds and the
// garbage it leaves.
func (s *scanner) columns(last *int) ([]sink.Value, error) {
	if err := s.expect('['); err != nil {
		return nil, err
	}
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	if c == ']' {
		s.pos++
		return []sink.Value{}, nil
	}
	// All value texts of the array go into one buffer that becomes one
	// string: one allocation per array instead of one per value.
	s.d.vbuf = s.d.vbuf[:0]
	s.d.spans = s.d.spans[:0]
	vals := make([]sink.Value, 0, max(*last, 1))
	for {
		var v sink.Value
		sp := span{start: -1}
		err := s.object(func(key []byte) error {
			var err error
			switch string(key) {
			case "name":
				v.Name, err = s.cachedString(&s.d.names, len(vals))
			case "type":
				v.Type, err = s.cachedString(&s.d.types, len(vals))
			case "value":
				err = s.bufferedValue(&v, &sp)
			case "position":
				v.Pos, err = s.smallInt()
			case "typeoid":
				var n int
				n, err = s.smallInt()
				v.TypeOID = uint32(n)
			case "optional":
				var o sink.Value
				if err = s.value(&o); err == nil {
					v.NotNull = o.Text == "false"
				}
			default:
				err = s.skip(0)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
		s.d.spans = append(s.d.spans, sp)
		c, err := s.peek()
		if err != nil {
			return nil, err
		}
		s.pos++
		switch c {
		case ',':
		case ']':
			*last = len(vals)
			all := string(s.d.vbuf)
			for i, sp := range s.d.spans {
				if sp.start >= 0 {
					vals[i].Text = all[sp.start:sp.end]
					if vals[i].Type == "bytea" {
						vals[i].Text = byteaText(vals[i].Text)
					}
				}
			}
			return vals, nil
		default:
			return nil, fmt.Errorf("expected ',' or ']', found %q", c)
		}
	}
}

type span struct{ start, end int }

// smallInt reads a non-negative JSON integer (an attnum, a type oid).
func (s *scanner) smallInt() (int, error) {
	b, err := s.number()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return 0, errors.New("malformed position or type oid")
	}
	return int(n), nil
}

// pk reads include-pk's array of {"name", "type"} into the key's column
// names. Consecutive changes to one table repeat it: the previous slice is
// returned when the names are the same, so a change costs no allocation.
func (s *scanner) pk() ([]string, error) {
	if err := s.expect('['); err != nil {
		return nil, err
	}
	prev := s.d.pk
	var out []string
	same := true
	n := 0
	c, err := s.peek()
	if err != nil {
		return nil, err
	}
	if c == ']' {
		s.pos++
		if len(prev) == 0 && prev != nil {
			return prev, nil
		}
		s.d.pk = []string{}
		return s.d.pk, nil
	}
	for {
		var name []byte
		err := s.object(func(key []byte) error {
			if string(key) == "name" {
				var err error
				name, err = s.rawString()
				return err
			}
			return s.skip(0)
		})
		if err != nil {
			return nil, err
		}
		if same && (n >= len(prev) || prev[n] != string(name)) {
			same = false
			out = append(out, prev[:min(n, len(prev))]...)
		}
		if !same {
			out = append(out, s.d.str(name))
		}
		n++
		c, err := s.peek()
		if err != nil {
			return nil, err
		}
		s.pos++
		switch c {
		case ',':
		case ']':
			if same && n == len(prev) {
				return prev, nil
			}
			if same {
				out = append(out, prev[:n]...)
			}
			s.d.pk = out
			return out, nil
		default:
			return nil, fmt.Errorf("expected ',' or ']', found %q", c)
		}
	}
}

// byteaText restores the `\x` that wal2json cuts off a scalar bytea (it
// skips the first two characters of byteaout's text, design note 4.9): bare
// hex would otherwise be read as escape-format text. A domain over bytea and
// bytea[] take wal2json's generic path, keep their prefix and are reported
// under another type name, so only the scalar type is touched, and a value
// that already has the prefix is left alone.
func byteaText(v string) string {
	if len(v) >= 2 && v[0] == '\\' && v[1] == 'x' {
		return v
	}
	return `\x` + v
}

// bufferedValue is value for column arrays: strings and numbers are
// appended to s.d.vbuf and located by sp, filled in once the array ends.
func (s *scanner) bufferedValue(v *sink.Value, sp *span) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	var b []byte
	switch {
	case c == '"':
		b, err = s.rawString()
	case c == '-' || ('0' <= c && c <= '9'):
		b, err = s.number()
	default:
		*sp = span{start: -1}
		return s.value(v)
	}
	if err != nil {
		return err
	}
	v.Null = false
	sp.start = len(s.d.vbuf)
	s.d.vbuf = append(s.d.vbuf, b...)
	sp.end = len(s.d.vbuf)
	return nil
}

// value reads a scalar into v's Text/Null. Nested values are rejected: in
// format-version 2 json columns arrive as strings.
func (s *scanner) value(v *sink.Value) error {
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch {
	case c == '"':
		v.Text, err = s.stringValue()
		return err
	case c == 'n':
		v.Null = true
		return s.literal("null")
	case c == 't':
		v.Text = "true"
		return s.literal("true")
	case c == 'f':
		v.Text = "false"
		return s.literal("false")
	case c == '-' || ('0' <= c && c <= '9'):
		n, err := s.number()
		if err != nil {
			return err
		}
		v.Text = string(n)
		return nil
	}
	return fmt.Errorf("unexpected %q at start of value", c)
}

func (s *scanner) literal(lit string) error {
	if len(s.buf)-s.pos < len(lit) || string(s.buf[s.pos:s.pos+len(lit)]) != lit {
		return errors.New("malformed literal")
	}
	s.pos += len(lit)
	return nil
}

// number returns the literal text of a JSON number, validated.
func (s *scanner) number() ([]byte, error) {
	s.ws()
	start := s.pos
	b := s.buf
	i := s.pos
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if digits() == 0 {
		return nil, errors.New("malformed number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, errors.New("malformed number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, errors.New("malformed number")
		}
	}
	s.pos = i
	return b[start:i], nil
}

// cachedString returns the string at position i of the previous message
// when it is the same (the common case: a run of changes to one table), else
// the interned string, and remembers it.
func (s *scanner) cachedString(prev *[]string, i int) (string, error) {
	b, err := s.rawString()
	if err != nil {
		return "", err
	}
	p := *prev
	if i < len(p) && p[i] == string(b) {
		return p[i], nil
	}
	str := s.d.str(b)
	for len(p) <= i {
		p = append(p, "")
	}
	p[i] = str
	*prev = p
	return str, nil
}

func (s *scanner) stringValue() (string, error) {
	b, err := s.rawString()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// skip consumes any JSON value (for fields this decoder does not use).
func (s *scanner) skip(depth int) error {
	if depth > 64 {
		return errors.New("nesting too deep")
	}
	c, err := s.peek()
	if err != nil {
		return err
	}
	switch c {
	case '{':
		return s.object(func([]byte) error { return s.skip(depth + 1) })
	case '[':
		s.pos++
		if c, err := s.peek(); err != nil {
			return err
		} else if c == ']' {
			s.pos++
			return nil
		}
		for {
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			c, err := s.peek()
			if err != nil {
				return err
			}
			s.pos++
			if c == ']' {
				return nil
			}
			if c != ',' {
				return fmt.Errorf("expected ',' or ']', found %q", c)
			}
		}
	case '"':
		_, err := s.rawString()
		return err
	default:
		var v sink.Value
		return s.value(&v)
	}
}
