package verify

import "github.com/ardent-cdc/ardent/contract"

// The report is plain data that travels (the Verify activity's result, the
// verify update's answer, the workflow's status), so its one definition is
// in contract; these names are verify's view of it.
type (
	// Report is the outcome of one verification.
	Report = contract.VerifyReport
	// TableResult is one table's comparison.
	TableResult = contract.VerifyTable
	// Range is a key range [From, To) of the chunking column.
	Range = contract.VerifyRange
	// Difference is one key that differs.
	Difference = contract.VerifyDifference
)

// Difference kinds.
const (
	KindMissing = contract.KindMissing
	KindExtra   = contract.KindExtra
	KindChanged = contract.KindChanged
)
