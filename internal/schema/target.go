package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Target says which destination schema a source schema's tables are
// written to, so many sources can share one warehouse database without
// their tables colliding (two sources with a public.orders each):
//
//   - "" (the default): the same schema as on the source;
//   - "NAME": every table into schema NAME;
//   - "PREFIX*": each source schema S into PREFIX followed by S
//     (shop_* maps public to shop_public).
//
// Table names are never changed, so a table keeps its name on both sides.
type Target string

// maxIdentifier is PostgreSQL's NAMEDATALEN-1: a longer name is silently
// truncated by the server, so two different schemas could end up as one.
const maxIdentifier = 63

// ParseTarget checks a --target-schema value.
func ParseTarget(s string) (Target, error) {
	if s == "" {
		return "", nil
	}
	if strings.TrimSpace(s) == "" {
		return "", errors.New("target schema is blank")
	}
	if strings.ContainsRune(s, 0) {
		return "", errors.New("target schema contains a NUL character")
	}
	body := strings.TrimSuffix(s, "*")
	if strings.Contains(body, "*") {
		return "", fmt.Errorf("target schema %q: '*' may only end a prefix (e.g. shop_*)", s)
	}
	if body == "" {
		return "", fmt.Errorf("target schema %q: a prefix needs at least one character before '*'", s)
	}
	if len(body) > maxIdentifier {
		return "", fmt.Errorf("target schema %q: longer than %d bytes", s, maxIdentifier)
	}
	if strings.HasPrefix(strings.ToLower(body), "pg_") || body == "_ardent" || body == "information_schema" {
		return "", fmt.Errorf("target schema %q: reserved (pg_*, information_schema and _ardent cannot hold replicated tables)", s)
	}
	return Target(s), nil
}

// Prefix reports whether the target maps each schema under a prefix.
func (t Target) Prefix() bool { return strings.HasSuffix(string(t), "*") }

// Schema returns the destination schema of the source schema src.
func (t Target) Schema(src string) string {
	switch {
	case t == "":
		return src
	case t.Prefix():
		return strings.TrimSuffix(string(t), "*") + src
	default:
		return string(t)
	}
}

// Table returns the destination table of the source table src: the same
// table with its schema mapped. Parent (a partition's root) is mapped too.
func (t Target) Table(src Table) Table {
	if t == "" {
		return src
	}
	out := src
	out.Schema = t.Schema(src.Schema)
	if src.Parent != "" {
		if q, err := ParseQualified(src.Parent); err == nil {
			out.Parent = Table{Schema: t.Schema(q.Schema), Name: q.Name}.FullName()
		}
	}
	return out
}

// Check refuses a mapping of tables that would write two source tables
// into one destination table (two schemas into one NAME with a table name
// in common) or exceed PostgreSQL's identifier length with a prefix.
func (t Target) Check(tables []Table) error {
	if t == "" {
		return nil
	}
	seen := map[string]string{}
	for _, src := range tables {
		dst := t.Schema(src.Schema)
		if len(dst) > maxIdentifier {
			return fmt.Errorf("target schema %q maps schema %q to %q, longer than PostgreSQL's %d bytes: choose a shorter prefix", string(t), src.Schema, dst, maxIdentifier)
		}
		d := Table{Schema: dst, Name: src.Name}.FullName()
		if other, ok := seen[d]; ok && other != src.FullName() {
			return fmt.Errorf("target schema %q maps both %s and %s to %s: use a prefix (e.g. --target-schema %s_*) or exclude one", string(t), other, src.FullName(), d, strings.TrimSuffix(string(t), "*"))
		}
		seen[d] = src.FullName()
	}
	return nil
}
