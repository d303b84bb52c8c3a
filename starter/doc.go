// Command ardent is the operator's CLI: preflight and SQL generation against
// a source, and the onboarding lifecycle (onboard, status, signal, pause,
// resume, drop, list) through Temporal. Exit codes: 0 success, 1 the thing
// asked for did not pass or failed, 2 a usage error (bad flag, malformed
// URL or name). It never prints a password: URLs are shown redacted.
package main
