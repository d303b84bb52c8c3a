package preflight

import (
	"slices"

	"github.com/ardent-cdc/ardent/contract"
)

// The report is the contract's type (the JSON of `ardent preflight
// --format json`); these names keep preflight's code short.
type (
	// Status of one check.
	Status = contract.CheckStatus
	// Check is the outcome of one check.
	Check = contract.Check
	// TableReport is the replica identity verdict for one selected table.
	TableReport = contract.TableReport
	// Report is what Run returns.
	Report = contract.PreflightReport
)

// The statuses of the preflight JSON contract.
const (
	StatusPass       = contract.CheckPass
	StatusFail       = contract.CheckFail
	StatusWarn       = contract.CheckWarn
	StatusUnverified = contract.CheckUnverified
)

// Check ids, in report order (contract.CheckIDs).
const (
	CheckConnect               = contract.CheckConnect
	CheckIPv4                  = contract.CheckIPv4
	CheckSSL                   = contract.CheckSSL
	CheckServerVersion         = contract.CheckServerVersion
	CheckIsWriter              = contract.CheckIsWriter
	CheckWalLevel              = contract.CheckWalLevel
	CheckReplicationRole       = contract.CheckReplicationRole
	CheckReplicationConnection = contract.CheckReplicationConnection
	CheckReplicationSlots      = contract.CheckReplicationSlots
	CheckWalSenders            = contract.CheckWalSenders
	CheckWal2JSON              = contract.CheckWal2JSON
	CheckBookkeeping           = contract.CheckBookkeeping
	CheckCanReadTables         = contract.CheckCanReadTables
	CheckReplicaIdentity       = contract.CheckReplicaIdentity
	CheckDuplicateSource       = contract.CheckDuplicateSource
	CheckWalRetention          = contract.CheckWalRetention
	CheckDestination           = contract.CheckDestination
	CheckWalBudget             = contract.CheckWalBudget
)

// CheckIDs lists every check id in report order.
var CheckIDs = contract.CheckIDs

// Compact is r as it travels through Temporal: only the tables that need
// the operator (a remedy, or no usable identity), at most max of them, the
// rest counted in MoreTables. Payloads stay small on sources with
// thousands of tables; `ardent preflight` lists them all.
func Compact(r Report, max int) Report {
	out := r
	out.Tables = nil
	for _, t := range r.Tables {
		if t.Remedy == "" && t.Identity != contract.IdentityNone {
			continue
		}
		if len(out.Tables) == max {
			out.MoreTables++
			continue
		}
		out.Tables = append(out.Tables, t)
	}
	return out
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
