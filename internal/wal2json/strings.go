package wal2json

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// rawString returns the unescaped string; the slice is valid until the next
// call (it may alias the input or the scratch buffer).
func (s *scanner) rawString() ([]byte, error) {
	if err := s.expect('"'); err != nil {
		return nil, err
	}
	b := s.buf
	start := s.pos
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.pos = i + 1
			return b[start:i], nil
		case c == '\\':
			return s.slowString(start, i)
		case c < 0x20:
			return nil, errors.New("control character in string")
		}
	}
	return nil, errEOF
}

func (s *scanner) slowString(start, i int) ([]byte, error) {
	b := s.buf
	out := append(s.d.tmp[:0], b[start:i]...)
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			s.pos = i + 1
			s.d.tmp = out
			return out, nil
		case c < 0x20:
			return nil, errors.New("control character in string")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(b) {
			return nil, errEOF
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, err := hex4(b[i+1:])
			if err != nil {
				return nil, err
			}
			i += n
			if utf16.IsSurrogate(r) {
				r2, n2, err := hex4Escape(b[i+1:])
				if dec := utf16.DecodeRune(r, r2); err == nil && dec != utf8.RuneError {
					r = dec
					i += n2
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, errors.New("invalid escape")
		}
		i++
	}
	return nil, errEOF
}

func hex4(b []byte) (rune, int, error) {
	if len(b) < 4 {
		return 0, 0, errEOF
	}
	var r rune
	for _, c := range b[:4] {
		h, ok := hexVal(c)
		if !ok {
			return 0, 0, errors.New("invalid \\u escape")
		}
		r = r<<4 | rune(h)
	}
	return r, 4, nil
}

// hex4Escape reads "\uXXXX" (the second half of a surrogate pair).
func hex4Escape(b []byte) (rune, int, error) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, 0, errors.New("lone surrogate")
	}
	r, _, err := hex4(b[2:])
	return r, 6, err
}
