package sink

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pglogrepl"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/shape"
)

// SchemaChange is one entry of a connector's schema history: a change of a
// source table's shape the destination followed (or refused to follow),
// with the destination statement Ardent ran for it.
type SchemaChange struct {
	ID            int64
	Connector     string
	Schema, Table string        // the source table
	LSN           pglogrepl.LSN // the source transaction it arrived with
	Change        string        // what changed on the source
	Statement     string        // the destination DDL run, "" when none
	Outcome       string        // one of the Outcome constants
	Detail        string        // why, for kept and quarantined changes
	At            time.Time
}

// Outcomes of a SchemaChange.
const (
	OutcomeApplied     = "applied"     // Statement ran in the destination
	OutcomeKept        = "kept"        // nothing to run (Detail says why)
	OutcomeQuarantined = "quarantined" // the table stopped: the operator decides
	OutcomeResync      = "resync"      // applied, and the table is copied again
)

// SourceCatalog answers what the stream does not carry about a source
// table's columns: the type the destination stores for a domain or enum,
// and the value rows that existed before an added column have.
type SourceCatalog interface {
	Resolve(ctx context.Context, schema, table string, cols []shape.Column) (map[int]shape.Resolved, error)
}

// ShapeFollower is implemented by destinations that follow the source's
// DDL (internal/shape) in the same transaction as the first change with
// the new shape.
type ShapeFollower interface {
	// SetSourceCatalog is asked about added and retyped columns.
	SetSourceCatalog(SourceCatalog)
	// SetSchemaPolicy sets the connector's policy and per-table
	// ("schema.table") overrides.
	SetSchemaPolicy(def shape.Policy, tables map[string]shape.Policy)
	// SchemaHistory lists the connector's schema changes, newest first,
	// of one table ("schema.table") or all ("").
	SchemaHistory(ctx context.Context, connector, table string, limit int) ([]SchemaChange, error)
	// RecordedShapes returns the shape recorded for each of the connector's
	// tables ("schema.table"), as of its checkpoint.
	RecordedShapes(ctx context.Context, connector string) (map[string]shape.Shape, error)
}

// ShapeComparer is implemented by destinations that can tell how their
// existing tables differ from the source's (re-onboarding into tables a
// previous connector left).
type ShapeComparer interface {
	// ShapeDifferences returns, per existing destination table
	// ("schema.table") that differs, the statements that make it the
	// source table's shape; the snapshot runs them once it has emptied it.
	ShapeDifferences(ctx context.Context, tables []schema.Table) (map[string][]string, error)
}

// RemedyAutoResync is the remedy of a table quarantined until a backfill
// copies it again, which discovery then starts by itself (a column added
// with a volatile default: its existing rows' values never reach the
// stream).
const RemedyAutoResync = "nothing to do: a backfill copies the table again by itself"

// BaseConnector is the connector a checkpoint name belongs to (a backfill
// applies under "NAME#backfill").
func BaseConnector(name string) string {
	base, _, _ := strings.Cut(name, "#")
	return base
}
