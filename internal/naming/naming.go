package naming

import (
	"fmt"
	"regexp"
	"strings"
)

// MaxNameLen keeps derived names (slot "ardent_" + name) well inside
// PostgreSQL's 63-byte identifier limit.
const MaxNameLen = 40

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// ValidateName checks a connector name.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("connector name is empty: use lower-case letters, digits, '-' and '_', starting with a letter")
	case len(name) > MaxNameLen:
		return fmt.Errorf("connector name is %d characters long: at most %d allowed", len(name), MaxNameLen)
	case !nameRE.MatchString(name):
		return fmt.Errorf("connector name %q is not allowed: use lower-case letters, digits, '-' and '_', starting with a letter", name)
	}
	return nil
}

// SlotName is the replication slot of a connector. '-' is not allowed in a
// slot name, so it becomes '_'; the catalog keeps slot names unique.
func SlotName(name string) string { return "ardent_" + strings.ReplaceAll(name, "-", "_") }

// BookkeepingSchema is Ardent's schema in the source and the destination.
const BookkeepingSchema = "_ardent"
