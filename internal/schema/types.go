package schema

import (
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ardent-cdc/ardent/contract"
)

// Identity is how a table's rows are identified in WAL: the identity kinds
// of the preflight JSON contract (contract.Identity).
type Identity = contract.Identity

// The identity kinds.
const (
	IdentityPrimaryKey = contract.IdentityPrimaryKey
	IdentityIndex      = contract.IdentityIndex
	IdentityFull       = contract.IdentityFull
	IdentityNone       = contract.IdentityNone
)

// Column is one column of a replicated table.
type Column struct {
	Name      string `json:"name"`
	Pos       int    `json:"pos,omitempty"`       // pg_attribute.attnum (0 in schemas stored before it was kept)
	Type      string `json:"type"`                // format_type(atttypid, atttypmod), e.g. "numeric(10,2)"
	TypeOID   uint32 `json:"type_oid"`            // pg_attribute.atttypid
	BaseType  string `json:"base_type,omitempty"` // for domains and enums: the type the destination stores
	NotNull   bool   `json:"not_null"`
	Generated bool   `json:"generated,omitempty"` // GENERATED ALWAYS AS (...) STORED: not copied, recomputed or stored plain
	Key       bool   `json:"key,omitempty"`       // part of the replica identity key
}

// Table is one replicated table.
type Table struct {
	Schema        string   `json:"schema"`
	Name          string   `json:"name"`
	OID           uint32   `json:"oid"`
	Kind          string   `json:"kind"` // pg_class.relkind: "r" table, "p" partitioned
	Partition     bool     `json:"partition,omitempty"`
	Parent        string   `json:"parent,omitempty"` // "schema.table" of the root partitioned table
	Columns       []Column `json:"columns"`
	Identity      Identity `json:"identity"`
	IdentityIndex string   `json:"identity_index,omitempty"` // the index behind IdentityIndex or a candidate
	// CandidateIndex names a valid unique NOT NULL index that would serve as
	// identity once selected with REPLICA IDENTITY USING INDEX.
	CandidateIndex string   `json:"candidate_index,omitempty"`
	KeyColumns     []string `json:"key_columns,omitempty"`
	// PK names the primary key's columns (what wal2json's include-pk
	// reports), empty when the table has none.
	PK            []string `json:"pk,omitempty"`
	EstimatedRows int64    `json:"estimated_rows"`
	// Owner is the role owning the table; grants for future tables
	// (ALTER DEFAULT PRIVILEGES FOR ROLE) are issued per owner.
	Owner     string `json:"owner,omitempty"`
	SizeBytes int64  `json:"size_bytes"`
}

// Ident returns the quoted, schema-qualified name, safe to splice into SQL.
func (t Table) Ident() string { return pgx.Identifier{t.Schema, t.Name}.Sanitize() }

// FullName returns "schema.table" unquoted, the form the CLI flags and
// wal2json's add-tables option use.
func (t Table) FullName() string { return t.Schema + "." + t.Name }

// FlagName spells the table for a command-line flag (--exclude-table,
// --replica-identity-full): "schema.table", with a part that ParseQualified
// would split or the shell would break quoted as '"part"'.
func (t Table) FlagName() string {
	part := func(s string) string {
		if strings.ContainsAny(s, `." `) {
			return `'"` + strings.ReplaceAll(s, `"`, `""`) + `"'`
		}
		return s
	}
	return part(t.Schema) + "." + part(t.Name)
}

// NoColumns reports a table without columns (CREATE TABLE t (), or every
// column dropped). Ardent cannot replicate it: the snapshot copies columns
// by name and has none to name, and no key can identify its rows. Discover
// refuses it and preflight reports it, so it never reaches a snapshot.
func (t Table) NoColumns() bool { return len(t.Columns) == 0 }

// QuoteIdent quotes one identifier for SQL.
func QuoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// QuoteLiteral quotes a string literal for SQL (standard_conforming_strings on).
func QuoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
