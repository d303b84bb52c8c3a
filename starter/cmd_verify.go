package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// defaultVerifyTimeout bounds the wait for a verification's report.
const defaultVerifyTimeout = time.Hour

func newVerifyCmd(c *cli) *cobra.Command {
	var (
		tables  []string
		format  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "verify NAME [--table SCHEMA.TABLE]...",
		Short: "Compare a connector's destination with its source at one LSN, table by table",
		Long: `Compare a connector's destination tables with its source tables at one source
LSN, while the connector streams: row counts and whole-row checksums per key
range, narrowed down to the key ranges and example keys that differ.

The connector must be streaming: the verification reads the destination once
its stream has applied everything up to the verify point. It needs one free
replication slot on the source for a temporary slot. The outcome also shows
in ` + "`ardent status`" + `; a difference puts the connector in stage attention
(the stream keeps running) until a verification finds the tables equal.

Exit status: 0 when every table is equal, 1 when a table differs, 2 on a
usage error or when the connector could not be verified (no such connector,
not streaming, unknown table, no free replication slot, the apply did not
reach the verify point, no answer within --timeout).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if format != "text" && format != "json" {
				return usageErr("--format must be text or json")
			}
			if err := naming.ValidateName(name); err != nil {
				return usageErr("%w", err)
			}
			for _, t := range tables {
				if _, err := schema.ParseQualified(t); err != nil {
					return usageErr("--table: %w", err)
				}
			}
			if timeout <= 0 {
				return usageErr("--timeout must be positive")
			}
			ctx := cmd.Context()
			tc, _, err := c.temporal(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()
			t, err := findConnector(ctx, tc, name)
			if err != nil {
				return cannotVerify(err)
			}
			switch {
			case t.typ != contract.WorkflowReplication:
				return &exitError{code: 2, err: fmt.Errorf("connector %s is still onboarding: verify once it streams (`ardent status %s`)", name, name)}
			case !t.running:
				return &exitError{code: 2, err: fmt.Errorf("connector %s has no running workflow (%s is %s): nothing to verify", name, t.id, t.status)}
			}
			if format == "text" {
				fmt.Fprintf(c.errOut, "verifying %s (waits for its stream to reach the verify point; up to %s)…\n", name, timeout)
			}
			rep, err := requestVerify(ctx, tc, t.id, tables, timeout)
			if err != nil {
				return verifyError(name, err, timeout)
			}
			if format == "json" {
				if err := writeJSON(c.out, rep); err != nil {
					return err
				}
			} else {
				renderVerify(c.out, rep)
			}
			return verifyExit(rep)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&tables, "table", nil, "verify only SCHEMA.TABLE (repeatable; default every table of the connector)")
	f.StringVar(&format, "format", "text", "text or json")
	f.DurationVar(&timeout, "timeout", defaultVerifyTimeout, "give up waiting for the report after this long (the verification itself goes on)")
	return cmd
}

// requestVerify sends the verify update and waits for its report.
func requestVerify(ctx context.Context, tc client.Client, id string, tables []string, timeout time.Duration) (*contract.VerifyReport, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep, err := updateWorkflow(ctx, tc, id, contract.UpdateVerify, contract.VerifyRequest{Tables: tables})
	if err == nil && rep == nil {
		err = fmt.Errorf("the verify update of %s answered without a report", id)
	}
	return rep, err
}

// verifyExit: 0 equal, 1 different (the report says which; nothing more
// is printed).
func verifyExit(rep *contract.VerifyReport) error {
	if !rep.Equal || len(rep.Different()) > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// cannotVerify makes an error exit 2: whatever kept the verification from
// running, the destination was not shown to differ.
func cannotVerify(err error) error {
	var ee *exitError
	if errors.As(err, &ee) {
		return &exitError{code: 2, err: ee.err}
	}
	return &exitError{code: 2, err: err}
}

// verifyError words a failed verify update for the operator: the
// workflow's rejection (not streaming) or the activity's error as it is,
// with its remedy; a timeout says the verification may still be running.
func verifyError(name string, err error, timeout time.Duration) error {
	var svcTimeout *client.WorkflowUpdateServiceTimeoutOrCanceledError
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &svcTimeout) {
		return &exitError{code: 2, err: fmt.Errorf("no report from connector %s within %s: a verification may still be running; "+
			"its outcome will show in `ardent status %s` (or verify again with a longer --timeout)", name, timeout, name)}
	}
	if strings.Contains(err.Error(), "unknown update") {
		return &exitError{code: 2, err: fmt.Errorf("connector %s's workflow does not know the verify update: upgrade ardent-worker, then verify again (%w)", name, err)}
	}
	var app *temporal.ApplicationError
	if !errors.As(err, &app) {
		return &exitError{code: 2, err: fmt.Errorf("could not verify %s: %w", name, err)}
	}
	if app.Type() == contract.ErrTypeNotStreaming {
		return &exitError{code: 2, err: errors.New(app.Message())}
	}
	msg := fmt.Sprintf("could not verify %s: %s", name, app.Message())
	var d contract.FailureDetails
	if app.HasDetails() && app.Details(&d) == nil && d.Remedy != "" {
		msg += "\n  → " + d.Remedy
	}
	return &exitError{code: 2, err: errors.New(msg)}
}
