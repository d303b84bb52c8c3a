package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/naming"
	"github.com/ardent-cdc/ardent/internal/pgurl"
	"github.com/ardent-cdc/ardent/internal/schema"
)

func newOnboardCmd(c *cli) *cobra.Command {
	var (
		in   contract.OnboardingInput
		sel  contract.Selection
		dest destinationFlags
		wait bool
		pw   urlPasswords
	)
	cmd := &cobra.Command{
		Use:   "onboard --name NAME --source URL --destination URL",
		Short: "Start onboarding a source: preflight until it passes, create the connector, snapshot, stream",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := naming.ValidateName(in.Name); err != nil {
				return usageErr("--name: %w", err)
			}
			src, err := pgurl.ParseSource(in.SourceURL)
			if err != nil {
				return usageErr("--source: %w", err)
			}
			if strings.HasPrefix(src.Config.Host, "/") {
				// pgx falls back to a local socket when the URL names no
				// host: the worker would connect to whatever listens there.
				return usageErr("--source: no host: give the host name or IPv4 address of the source, e.g. postgres://USER@HOST:5432/DB")
			}
			if _, err := pgurl.ParseDestination(in.DestinationURL); err != nil {
				return usageErr("--destination: %s", err)
			}
			in.SourceDisplay = src.Display()
			in.Selection = sel
			if in.Options, err = dest.options(); err != nil {
				return err
			}
			if in.BackoffInitial == 0 {
				in.BackoffInitial = c.cfg.PreflightBackoffInitial
			}
			if in.BackoffMax == 0 {
				in.BackoffMax = c.cfg.PreflightBackoffMax
			}
			if in.Deadline == 0 {
				in.Deadline = c.cfg.PreflightDeadline
			}
			if in.VerifyInterval == 0 {
				in.VerifyInterval = c.cfg.VerifyInterval // 0 still: the workflow's default
			}
			if in.DriftInterval == 0 {
				in.DriftInterval = c.cfg.DriftInterval // 0 still: the workflow's default
			}
			// After the defaults: ARDENT_PREFLIGHT_* can be negative too.
			if err := validateOnboardFlags(in, sel); err != nil {
				return err
			}
			// Into the URLs, which are sealed below: the worker connects with them.
			if err := pw.fill(cmd, c, &in.SourceURL, &in.DestinationURL); err != nil {
				return err
			}
			tc, dc, err := c.temporal(ctx)
			if err != nil {
				return err
			}
			defer tc.Close()

			// A connector that already replicates is not onboarded twice.
			if t, err := findConnector(ctx, tc, in.Name); err == nil && t.running && t.typ == contract.WorkflowReplication {
				return &exitError{code: 1, err: fmt.Errorf("connector %q already exists and is replicating (`ardent status %s`); drop it first to onboard again", in.Name, in.Name)}
			}
			// The URLs travel sealed: the payload codec encrypts payloads
			// in Temporal, but the Web UI shows them decoded to whoever holds
			// the codec token, and the password must not be among them.
			kr, err := c.keyring()
			if err != nil {
				return usageErr("%w", err)
			}
			if in.SourceURL, err = kr.SealString(in.SourceURL, contract.URLPurpose); err != nil {
				return fmt.Errorf("seal the source URL: %w", err)
			}
			if in.DestinationURL, err = kr.SealString(in.DestinationURL, contract.URLPurpose); err != nil {
				return fmt.Errorf("seal the destination URL: %w", err)
			}
			id := contract.OnboardingID(in.Name)
			run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID:                       id,
				TaskQueue:                c.cfg.TaskQueue,
				WorkflowIDReusePolicy:    enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
				WorkflowIDConflictPolicy: enums.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
				// Without it the SDK hands back the running onboarding as if
				// started: a second onboard (perhaps with other URLs) would
				// report success and change nothing.
				WorkflowExecutionErrorWhenAlreadyStarted: true,
				TypedSearchAttributes: temporal.NewSearchAttributes(
					stageKey.ValueSet(string(contract.StagePreflight)),
					sourceKey.ValueSet(in.SourceDisplay)),
				Memo: map[string]any{"source": in.SourceDisplay},
				// The Web UI's summary and details: the connector and the
				// source's host:port/db, never a credential.
				StaticSummary: contract.OnboardingSummary(in.Name, in.SourceDisplay),
				StaticDetails: contract.OnboardingStaticDetails(in.Name, in.SourceDisplay),
			}, contract.WorkflowOnboarding, in)
			var started *serviceerror.WorkflowExecutionAlreadyStarted
			runID := "" // --wait follows this run (and its continuations), never an older one
			switch {
			case errors.As(err, &started):
				if !wait {
					return &exitError{code: 1, err: fmt.Errorf("onboarding %q is already running: follow it with `ardent status %s` or `ardent onboard ... --wait`", in.Name, in.Name)}
				}
				fmt.Fprintf(c.out, "onboarding %s is already running; following it\n", in.Name)
			case err != nil:
				return fmt.Errorf("start onboarding %s: %w", id, err)
			default:
				runID = run.GetRunID()
				fmt.Fprintf(c.out, "started onboarding %s (workflow %s) for %s\n", in.Name, id, in.SourceDisplay)
			}
			if !wait {
				fmt.Fprintf(c.out, "follow it with `ardent status %s`\n", in.Name)
				return nil
			}
			return follow(ctx, c, tc, dc, in.Name, runID)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Name, "name", "", "connector name: lower-case letters, digits, '-' and '_' (required)")
	f.StringVar(&in.SourceURL, "source", "", "source PostgreSQL URL (required)")
	f.StringVar(&in.DestinationURL, "destination", "", "destination PostgreSQL URL (required)")
	f.StringArrayVar(&sel.Schemas, "schema", nil, "schema to replicate (repeatable; default public)")
	f.StringArrayVar(&sel.Tables, "table", nil, "only this SCHEMA.TABLE (repeatable)")
	f.StringArrayVar(&sel.ExcludeTables, "exclude-table", nil, "leave out SCHEMA.TABLE (repeatable)")
	f.StringArrayVar(&sel.ReplicaIdentityFull, "replica-identity-full", nil, "replicate SCHEMA.TABLE, which has no key, with REPLICA IDENTITY FULL (repeatable)")
	f.StringArrayVar(&sel.AcceptUnverified, "accept-unverified", nil, "accept an unverified preflight check by id (repeatable)")
	f.DurationVar(&in.BackoffInitial, "backoff-initial", 0, "first wait between failed preflights (default 30s)")
	f.DurationVar(&in.BackoffMax, "backoff-max", 0, "longest wait between failed preflights (default 15m)")
	f.DurationVar(&in.Deadline, "deadline", 0, "give up if preflight has not passed after this long (default 168h)")
	f.DurationVar(&in.StreamRun, "stream-run", 0, "how long one replication activity streams before the workflow continues as new (default 1h)")
	_ = f.MarkHidden("stream-run")
	f.DurationVar(&in.DiscoverInterval, "discover-interval", 0,
		"how often the connector looks for tables created, dropped or renamed on the source whatever else happened (default 10m; negative disables); the running stream also reads the source's catalog every minute and asks for a look at once when it changed")
	f.DurationVar(&in.VerifyInterval, "verify-interval", 0,
		"how often the destination is verified against the source while streaming (ARDENT_VERIFY_INTERVAL; default 6h; negative disables)")
	f.DurationVar(&in.DriftInterval, "drift-interval", 0,
		"how often the connector re-checks its source for regressions after onboarding (ARDENT_DRIFT_INTERVAL; default 15m; negative disables)")
	dest.register(cmd, true)
	pw.register(cmd, pgurl.SideSource, pgurl.SideDestination)
	f.BoolVar(&wait, "wait", false, "follow the onboarding with live progress until streaming (exit 0) or failure (exit 1)")
	for _, n := range []string{"name", "source", "destination"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

// validateOnboardFlags refuses, as usage errors, what preflight would
// otherwise report only after the onboarding started (or never).
func validateOnboardFlags(in contract.OnboardingInput, sel contract.Selection) error {
	for flag, d := range map[string]time.Duration{"--backoff-initial (or ARDENT_PREFLIGHT_BACKOFF_INITIAL)": in.BackoffInitial,
		"--backoff-max (or ARDENT_PREFLIGHT_BACKOFF_MAX)": in.BackoffMax, "--deadline (or ARDENT_PREFLIGHT_DEADLINE)": in.Deadline,
		"--stream-run": in.StreamRun} {
		if d < 0 {
			return usageErr("%s: %s is negative", flag, d)
		}
	}
	for flag, names := range map[string][]string{"--table": sel.Tables, "--exclude-table": sel.ExcludeTables,
		"--replica-identity-full": sel.ReplicaIdentityFull} {
		for _, n := range names {
			if _, err := schema.ParseQualified(n); err != nil {
				return usageErr("%s: %w", flag, err)
			}
		}
	}
	for _, s := range sel.Schemas {
		if strings.TrimSpace(s) == "" {
			return usageErr("--schema: empty name")
		}
	}
	for _, id := range sel.AcceptUnverified {
		if !slices.Contains(contract.CheckIDs, id) {
			return usageErr("--accept-unverified %q: not a check id (%s)", id, strings.Join(contract.CheckIDs, ", "))
		}
	}
	return nil
}

// pollInterval paces --wait and the progress display.
const pollInterval = time.Second
