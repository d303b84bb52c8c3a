package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ardent-cdc/ardent/internal/schema"
)

// Ownership: a connector writes only destination tables recorded as its
// own. It takes a table only when it is missing, empty, or the operator
// said to replace it: two connectors can share a destination database but
// never a table, and rows Ardent did not write are never emptied by
// surprise.

// Owners is implemented by destinations that record table ownership.
type Owners interface {
	// Targets reports, read-only, the state of the destination tables the
	// source tables map to.
	Targets(ctx context.Context, me Owner, tables []schema.Table) ([]TargetTable, error)
	// Claim records the tables as owner's, atomically: missing and empty
	// unowned tables are taken, owner's own kept, takeover (destination
	// "schema.table" names, from Judge) taken from whoever had them;
	// anything else is ErrNotOwned and nothing is claimed.
	Claim(ctx context.Context, owner Owner, tables []schema.Table, takeover []string) error
}

// ErrNotOwned means a table the connector was about to truncate or take is
// another connector's, or holds rows Ardent did not write.
var ErrNotOwned = errors.New("destination table not owned by this connector")

// Owner names who claims tables: a connector and its source database. An
// empty Source matches any source of that connector (tests and tools that
// know only the name).
type Owner struct {
	Connector string
	Source    string
}

// SourceIdentity is the Owner.Source of a source database.
func SourceIdentity(systemIdentifier uint64, database string) string {
	return fmt.Sprintf("%d/%s", systemIdentifier, database)
}

// Owns reports whether a table recorded as connector's, from source, is o's.
func (o Owner) Owns(connector, source string) bool {
	return connector == o.Connector && (o.Source == "" || source == "" || source == o.Source)
}

// TargetState is what a destination table is to a connector about to write
// into it.
type TargetState string

// The states of a target table.
const (
	// TargetMissing: Ardent creates it.
	TargetMissing TargetState = "missing"
	// TargetEmpty: it exists, holds no rows and nobody owns it.
	TargetEmpty TargetState = "empty"
	// TargetOwned: this connector's already (an earlier attempt).
	TargetOwned TargetState = "owned"
	// TargetClaimed: recorded as another connector's (Owner says whose;
	// HasRows whether it holds rows).
	TargetClaimed TargetState = "claimed"
	// TargetForeignRows: it holds rows and no connector owns it.
	TargetForeignRows TargetState = "foreign_rows"
)

// TargetTable is one destination table as a connector would use it.
type TargetTable struct {
	Source      string      `json:"source"`      // schema.table on the source
	Destination string      `json:"destination"` // schema.table on the destination
	State       TargetState `json:"state"`
	Owner       string      `json:"owner,omitempty"`
	OwnerSource string      `json:"owner_source,omitempty"`
	HasRows     bool        `json:"has_rows,omitempty"`
	// Missing lists the privileges the destination role lacks on it (or,
	// for a missing table, to create it).
	Missing []string `json:"missing,omitempty"`
}

// TargetProblem is a destination table a connector may not use as it is,
// and what the operator can do about it.
type TargetProblem struct {
	Destination string `json:"destination"`
	Message     string `json:"message"`
	Remedy      string `json:"remedy"`
}

// Judge decides, from Targets' report, which tables block the connector
// and which it takes over. live tells whether a connector name is a live
// connector (the catalog's knowledge): a table claimed by a live connector
// is never taken; one left by a dropped connector counts as rows Ardent did
// not write for this connector. replace is the operator's
// --replace-existing: such tables are then emptied and taken.
func Judge(states []TargetTable, me Owner, live func(connector string) bool, replace bool) (problems []TargetProblem, takeover []string) {
	for _, t := range states {
		if len(t.Missing) > 0 {
			problems = append(problems, TargetProblem{Destination: t.Destination,
				Message: fmt.Sprintf("%s: the destination role lacks %s", t.Destination, strings.Join(t.Missing, ", ")),
				Remedy:  "grant them to the destination role (or connect as the owner of the destination database)"})
			continue
		}
		switch t.State {
		case TargetClaimed:
			if t.Owner != me.Connector && live(t.Owner) {
				problems = append(problems, TargetProblem{Destination: t.Destination,
					Message: fmt.Sprintf("%s is written by connector %q", t.Destination, t.Owner),
					Remedy:  "map this source's tables to another schema with --target-schema (e.g. --target-schema " + me.Connector + "_*), or drop connector " + t.Owner + " first"})
				continue
			}
			if !t.HasRows {
				takeover = append(takeover, t.Destination)
				continue
			}
			if replace {
				takeover = append(takeover, t.Destination)
				continue
			}
			problems = append(problems, TargetProblem{Destination: t.Destination,
				Message: fmt.Sprintf("%s holds rows written by connector %q, which no longer replicates into it", t.Destination, t.Owner),
				Remedy:  "pass --replace-existing to empty it and copy this source into it, or choose another schema with --target-schema"})
		case TargetForeignRows:
			if replace {
				takeover = append(takeover, t.Destination)
				continue
			}
			problems = append(problems, TargetProblem{Destination: t.Destination,
				Message: fmt.Sprintf("%s already exists and holds rows Ardent did not write", t.Destination),
				Remedy:  "pass --replace-existing to empty it and copy this source into it, or choose another schema with --target-schema"})
		}
	}
	return problems, takeover
}

// Targeted is implemented by destinations that can write a source's tables
// into other schemas (--target-schema).
type Targeted interface {
	SetTarget(schema.Target)
}

// ServerIdentity tells whether two connections reach the same database:
// equal strings mean the same database of the same running server.
type ServerIdentity interface {
	ServerIdentity(ctx context.Context) (string, error)
}

// ServerIdentitySQL is the PostgreSQL query behind ServerIdentity: the
// server's start time (to the microsecond, so two servers never share it)
// and the database's oid.
const ServerIdentitySQL = `SELECT pg_postmaster_start_time()::text || '/' || (SELECT oid FROM pg_database WHERE datname = current_database())::text`

// ErrSameDatabase: the destination is the source database itself.
var ErrSameDatabase = errors.New("the destination is the source database itself")

// ConflictError is a destination whose tables a connector may not use as
// they are: each problem names the table and its remedy.
type ConflictError struct {
	Problems []TargetProblem
}

func (e *ConflictError) Error() string {
	msgs := make([]string, 0, len(e.Problems))
	for i, p := range e.Problems {
		if i == 5 {
			msgs = append(msgs, fmt.Sprintf("and %d more", len(e.Problems)-i))
			break
		}
		msgs = append(msgs, p.Message)
	}
	return "destination: " + strings.Join(msgs, "; ")
}

// Remedy lists each distinct remedy once.
func (e *ConflictError) Remedy() string {
	var out []string
	for _, p := range e.Problems {
		if !slices.Contains(out, p.Remedy) {
			out = append(out, p.Remedy)
		}
	}
	return strings.Join(out, "; ")
}

// GuardOptions is what Guard judges.
type GuardOptions struct {
	// SourceIdentity is ServerIdentitySQL's answer on the source ("":
	// unknown, not compared).
	SourceIdentity string
	Me             Owner
	Tables         []schema.Table // source tables
	Target         schema.Target
	Replace        bool
	// Live tells whether a connector name is a live connector; nil counts
	// every owner as live (the safe answer).
	Live func(ctx context.Context, connector string) (bool, error)
}

// Guard decides whether a connector may write its tables into dst: never
// into the source itself, never into a table a live connector writes, into
// one holding rows Ardent did not write only with Replace. It returns the
// tables to take over (Judge), or ErrSameDatabase, a *ConflictError, or
// the error that kept it from deciding.
func Guard(ctx context.Context, dst Sink, o GuardOptions) (takeover []string, err error) {
	if err := o.Target.Check(o.Tables); err != nil {
		return nil, err
	}
	if id, ok := dst.(ServerIdentity); ok && o.SourceIdentity != "" {
		dstID, err := id.ServerIdentity(ctx)
		if err != nil {
			return nil, err
		}
		if dstID == o.SourceIdentity {
			return nil, ErrSameDatabase
		}
	}
	owners, ok := dst.(Owners)
	if !ok {
		return nil, nil // a destination without tables of its own to protect
	}
	states, err := owners.Targets(ctx, o.Me, o.Tables)
	if err != nil {
		return nil, err
	}
	var lookupErr error
	live := func(name string) bool {
		if o.Live == nil {
			return true
		}
		ok, err := o.Live(ctx, name)
		if err != nil {
			lookupErr = err
			return true
		}
		return ok
	}
	problems, takeover := Judge(states, o.Me, live, o.Replace)
	if lookupErr != nil {
		return nil, fmt.Errorf("look up the owners of destination tables: %w", lookupErr)
	}
	if len(problems) > 0 {
		return nil, &ConflictError{Problems: problems}
	}
	return takeover, nil
}
