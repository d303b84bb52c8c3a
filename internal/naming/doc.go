// Package naming holds the rules for connector names and the names derived
// from them (workflow ids, the replication slot), so that the CLI, the
// worker and the workflows agree on them and a hostile name is refused
// before it reaches Temporal or PostgreSQL.
package naming
