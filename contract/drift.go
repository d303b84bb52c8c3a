package contract

import "time"

// The drift guard: after the snapshot, the replication workflow re-runs the
// source checks that are cheap (no replication session, no temporary slot)
// every DriftInterval, because what preflight found at onboarding can
// regress while the connector streams: the role expires, wal_level is
// lowered, a table loses its replica identity, the slot falls towards
// invalidation. A check that fails puts the connector in stage attention
// with its remedy (the stream keeps running); a warning is shown, no more.

// ActivityDriftCheck runs the drift checks against the connector's source.
const ActivityDriftCheck = "DriftCheck"

// DefaultDriftInterval is how often the replication workflow runs the
// drift checks (ReplicationInput.DriftInterval; negative disables them).
const DefaultDriftInterval = 15 * time.Minute

// Drift check ids, besides preflight's wal_level, replication_role,
// replica_identity and wal_retention, which the drift guard runs again.
const (
	// CheckRoleValid: the role's password is valid (rolvaliduntil not
	// passed, not close), and the role can still log in at all.
	CheckRoleValid = "role_valid"
	// CheckSlot: the connector's slot exists, is not lost or unreserved,
	// and has room left before max_slot_wal_keep_size invalidates it.
	CheckSlot = "slot"
	// CheckIdleSlotTimeout: idle_replication_slot_timeout (PostgreSQL 18)
	// would invalidate the slot of a connector paused or stopped for long.
	CheckIdleSlotTimeout = "idle_replication_slot_timeout"
)

// DriftCheckIDs lists the drift checks in report order.
var DriftCheckIDs = []string{CheckRoleValid, CheckReplicationRole, CheckWalLevel, CheckReplicaIdentity,
	CheckSlot, CheckWalRetention, CheckIdleSlotTimeout}

// DriftCheckInput is ActivityDriftCheck's input; its result is a
// DriftReport. The source and the slot come from the catalog.
type DriftCheckInput struct {
	Name string `json:"name"`
}

// DriftReport is one run of the drift checks.
type DriftReport struct {
	CheckedAt time.Time `json:"checked_at"`
	Checks    []Check   `json:"checks"`
	// Slot is the connector's slot as the run read it; nil when it could
	// not be read (the role cannot log in) or does not exist.
	Slot *SlotState `json:"slot,omitempty"`
}

// Regressions are the checks that failed: each puts the connector in
// stage attention.
func (r DriftReport) Regressions() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status == CheckFail {
			out = append(out, c)
		}
	}
	return out
}

// Problems are the checks that did not pass (failed, warned, unverified).
func (r DriftReport) Problems() []Check {
	var out []Check
	for _, c := range r.Checks {
		if c.Status != CheckPass {
			out = append(out, c)
		}
	}
	return out
}

// SlotState is the connector's replication slot as a drift check read it:
// where the destination stands (the slot's confirmed position) and the WAL
// the slot keeps on the source, which grows while the connector is paused
// or stopped.
type SlotState struct {
	// ConfirmedLSN is the slot's confirmed_flush_lsn: what the destination
	// committed and the source was told.
	ConfirmedLSN string `json:"confirmed_lsn"`
	RestartLSN   string `json:"restart_lsn,omitempty"`
	// RetainedBytes is pg_current_wal_lsn() - restart_lsn: the WAL kept
	// for the slot.
	RetainedBytes int64 `json:"retained_bytes"`
	// WALStatus is reserved, extended, unreserved or lost.
	WALStatus string `json:"wal_status,omitempty"`
	// SafeWALSize is how much more WAL may be written before the slot is
	// at risk of invalidation; nil without a limit.
	SafeWALSize *int64    `json:"safe_wal_size,omitempty"`
	Active      bool      `json:"active"`
	CheckedAt   time.Time `json:"checked_at"`
}

// DriftSummary is what the drift guard found, in the status and carried
// across continue-as-new: the last completed run (CheckedAt, the checks
// that did not pass) and the last that could not run (Error, ErrorAt;
// cleared by the next completed one).
type DriftSummary struct {
	CheckedAt *time.Time `json:"checked_at,omitempty"`
	// Problems are the last run's checks that did not pass; a failed one
	// is a regression (stage attention).
	Problems []Check    `json:"problems,omitempty"`
	Slot     *SlotState `json:"slot,omitempty"`
	Error    string     `json:"error,omitempty"`
	ErrorAt  *time.Time `json:"error_at,omitempty"`
	// NextAt is when the next run is due (nil when the guard is off).
	NextAt *time.Time `json:"next_at,omitempty"`
}

// Regressions are the problems that failed.
func (d *DriftSummary) Regressions() []Check {
	if d == nil {
		return nil
	}
	return DriftReport{Checks: d.Problems}.Regressions()
}
