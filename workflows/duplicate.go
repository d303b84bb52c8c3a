package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// changeDuplicateSource is the GetVersion change id of ending an
// onboarding at once when its source database already has a live
// connector (version 1). Before, preflight's failed duplicate_source check
// kept it in waiting_for_sql until the deadline (7 days): no SQL the
// operator applies can pass it.
const changeDuplicateSource = "duplicate-source"

// refuseDuplicate ends the onboarding in stage failed, naming the connector
// that already replicates the source, when the report's duplicate_source
// check failed; it reports false otherwise (and for histories from before
// changeDuplicateSource).
func (o *onboarding) refuseDuplicate(ctx workflow.Context, report contract.PreflightReport) (bool, error) {
	var dup *contract.Check
	for i, c := range report.Checks {
		if c.ID == contract.CheckDuplicateSource && c.Status == contract.CheckFail {
			dup = &report.Checks[i]
		}
	}
	if dup == nil || workflow.GetVersion(ctx, changeDuplicateSource, workflow.DefaultVersion, 1) < 1 {
		return false, nil
	}
	o.st.NextCheckAt = nil
	o.st.Error = dup.Message
	o.st.Remedy = dup.Remedy + "; then onboard again"
	o.setStage(ctx, contract.StageFailed)
	return true, temporal.NewNonRetryableApplicationError(o.st.Error, contract.ErrTypeConflict, nil)
}
