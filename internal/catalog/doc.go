// Package catalog is Ardent's own PostgreSQL database (ARDENT_CATALOG_URL):
// one row per connector with its source identity, its selection, its
// discovered schema and its sealed credentials.
//
// The discovered schema of a large database is too big for Temporal
// payloads, so workflows carry a connector's name and activities read the
// rest from here.
//
// Invariants:
//   - Credentials are stored only sealed (internal/secrets), each with the id
//     of its key and bound to its row and column: the whole source URL and the
//     whole destination URL. No column holds a password, a full connection
//     string or anything derived from one; source_display is host:port/db.
//   - At most one live (not dropped) connector per source database, by
//     (system_identifier, database): the partial unique index behind
//     preflight's duplicate_source check.
//   - Migrations are numbered, recorded in ardent.schema_migrations, applied
//     in one transaction under an advisory lock, so any number of workers may
//     start together, and never edited once released: a change is a new
//     migration.
package catalog
