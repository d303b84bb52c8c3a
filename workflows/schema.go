package workflows

import (
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// The schema-history update reads the connector's schema history from the
// destination, like the tables update reads the table states: one
// SchemaHistory activity, driven by the update's own history events, so
// it changes no command of a run that is not asked. Approving a
// quarantined change is a resync (tables.go).

// schemaHistory answers the schema-history update.
func (r *replication) schemaHistory(ctx workflow.Context, req contract.SchemaHistoryRequest) (*contract.SchemaHistoryReport, error) {
	var rep contract.SchemaHistoryReport
	err := workflow.ExecuteActivity(withDiscoverOptions(ctx), contract.ActivitySchemaHistory,
		contract.SchemaHistoryInput{Name: r.in.Name, Table: req.Table, Limit: req.Limit}).Get(ctx, &rep)
	if err != nil {
		return nil, verifyFailure(err)
	}
	return &rep, nil
}

// validateSchemaHistory rejects a request before it reaches the history:
// a connector being dropped (as the tables update does), a blank table
// name, a limit out of range. The activity parses the table name.
func (r *replication) validateSchemaHistory(req contract.SchemaHistoryRequest) error {
	if r.ctl.dropRequested || r.st.Stage == contract.StageDropped {
		return temporal.NewNonRetryableApplicationError("connector "+r.in.Name+" is being dropped", contract.ErrTypeNotStreaming, nil)
	}
	if req.Table != "" && strings.TrimSpace(req.Table) == "" {
		return temporal.NewNonRetryableApplicationError("schema history: blank table name", contract.ErrTypeInvalidInput, nil)
	}
	if req.Limit < 0 || req.Limit > contract.MaxSchemaHistory {
		return temporal.NewNonRetryableApplicationError("schema history: limit "+strconv.Itoa(req.Limit)+" is out of range (0 to "+
			strconv.Itoa(contract.MaxSchemaHistory)+")", contract.ErrTypeInvalidInput, nil)
	}
	return nil
}

// schemaDetails renders the latest schema changes for the Web UI's
// workflow details (markdown).
func schemaDetails(changes []contract.SchemaChangeInfo) string {
	var b strings.Builder
	b.WriteString("**Latest schema changes** (newest first; `ardent schema history` has them all)\n\n")
	for _, c := range changes {
		b.WriteString("- " + c.At.UTC().Format(time.RFC3339) + " `" + c.Table + "` at " + c.LSN + ": " + c.Change + " → **" + c.Outcome + "**")
		if c.Statement != "" {
			b.WriteString(": `" + strings.ReplaceAll(c.Statement, "\n", " ") + "`")
		}
		if c.Detail != "" && c.Outcome != "applied" {
			b.WriteString(" (" + c.Detail + ")")
		}
		b.WriteString("\n")
	}
	return b.String()
}
