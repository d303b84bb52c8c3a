package snapshot

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

func TestSplitPages(t *testing.T) {
	tests := []struct {
		name              string
		pages, chunkPages int64
		want              [][2]int64
	}{
		{"empty table", 0, 8, nil},
		{"fits one chunk", 8, 8, nil},
		{"no chunking", 100, 0, nil},
		{"exact multiple, last open", 24, 8, [][2]int64{{0, 8}, {8, 16}, {16, -1}}},
		{"remainder, last open", 20, 8, [][2]int64{{0, 8}, {8, 16}, {16, -1}}},
		{"one past", 9, 8, [][2]int64{{0, 8}, {8, -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, splitPages(tt.pages, tt.chunkPages))
		})
	}
}

func TestChunkPagesFor(t *testing.T) {
	tests := []struct {
		name        string
		pages, conf int64
		parallelism int
		want        int64
	}{
		{"small table keeps the floor", 100, 8192, 4, minChunkPages},
		{"large table split for every worker", 160_000, 100_000, 4, 10_000},
		{"capped by the configured size", 1_000_000, 8192, 4, 8192},
		{"configured below the floor wins", 1_000_000, 16, 4, 16},
		{"zero parallelism treated as one", 40_000, 100_000, 0, 10_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, chunkPagesFor(tt.pages, tt.conf, tt.parallelism))
		})
	}
}

func TestSkipPartitionParents(t *testing.T) {
	tables := []schema.Table{
		{Schema: "public", Name: "parted", Kind: "p"},
		{Schema: "public", Name: "parted_a", Kind: "r", Partition: true, Parent: "public.parted"},
		{Schema: "public", Name: "mid", Kind: "p", Partition: true, Parent: "public.parted"},
		{Schema: "public", Name: "lonely", Kind: "p"},
		{Schema: "public", Name: "plain", Kind: "r"},
	}
	assert.Equal(t, []int{1, 3, 4}, skipPartitionParents(tables))
}

func cols(names ...string) []schema.Column {
	var out []schema.Column
	for _, n := range names {
		out = append(out, schema.Column{Name: n})
	}
	return out
}

func TestBuildJobs(t *testing.T) {
	tables := []schema.Table{
		{Schema: "public", Name: "small", Kind: "r", Columns: cols("id")},
		{Schema: "public", Name: "big", Kind: "r", Columns: cols("id", "e")},
		{Schema: "public", Name: "root", Kind: "p", Columns: cols("id")},
	}
	infos := []tableInfo{
		{exists: true, pages: 3, portable: map[string]bool{"id": true}},
		{exists: true, pages: 20, portable: map[string]bool{"id": true, "e": false}},
		{exists: true, pages: 0, portable: map[string]bool{"id": true}},
	}
	jobs, queue, err := buildJobs(tables, infos, 8, true, 4, true)
	require.NoError(t, err)
	require.Len(t, jobs, 3)
	assert.True(t, jobs[0].binary)
	assert.False(t, jobs[1].binary, "one non-portable column sends the table as text")
	require.Len(t, queue, 5)
	assert.Equal(t, "big", queue[0].job.table.Name, "largest table first")
	var pages int64
	for _, c := range jobs[1].chunks {
		pages += c.pages
	}
	assert.Equal(t, int64(20), pages, "chunk pages add up to the table")
	assert.True(t, jobs[2].chunks[0].whole, "a partitioned root is read whole")

	noTID, q2, err := buildJobs(tables, infos, 8, true, 4, false)
	require.NoError(t, err)
	assert.Len(t, q2, 3, "unsplit, every table is one chunk")
	assert.True(t, noTID[1].chunks[0].whole)

	infos[0].exists = false
	_, _, err = buildJobs(tables, infos, 8, true, 4, true)
	require.ErrorContains(t, err, `"public"."small": not found`)
	require.ErrorIs(t, err, ErrSchemaChanged)
	infos[0].exists = true
	delete(infos[1].portable, "e")
	_, _, err = buildJobs(tables, infos, 8, true, 4, true)
	require.ErrorContains(t, err, `column "e" not found`)
}

func TestCopySQL(t *testing.T) {
	tb := schema.Table{Schema: "MixedCase", Name: `Quoted "T"`, Kind: "r", Columns: cols("Id", "select")}
	j := &tableJob{table: tb, binary: true}
	tests := []struct {
		name string
		c    chunk
		want string
	}{
		{"whole", chunk{job: j, whole: true},
			`COPY "MixedCase"."Quoted ""T""" ("Id", "select") TO STDOUT (FORMAT binary)`},
		{"whole with a generated column", chunk{job: &tableJob{table: schema.Table{Schema: "s", Name: "g", Kind: "r",
			Columns: []schema.Column{{Name: "id"}, {Name: "total", Generated: true}}}, binary: true}, whole: true},
			`COPY (SELECT "id", "total" FROM ONLY "s"."g") TO STDOUT (FORMAT binary)`},
		{"range", chunk{job: j, lo: 8, hi: 16},
			`COPY (SELECT "Id", "select" FROM ONLY "MixedCase"."Quoted ""T""" WHERE ctid >= '(8,0)' AND ctid < '(16,0)') TO STDOUT (FORMAT binary)`},
		{"open range", chunk{job: j, lo: 16, hi: -1},
			`COPY (SELECT "Id", "select" FROM ONLY "MixedCase"."Quoted ""T""" WHERE ctid >= '(16,0)') TO STDOUT (FORMAT binary)`},
		{"text", chunk{job: &tableJob{table: tb}, whole: true},
			`COPY "MixedCase"."Quoted ""T""" ("Id", "select") TO STDOUT (FORMAT text)`},
		{"text range", chunk{job: &tableJob{table: tb}, lo: 0, hi: 8},
			`COPY (SELECT "Id", "select" FROM ONLY "MixedCase"."Quoted ""T""" WHERE ctid >= '(0,0)' AND ctid < '(8,0)') TO STDOUT (FORMAT text)`},
		{"whole, kind unknown", chunk{job: &tableJob{table: schema.Table{Schema: "s", Name: "u", Columns: cols("id")}, binary: true}, whole: true},
			`COPY (SELECT "id" FROM ONLY "s"."u") TO STDOUT (FORMAT binary)`},
		{"partitioned root", chunk{job: &tableJob{table: schema.Table{Schema: "s", Name: "p", Kind: "p", Columns: cols("id")}, binary: true}, whole: true},
			`COPY (SELECT "id" FROM "s"."p") TO STDOUT (FORMAT binary)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, copySQL(tt.c)) })
	}
}

// loader is a Copier that answers SharedTableLoads.
type loader struct {
	sink.Copier
	shared bool
	err    error
}

func (l loader) SharedTableLoads(context.Context) (bool, error) { return l.shared, l.err }

func TestSplitTables(t *testing.T) {
	tests := []struct {
		name   string
		c      sink.Copier
		fixed  bool
		major  int
		want   bool
		errMsg string
	}{
		{"a copier that does not say", nil, false, 15, true, ""},
		{"destination that loads one table on several sessions", loader{shared: true}, false, 15, true, ""},
		{"destination that does not", loader{shared: false}, false, 15, false, ""},
		{"a fixed chunk size splits anyway", loader{shared: false}, true, 15, true, ""},
		{"no TID range scans on the source", loader{shared: true}, true, 13, false, ""},
		{"the destination's answer fails", loader{err: errors.New("boom")}, false, 15, false, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitTables(context.Background(), tt.c, tt.fixed, tt.major)
			if tt.errMsg != "" {
				require.ErrorContains(t, err, tt.errMsg)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func ExampleSlotSnapshot() {
	fmt.Println(createSlotSQL("ardent_orders", 15))
	fmt.Println(createSlotSQL("ardent_orders", 14))
	// Output:
	// CREATE_REPLICATION_SLOT ardent_orders LOGICAL wal2json (SNAPSHOT 'export')
	// CREATE_REPLICATION_SLOT ardent_orders LOGICAL wal2json EXPORT_SNAPSHOT
}

func TestParallelism(t *testing.T) {
	tests := []struct {
		name string
		o    Options
		want int
	}{
		{"default", Options{}, DefaultParallelism()},
		{"budget below default", Options{ConnectionBudget: 2}, 2},
		{"budget above default", Options{ConnectionBudget: 20}, DefaultParallelism()},
		{"explicit", Options{Parallelism: 8}, 8},
		{"explicit capped by budget", Options{Parallelism: 8, ConnectionBudget: 3}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { assert.Equal(t, tt.want, tt.o.parallelism()) })
	}
	assert.Equal(t, min(4, max(2, runtime.NumCPU())), DefaultParallelism(), "the worker's cores, 2 to 4")
}
