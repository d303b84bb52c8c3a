package contract

import "time"

// CheckStatus is the outcome of one preflight check.
type CheckStatus string

// The statuses of `ardent preflight --format json`. A fail blocks; an
// unverified check (it could not be evaluated) blocks unless its id is
// accepted (--accept-unverified); a warning never blocks.
const (
	CheckPass       CheckStatus = "pass"
	CheckFail       CheckStatus = "fail"
	CheckWarn       CheckStatus = "warn"
	CheckUnverified CheckStatus = "unverified"
)

// Check ids, in report order (design.md section 3).
const (
	CheckConnect               = "connect"
	CheckIPv4                  = "ipv4"
	CheckSSL                   = "ssl"
	CheckServerVersion         = "server_version"
	CheckIsWriter              = "is_writer"
	CheckWalLevel              = "wal_level"
	CheckReplicationRole       = "replication_role"
	CheckReplicationConnection = "replication_connection"
	CheckReplicationSlots      = "replication_slots"
	CheckWalSenders            = "wal_senders"
	CheckWal2JSON              = "wal2json"
	CheckBookkeeping           = "bookkeeping"
	CheckCanReadTables         = "can_read_tables"
	CheckReplicaIdentity       = "replica_identity"
	CheckDuplicateSource       = "duplicate_source"
	CheckWalRetention          = "wal_retention"
	CheckWalBudget             = "wal_budget"
	// CheckDestination: the destination connects, is not the source, and
	// every table the connector would write is free for it (missing,
	// empty, its own, or replaced with --replace-existing).
	CheckDestination = "destination"
)

// CheckPreflightRun is the check the onboarding workflow reports when the
// Preflight activity itself could not run (not one of CheckIDs: no
// --accept-unverified for it).
const CheckPreflightRun = "preflight"

// CheckIDs lists every check id in report order.
var CheckIDs = []string{
	CheckConnect, CheckIPv4, CheckSSL, CheckServerVersion, CheckIsWriter, CheckWalLevel,
	CheckReplicationRole, CheckReplicationConnection, CheckReplicationSlots, CheckWalSenders,
	CheckWal2JSON, CheckBookkeeping, CheckCanReadTables, CheckReplicaIdentity,
	CheckDuplicateSource, CheckWalRetention, CheckWalBudget, CheckDestination,
}

// Identity is a table's replica identity as preflight judges it.
type Identity string

// Identities of `ardent preflight --format json`.
const (
	IdentityPrimaryKey Identity = "primary_key"
	IdentityIndex      Identity = "index"
	IdentityFull       Identity = "full"
	IdentityNone       Identity = "none"
)

// Check is the outcome of one check.
type Check struct {
	ID      string      `json:"id"`
	Status  CheckStatus `json:"status"`
	Message string      `json:"message"`
	Remedy  string      `json:"remedy"`
}

// TableReport is the replica identity verdict for one selected table.
type TableReport struct {
	Schema   string   `json:"schema"`
	Name     string   `json:"name"`
	Identity Identity `json:"identity"`
	// Remedy is the statement (or choice) that makes the table replicable;
	// empty when the table is fine as it is.
	Remedy string `json:"remedy"`
}

// MaxReportTables bounds the tables a report carries through Temporal
// (preflight's and verify's): payloads must stay small however many tables
// the source has.
const MaxReportTables = 50

// PreflightReport is what internal/preflight returns: the output of
// `ardent preflight --format json` (passed, checks, tables: MoreTables and
// CheckedAt are zero there and left out), and the Preflight activity's
// result in the onboarding's status, where Tables holds only the tables
// that need the operator (at most MaxReportTables, MoreTables counts the
// rest) and CheckedAt is when the activity ran.
type PreflightReport struct {
	Passed     bool          `json:"passed"`
	Checks     []Check       `json:"checks"`
	Tables     []TableReport `json:"tables"`
	MoreTables int           `json:"more_tables,omitempty"`
	CheckedAt  time.Time     `json:"checked_at,omitzero"`
}

// Check returns the check with id (zero Check if absent).
func (r PreflightReport) Check(id string) Check {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return Check{}
}

// Blocking lists the ids of the checks that neither passed nor warned.
func (r PreflightReport) Blocking() []string {
	var ids []string
	for _, c := range r.Checks {
		if c.Status != CheckPass && c.Status != CheckWarn {
			ids = append(ids, c.ID)
		}
	}
	return ids
}
