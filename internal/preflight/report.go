package preflight

import (
	"slices"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// Status of one check.
type Status string

// The statuses of the preflight JSON contract.
const (
	StatusPass       Status = "pass"
	StatusFail       Status = "fail"
	StatusWarn       Status = "warn"
	StatusUnverified Status = "unverified"
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
)

// CheckIDs lists every check id in report order.
var CheckIDs = []string{
	CheckConnect, CheckIPv4, CheckSSL, CheckServerVersion, CheckIsWriter, CheckWalLevel,
	CheckReplicationRole, CheckReplicationConnection, CheckReplicationSlots, CheckWalSenders,
	CheckWal2JSON, CheckBookkeeping, CheckCanReadTables, CheckReplicaIdentity,
	CheckDuplicateSource, CheckWalRetention,
}

// Check is the outcome of one check.
type Check struct {
	ID      string `json:"id"`
	Status  Status `json:"status"`
	Message string `json:"message"`
	Remedy  string `json:"remedy"`
}

// TableReport is the replica identity verdict for one selected table.
type TableReport struct {
	Schema   string          `json:"schema"`
	Name     string          `json:"name"`
	Identity schema.Identity `json:"identity"`
	// Remedy is the statement (or choice) that makes the table replicable;
	// empty when the table is fine as it is.
	Remedy string `json:"remedy"`
}

// Report is what Run returns: the contract of `ardent preflight --format json`.
type Report struct {
	Passed bool          `json:"passed"`
	Checks []Check       `json:"checks"`
	Tables []TableReport `json:"tables"`
}

// Check returns the check with id (zero Check if absent).
func (r Report) Check(id string) Check {
	for _, c := range r.Checks {
		if c.ID == id {
			return c
		}
	}
	return Check{}
}

// passed applies the contract: any fail, or an unverified check whose id
// was not accepted, means not passed. Warnings never block.
func passed(checks []Check, accept []string) bool {
	for _, c := range checks {
		switch c.Status {
		case StatusFail:
			return false
		case StatusUnverified:
			if !slices.Contains(accept, c.ID) {
				return false
			}
		}
	}
	return true
}
