package main

import (
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/ardent-cdc/ardent/contract"
)

func newListCmd(c *cli) *cobra.Command {
	var all bool
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List connectors and their stages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageErr("--format must be text or json")
			}
			tc, _, err := c.temporalRead(cmd.Context()) // search attributes only: no master key needed
			if err != nil {
				return err
			}
			defer tc.Close()
			query := fmt.Sprintf("WorkflowType IN ('%s','%s')", contract.WorkflowOnboarding, contract.WorkflowReplication)
			if !all {
				// A terminated connector left its slot behind (markTerminated).
				query += " AND (ExecutionStatus = 'Running' OR ExecutionStatus = 'Terminated')"
			}
			rows := map[string]listRow{}
			var token []byte
			for {
				resp, err := tc.ListWorkflow(cmd.Context(), &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token})
				if err != nil {
					return fmt.Errorf("list workflows: %w", err)
				}
				for _, e := range resp.GetExecutions() {
					id := e.GetExecution().GetWorkflowId()
					name, _ := contract.ConnectorName(id)
					r := listRow{name: name, id: id, status: statusWord(e.GetStatus())}
					f := e.GetSearchAttributes().GetIndexedFields()
					r.stage = keyword(f, contract.SearchAttrStage)
					r.source = keyword(f, contract.SearchAttrSource)
					if prev, ok := rows[name]; !ok || rank(r) > rank(prev) {
						rows[name] = r
					}
				}
				token = resp.GetNextPageToken()
				if len(token) == 0 {
					break
				}
			}
			names := make([]string, 0, len(rows))
			for n := range rows {
				names = append(names, n)
			}
			sort.Strings(names)
			names, notes := c.markTerminated(cmd.Context(), rows, names, all)
			if format == "json" {
				return writeJSON(c.out, listReport(rows, names))
			}
			tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSTAGE\tSOURCE\tWORKFLOW\tSTATUS")
			for _, n := range names {
				r := rows[n]
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.name, r.stage, r.source, r.id, r.status)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintln(c.out, n)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "include ended workflows")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	return cmd
}

// statusWord is "running", "failed", "continued_as_new"... The enum's
// String() is "Running" in current API versions and was the upper-case
// constant name before, so the constant name is read from the enum's table.
func statusWord(s enums.WorkflowExecutionStatus) string {
	name, ok := enums.WorkflowExecutionStatus_name[int32(s)]
	if !ok {
		return strings.ToLower(s.String())
	}
	return strings.ToLower(strings.TrimPrefix(name, "WORKFLOW_EXECUTION_STATUS_"))
}

type listRow struct{ name, id, stage, source, status string }

// rank picks the execution that speaks for a connector: a running one over
// an ended one (continue-as-new leaves ended runs behind), then the
// replication workflow over the onboarding it outlives.
func rank(r listRow) int {
	n := 0
	if r.status == "running" {
		n += 2
	}
	if r.id == contract.ReplicationID(r.name) {
		n++
	}
	return n
}

// keyword decodes a Keyword search attribute ("" when absent or not a
// string). Search attributes are never encrypted: the SDK's default
// converter reads them, not the codec.
func keyword(fields map[string]*commonpb.Payload, name string) string {
	p, ok := fields[name]
	if !ok {
		return ""
	}
	var s string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &s); err != nil {
		return ""
	}
	return s
}
