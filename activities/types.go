package activities

import (
	"github.com/ardent-cdc/ardent/contract"
)

// Activity names, registered explicitly by the worker (contract's names).
const (
	PreflightName       = contract.ActivityPreflight
	CreateConnectorName = contract.ActivityCreateConnector
	SnapshotName        = contract.ActivitySnapshot
	ReplicateName       = contract.ActivityReplicate
	DropConnectorName   = contract.ActivityDropConnector
	VerifyName          = contract.ActivityVerify
)

// Error types of the application errors activities return (contract's).
const (
	ErrTypeInvalidInput      = contract.ErrTypeInvalidInput
	ErrTypePermanent         = contract.ErrTypePermanent
	ErrTypeSlotLost          = contract.ErrTypeSlotLost
	ErrTypeConflict          = contract.ErrTypeConflict
	ErrTypeSchemaMismatch    = contract.ErrTypeSchemaMismatch
	ErrTypeDestinationBehind = contract.ErrTypeDestinationBehind
	ErrTypeNoFreeSlot        = contract.ErrTypeNoFreeSlot
	ErrTypeApplyNotReached   = contract.ErrTypeApplyNotReached
	ErrTypeTransient         = contract.ErrTypeTransient
	ErrTypeStalled           = contract.ErrTypeStalled
)

// MaxReportTables bounds the tables carried in a report through Temporal.
const MaxReportTables = contract.MaxReportTables

// The activities' inputs, results and heartbeats are the contract's types;
// these names keep the activities' code as it was.
type (
	FailureDetails        = contract.FailureDetails
	Selection             = contract.Selection
	Check                 = contract.Check
	TableReport           = contract.TableReport
	PreflightReport       = contract.PreflightReport
	PreflightInput        = contract.PreflightInput
	CreateConnectorInput  = contract.CreateConnectorInput
	CreateConnectorResult = contract.CreateConnectorResult
	SnapshotInput         = contract.SnapshotInput
	TableProgress         = contract.TableProgress
	SnapshotProgress      = contract.SnapshotProgress
	SnapshotResult        = contract.SnapshotResult
	ReplicateInput        = contract.ReplicateInput
	ReplicationProgress   = contract.ReplicationProgress
	ReplicateResult       = contract.ReplicateResult
	DropConnectorInput    = contract.DropConnectorInput
	DropConnectorResult   = contract.DropConnectorResult
	VerifyInput           = contract.VerifyInput
	VerifyProgress        = contract.VerifyProgress
)

// VerifyReport is the outcome of one verification (internal/verify's
// plain-data report), the Verify activity's result.
type VerifyReport = contract.VerifyReport

// VerifyTable is one table's comparison in a VerifyReport, VerifyRange a
// key range that differs and VerifyDifference a key that does.
type (
	VerifyTable      = contract.VerifyTable
	VerifyRange      = contract.VerifyRange
	VerifyDifference = contract.VerifyDifference
)
