package shape

import (
	"strconv"
	"strings"
)

// Widens reports whether a column of type from (format_type's spelling,
// with its typmod) can become type to by ALTER COLUMN ... TYPE with every
// value kept exactly: a longer varchar, varchar to text, more numeric
// precision and scale, a larger integer, float4 to float8, more fractional
// seconds. Equal types widen trivially. Anything else (narrowing, a change
// of kind, time zones) is not a widening: the destination never guesses.
func Widens(from, to string) bool {
	if from == to {
		return true
	}
	fa, ta := strings.HasSuffix(from, "[]"), strings.HasSuffix(to, "[]")
	if fa != ta {
		return false
	}
	if fa {
		return Widens(strings.TrimSuffix(from, "[]"), strings.TrimSuffix(to, "[]"))
	}
	f, t := parse(from), parse(to)
	switch f.base {
	case "smallint":
		return t.base == "integer" || t.base == "bigint" || numericHolds(t, 5)
	case "integer":
		return t.base == "bigint" || numericHolds(t, 10)
	case "bigint":
		return numericHolds(t, 19)
	case "real":
		return t.base == "double precision"
	case "character varying":
		switch t.base {
		case "text":
			return true
		case "character varying":
			return !t.hasMod() || (f.hasMod() && t.mod[0] >= f.mod[0])
		}
	case "character":
		return t.base == "character" && f.hasMod() && t.hasMod() && t.mod[0] >= f.mod[0]
	case "numeric":
		if t.base != "numeric" {
			return false
		}
		if !t.hasMod() {
			return true
		}
		if !f.hasMod() {
			return false
		}
		fs, ts := f.scale(), t.scale()
		return ts >= fs && t.mod[0]-ts >= f.mod[0]-fs
	case "bit varying":
		return t.base == "bit varying" && (!t.hasMod() || (f.hasMod() && t.mod[0] >= f.mod[0]))
	case "timestamp without time zone", "timestamp with time zone", "time without time zone", "time with time zone", "interval":
		// No typmod means 6 digits, the most there is.
		return t.base == f.base && (!t.hasMod() || (f.hasMod() && t.mod[0] >= f.mod[0]))
	}
	return false
}

// numericHolds: an integer of digits digits fits t, a numeric.
func numericHolds(t typ, digits int) bool {
	return t.base == "numeric" && (!t.hasMod() || t.mod[0]-t.scale() >= digits)
}

// typ is a format_type spelling taken apart: "timestamp(3) with time zone"
// is base "timestamp with time zone", mod [3].
type typ struct {
	base string
	mod  []int
}

func (t typ) hasMod() bool { return len(t.mod) > 0 }

func (t typ) scale() int {
	if len(t.mod) > 1 {
		return t.mod[1]
	}
	return 0
}

func parse(s string) typ {
	open := strings.IndexByte(s, '(')
	end := strings.IndexByte(s, ')')
	if open < 0 || end < open {
		return typ{base: s}
	}
	var t typ
	for _, a := range strings.Split(s[open+1:end], ",") {
		n, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil {
			return typ{base: s} // not a typmod we know: compared whole
		}
		t.mod = append(t.mod, n)
	}
	t.base = strings.TrimSpace(s[:open] + s[end+1:])
	t.base = strings.Join(strings.Fields(t.base), " ")
	return t
}
