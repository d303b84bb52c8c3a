package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/buildinfo"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/config"
	"github.com/ardent-cdc/ardent/internal/secrets"
)

// cli is what every command shares: the loaded configuration, output
// streams and lazily opened clients.
type cli struct {
	cfg    config.Config
	out    io.Writer
	errOut io.Writer
	log    *slog.Logger
	// knownSource returns the connector already using this source, if any
	// (the catalog lookup behind preflight's duplicate_source check). Nil
	// when no catalog is configured.
	knownSource func(ctx context.Context, systemID uint64, database string) (string, bool, error)

	cat *catalog.Store
	kr  *secrets.Keyring
}

// exitError carries a process exit code: 1 = did not pass / failed,
// 2 = usage error. A nil err prints nothing more.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

func isUsageError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "unknown command") || strings.HasPrefix(s, "unknown flag") ||
		strings.HasPrefix(s, "unknown shorthand flag") || strings.Contains(s, "accepts ") ||
		strings.HasPrefix(s, "required flag") || strings.HasPrefix(s, "invalid argument")
}

func newCLI(out, errOut io.Writer) *cli {
	return &cli{out: out, errOut: errOut, log: slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

func newRootCmd(c *cli) *cobra.Command {
	var cfgFile string
	root := &cobra.Command{
		Use:           "ardent",
		Short:         "Onboard a PostgreSQL database as a change-data-capture source",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := config.Load(cmd.Flags(), cfgFile)
			if err != nil {
				return usageErr("%w", err)
			}
			c.cfg = cfg
			if cfg.CatalogURL != "" {
				c.knownSource = c.lookupSource
			}
			return nil
		},
	}
	// --version: the build, as `make build` stamped it (internal/buildinfo).
	root.Version = buildinfo.String()
	root.SetVersionTemplate(buildinfo.Line("ardent") + "\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &exitError{code: 2, err: err} })
	pf := root.PersistentFlags()
	pf.StringVar(&cfgFile, "config", "", "YAML configuration file")
	pf.String("temporal-address", "", "Temporal frontend host:port (ARDENT_TEMPORAL_ADDRESS, default localhost:7233)")
	pf.String("temporal-namespace", "", "Temporal namespace (ARDENT_TEMPORAL_NAMESPACE, default default)")
	pf.String("task-queue", "", "task queue (ARDENT_TASK_QUEUE, default ardent)")
	pf.String("egress-ip", "", "the IP Ardent connects from, for pg_hba lines (ARDENT_EGRESS_IP)")
	root.AddCommand(
		newPreflightCmd(c), newSQLCmd(c), newKeysCmd(c),
		newOnboardCmd(c), newStatusCmd(c), newSignalCmd(c),
		newControlCmd(c, contract.SignalPause, "Pause a connector: stop streaming (the slot keeps WAL) until resume"),
		newControlCmd(c, contract.SignalResume, "Resume a paused connector, retry one in stage failed or attention, or retry a retrying one now"),
		newDropCmd(c),
		newListCmd(c), newVerifyCmd(c), newScramVerifierCmd(c), newCredentialsCmd(c),
		newTablesCmd(c), newResyncCmd(c), newSchemaCmd(c), newCodecServerCmd(c),
	)
	return root
}

func (c *cli) catalog(ctx context.Context) (*catalog.Store, error) {
	if c.cat != nil {
		return c.cat, nil
	}
	cat, err := catalog.Open(ctx, c.cfg.CatalogURL, c.log)
	if err != nil {
		return nil, err
	}
	c.cat = cat
	return cat, nil
}

func (c *cli) keyring() (*secrets.Keyring, error) {
	if c.kr != nil {
		return c.kr, nil
	}
	if c.cfg.MasterKey == "" && c.cfg.MasterKeyFile == "" {
		return nil, errors.New("no master key: set ARDENT_MASTER_KEY or ARDENT_MASTER_KEY_FILE (the same key as the worker's; " +
			"payloads sent to Temporal are encrypted with it)")
	}
	kr, err := secrets.LoadKeyring(c.cfg.MasterKey, c.cfg.MasterKeyFile, c.cfg.OldMasterKeys)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	c.kr = kr
	return kr, nil
}

func (c *cli) lookupSource(ctx context.Context, systemID uint64, database string) (string, bool, error) {
	cat, err := c.catalog(ctx)
	if err != nil {
		return "", false, err
	}
	return cat.LookupSource(ctx, systemID, database)
}
