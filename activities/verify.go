package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/secrets"
	"github.com/ardent-cdc/ardent/internal/verify"
)

// Verifier compares a connector's destination with its source.
type Verifier struct {
	Catalog           *catalog.Store
	Keyring           *secrets.Keyring
	HeartbeatInterval time.Duration
	Metrics           *Metrics
	Log               *slog.Logger
	// run is verify.Run when nil; tests put a stand-in here.
	run func(context.Context, verify.Options) (*verify.Report, error)
}

// Verify compares the connector's destination tables with its source at
// one source LSN (see internal/verify) and returns the report: a report
// with Equal false is a result, not an error. It runs beside the
// connector's Replicate activity, which must keep streaming: the
// destination side is read once the apply reaches the verify point. An
// unknown table is InvalidInput, no free slot on the source NoFreeSlot, an
// apply that does not reach the point ApplyNotReached (all non-retryable).
// Nothing it creates outlives it: the source slot is temporary.
func (v *Verifier) Verify(ctx context.Context, in VerifyInput) (*VerifyReport, error) {
	at := site{activity: VerifyName, connector: in.Name, metrics: v.Metrics}
	rep, err := v.verify(ctx, in, &at)
	if err != nil {
		return nil, boundary(err, at)
	}
	v.Metrics.verifiedReport(in.Name, rep, len(in.Tables) == 0, time.Now())
	activityLog(ctx, v.log()).Info("verification completed", "connector", in.Name, "lsn", rep.LSN, "equal", rep.Equal,
		"tables", len(rep.Tables), "different", strings.Join(rep.Different(), ","))
	return rep, nil
}

func (v *Verifier) verify(ctx context.Context, in VerifyInput, at *site) (*VerifyReport, error) {
	env, err := loadConnector(ctx, v.Catalog, v.Keyring, in.Name, &at.passwords)
	if err != nil {
		return nil, err
	}
	conn := env.conn
	hb := startHeartbeat(ctx, v.HeartbeatInterval, VerifyProgress{Tables: len(conn.Schema)})
	defer hb.close()
	run := v.run
	if run == nil {
		run = verify.Run
	}
	rep, err := run(ctx, verify.Options{
		Source: env.src.Config, Destination: env.dst.Config, Connector: in.Name, Tables: conn.Schema, Only: in.Tables,
		Target: schema.Target(conn.Selection.TargetSchema),
		Progress: func(done, total int, table string) {
			hb.set(VerifyProgress{Tables: total, TablesDone: done, Table: table})
		},
		Log: activityLog(ctx, v.log()).With("connector", in.Name),
	})
	if err != nil {
		return nil, fmt.Errorf("verify connector %s: %w", in.Name, err)
	}
	return rep, nil
}

func (v *Verifier) log() *slog.Logger {
	if v.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return v.Log
}
