package secrets

import (
	"fmt"
	"log/slog"
)

// Secret is a string that must never be printed: a connection string with
// its password, a token. fmt and slog print a placeholder; code that needs
// the value converts explicitly with Reveal, which is easy to grep for.
//
// It deliberately does not change JSON encoding: values that cross Temporal
// are protected by the payload codec and must arrive intact.
type Secret string

const redacted = "[redacted]"

// Reveal returns the value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return redacted }

// Format covers every verb, including %q, %x and %s on the value.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }
