// Package pgurl parses and validates the source connection string an
// operator hands to Ardent, and keeps its password out of everything Ardent
// prints.
//
// Invariants: no error, log line or display string built here contains the
// password; Scrub removes a known password and any password-shaped fragment
// (password=..., user:pass@) from arbitrary text such as driver errors, which
// can echo connection strings. The default sslmode is stricter than libpq's
// "prefer": verify-full when a root certificate is configured, require
// otherwise; an explicit sslmode in the URL always wins.
package pgurl
