package contract

import "time"

// VerifyReport is the outcome of one verification: the Verify activity's
// result, the verify update's answer, the last one in the status, and what
// `ardent verify --format json` prints.
type VerifyReport struct {
	Connector string `json:"connector"`
	// LSN is the source position both sides were compared at: the temporary
	// slot's consistent point. DestinationLSN is the connector's checkpoint
	// in the destination snapshot (its last transaction before LSN).
	LSN            string    `json:"lsn"`
	DestinationLSN string    `json:"destination_lsn"`
	StartedAt      time.Time `json:"started_at"`
	FinishedAt     time.Time `json:"finished_at"`
	// Stall is an upper bound of how long the apply waited for the
	// destination snapshot; Attempts counts the tries at taking the two
	// snapshots (a try is abandoned when the apply passed LSN first).
	Stall    time.Duration `json:"stall_ns"`
	Attempts int           `json:"attempts"`
	Equal    bool          `json:"equal"`
	Tables   []VerifyTable `json:"tables"`
}

// Different returns the tables that differ, as "schema.table".
func (r *VerifyReport) Different() []string {
	var out []string
	for _, t := range r.Tables {
		if !t.Equal {
			out = append(out, t.Table)
		}
	}
	return out
}

// VerifyTable is one table's comparison.
type VerifyTable struct {
	Table           string `json:"table"` // "schema.table" of the source
	Destination     string `json:"destination"`
	Equal           bool   `json:"equal"`
	SourceRows      int64  `json:"source_rows"`
	DestinationRows int64  `json:"destination_rows"`
	// Key is the column whose ranges chunk the table (the first key
	// column); empty for a table without a key, compared as a whole.
	Key    string `json:"key,omitempty"`
	Chunks int    `json:"chunks"`
	// DifferentChunks counts the key ranges that differ; Ranges lists the
	// first of them and Examples the first differing keys inside them.
	DifferentChunks int                `json:"different_chunks,omitempty"`
	Ranges          []VerifyRange      `json:"ranges,omitempty"`
	Examples        []VerifyDifference `json:"examples,omitempty"`
	// Missing is set when the destination table does not exist.
	Missing bool `json:"missing,omitempty"`
	// Note explains a keyless table's difference (no keys to name).
	Note     string        `json:"note,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// VerifyRange is a key range [From, To) of the chunking column, in the
// destination type's order; an empty bound is unbounded.
type VerifyRange struct {
	From            string `json:"from,omitempty"`
	To              string `json:"to,omitempty"`
	SourceRows      int64  `json:"source_rows"`
	DestinationRows int64  `json:"destination_rows"`
}

// VerifyDifference is one key that differs: the row is only in the source
// (missing from the destination), only in the destination (extra), or in
// both with other values (changed).
type VerifyDifference struct {
	Key  string `json:"key"` // the key columns' text, "(a, b)" for several
	Kind string `json:"kind"`
}

// Difference kinds.
const (
	KindMissing = "missing"
	KindExtra   = "extra"
	KindChanged = "changed"
)
