package main

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	tlog "go.temporal.io/sdk/log"

	"github.com/ardent-cdc/ardent/contract"
)

// The master key seals credentials and encrypts Temporal payloads. `list`
// and `status` need neither to say where connectors stand: the stage and
// the source are search attributes, never encrypted, so both work without
// the key, status with what those say.

// hasKey: a master key is configured.
func (c *cli) hasKey() bool { return c.cfg.MasterKey != "" || c.cfg.MasterKeyFile != "" }

// temporalRead dials Temporal for the commands that only read: with the
// master key it is c.temporal; without, the client has no codec and the
// data converter is nil.
func (c *cli) temporalRead(ctx context.Context) (client.Client, converter.DataConverter, error) {
	if c.hasKey() {
		return c.temporal(ctx)
	}
	if err := c.cfg.ValidateClient(); err != nil {
		return nil, nil, usageErr("configuration: %w", err)
	}
	tc, err := client.DialContext(ctx, client.Options{HostPort: c.cfg.TemporalAddress, Namespace: c.cfg.TemporalNamespace,
		Logger: tlog.NewStructuredLogger(c.log)})
	if err != nil {
		return nil, nil, fmt.Errorf("connect to Temporal at %s (is it running? `make dev` starts a local one): %w", c.cfg.TemporalAddress, err)
	}
	return tc, nil, nil
}

// connectorStatus is the status of the workflow that speaks for the
// connector (findConnector, statusOf), plus what the workflow cannot say
// itself: a terminated workflow's connector (terminatedStatus), and,
// without the master key (dc nil), what Temporal shows without it.
func (c *cli) connectorStatus(ctx context.Context, tc client.Client, dc converter.DataConverter, name string) (contract.Status, target, error) {
	t, err := findConnector(ctx, tc, name)
	switch {
	case err != nil:
		return contract.Status{}, t, err
	case terminated(t):
		return c.terminatedStatus(ctx, name, t), t, nil
	case dc == nil:
		fmt.Fprintln(c.errOut, "ardent: no master key (ARDENT_MASTER_KEY or ARDENT_MASTER_KEY_FILE): showing the stage and source only; "+
			"position, lag, errors and remedies travel encrypted and need the key")
		return statusFromSearchAttributes(name, t), t, nil
	}
	return statusOf(ctx, tc, dc, name, t)
}

// statusFromSearchAttributes is the status Temporal's search attributes
// give: stage and source.
func statusFromSearchAttributes(name string, t target) contract.Status {
	stage := contract.Stage(t.stage)
	if stage == "" {
		stage = contract.Stage(t.status) // a workflow that never published its stage
	}
	return contract.Status{Name: name, Workflow: t.typ, Stage: stage, SourceDisplay: t.source}
}
