package activities

import (
	"context"
	"fmt"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

// SchemaHistory lists the connector's schema changes, newest first, as
// the destination recorded them. A destination that does not follow the
// source's DDL has none to list: its report is empty.
func (a *Tables) SchemaHistory(ctx context.Context, in contract.SchemaHistoryInput) (*contract.SchemaHistoryReport, error) {
	at := site{activity: contract.ActivitySchemaHistory, connector: in.Name, metrics: a.Metrics}
	res, err := a.schemaHistory(ctx, in, &at)
	return res, boundary(err, at)
}

func (a *Tables) schemaHistory(ctx context.Context, in contract.SchemaHistoryInput, at *site) (*contract.SchemaHistoryReport, error) {
	if in.Limit < 0 || in.Limit > contract.MaxSchemaHistory {
		return nil, fmt.Errorf("%w: limit %d: want 0 to %d", errInvalidInput, in.Limit, contract.MaxSchemaHistory)
	}
	if in.Table != "" {
		if _, err := schema.ParseQualified(in.Table); err != nil {
			return nil, fmt.Errorf("%w: %w", errInvalidInput, err)
		}
	}
	env, err := loadConnector(ctx, a.Catalog, a.Keyring, in.Name, &at.passwords)
	if err != nil {
		return nil, err
	}
	log := activityLog(ctx, a.log()).With("connector", in.Name)
	dst, err := openTargetSink(ctx, a.Sinks, env.dst, env.conn.Selection.TargetSchema, log)
	if err != nil {
		return nil, err
	}
	defer dst.Close(context.WithoutCancel(ctx))
	rep := &contract.SchemaHistoryReport{Connector: in.Name, Changes: []contract.SchemaChangeInfo{}}
	f, ok := dst.(sink.ShapeFollower)
	if !ok {
		return rep, nil
	}
	changes, err := f.SchemaHistory(ctx, in.Name, in.Table, in.Limit)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		rep.Changes = append(rep.Changes, schemaChangeInfo(c))
	}
	return rep, nil
}

func schemaChangeInfo(c sink.SchemaChange) contract.SchemaChangeInfo {
	return contract.SchemaChangeInfo{
		Table: schema.QualifiedName{Schema: c.Schema, Name: c.Table}.String(), LSN: c.LSN.String(),
		Change: c.Change, Statement: c.Statement, Outcome: c.Outcome, Detail: c.Detail, At: c.At}
}

// latestSchemaChanges is what discovery reports of the schema history:
// the Web UI shows it. A destination that cannot say reports nothing.
func latestSchemaChanges(ctx context.Context, dst sink.Sink, connector string) []contract.SchemaChangeInfo {
	f, ok := dst.(sink.ShapeFollower)
	if !ok {
		return nil
	}
	changes, err := f.SchemaHistory(ctx, connector, "", latestShown)
	if err != nil {
		return nil
	}
	out := make([]contract.SchemaChangeInfo, len(changes))
	for i, c := range changes {
		out[i] = schemaChangeInfo(c)
	}
	return out
}

// latestShown bounds the schema changes the workflow's details show.
const latestShown = 5
