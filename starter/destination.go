package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// destinationFlags are where (and, for onboard, how fast) a connector
// writes: shared by onboard and preflight.
type destinationFlags struct {
	target  string
	replace bool
	// onboard only
	parallelism       int
	maxRate           string
	dropColumns       string
	dropColumnsTables []string
}

func (f *destinationFlags) register(cmd *cobra.Command, snapshot bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target-schema", "",
		"write the source's tables into this destination schema (NAME), or each schema S into PREFIX+S (PREFIX*, e.g. shop_*), so sources with the same table names share one destination database")
	if snapshot {
		fl.StringVar(&f.dropColumns, "drop-columns", contract.DropColumnsKeep,
			"when a column is dropped on the source: keep it in the destination, nullable, with the values it had (keep), or drop it there too (drop)")
		fl.StringArrayVar(&f.dropColumnsTables, "drop-columns-table", nil,
			"--drop-columns for one table: schema.table=keep or schema.table=drop (repeatable)")
	}
	fl.BoolVar(&f.replace, "replace-existing", false,
		"empty and take destination tables that already hold rows Ardent did not write (never another connector's)")
	if snapshot {
		fl.IntVar(&f.parallelism, "snapshot-parallelism", 0, "copy at most this many tables or chunks at once during the initial snapshot (default: the worker's, 4)")
		fl.StringVar(&f.maxRate, "snapshot-max-rate", "", "read at most this many bytes per second from the source during the initial snapshot, e.g. 20MB or 512KiB (default: no cap)")
	}
}

// options validates the flags into the connector's options.
func (f *destinationFlags) options() (contract.ConnectorOptions, error) {
	o := contract.ConnectorOptions{TargetSchema: f.target, ReplaceExisting: f.replace, SnapshotParallelism: f.parallelism,
		DropColumns: f.dropColumns, DropColumnsTables: f.dropColumnsTables}
	if _, _, err := o.DropColumnsPolicies(); err != nil {
		return o, usageErr("--drop-columns: %w", err)
	}
	if _, err := schema.ParseTarget(f.target); err != nil {
		return o, usageErr("--target-schema: %w", err)
	}
	if f.parallelism < 0 {
		return o, usageErr("--snapshot-parallelism: %d is negative", f.parallelism)
	}
	if f.maxRate != "" {
		n, err := parseByteRate(f.maxRate)
		if err != nil {
			return o, usageErr("--snapshot-max-rate: %w", err)
		}
		o.SnapshotMaxBytesPerSecond = n
	}
	return o, nil
}

// byteUnits are the suffixes parseByteRate takes, case-insensitive.
var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30},
	{"kb", 1000}, {"mb", 1000 * 1000}, {"gb", 1000 * 1000 * 1000},
	{"k", 1000}, {"m", 1000 * 1000}, {"g", 1000 * 1000 * 1000},
	{"b", 1},
}

// parseByteRate reads a bytes-per-second figure: "20MB", "512KiB", "1.5GB",
// "1000000", optionally followed by "/s".
func parseByteRate(s string) (int64, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	v = strings.TrimSuffix(v, "/s")
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("%q is not a rate in bytes per second (e.g. 20MB, 512KiB, 1GB)", s)
	}
	n := int64(f * float64(mult))
	if n < 64<<10 {
		return 0, fmt.Errorf("%q is below 64KiB per second, too slow to copy anything", s)
	}
	return n, nil
}

// liveConnector asks the catalog, when one is configured, whether a
// connector is live; nil otherwise (preflight then counts every owner of a
// destination table as live).
func (c *cli) liveConnector() func(context.Context, string) (bool, error) {
	if c.knownSource == nil {
		return nil
	}
	return func(ctx context.Context, name string) (bool, error) {
		cat, err := c.catalog(ctx)
		if err != nil {
			return false, err
		}
		conn, err := cat.Get(ctx, name)
		if errors.Is(err, catalog.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return conn.DroppedAt == nil, nil
	}
}
