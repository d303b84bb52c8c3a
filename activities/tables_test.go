package activities

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/catalog"
	"github.com/ardent-cdc/ardent/internal/schema"
	"github.com/ardent-cdc/ardent/internal/sink"
)

func tbl(name string, oid uint32, id schema.Identity) schema.Table {
	return schema.Table{Schema: "s", Name: name, OID: oid, Identity: id}
}

func st(name, state, cause string) sink.TableState {
	return sink.TableState{Schema: "s", Name: name, State: state, Cause: cause}
}

func TestPlanTables(t *testing.T) {
	pk, none := schema.IdentityPrimaryKey, schema.IdentityNone
	tests := []struct {
		name                    string
		known, found            []schema.Table
		states                  []sink.TableState
		removed                 []string
		backfill, dropped, gone []string
		set                     map[string]string // table -> state recorded
		attention               []string
	}{
		{name: "nothing changed", known: []schema.Table{tbl("a", 1, pk)}, found: []schema.Table{tbl("a", 1, pk)},
			states: []sink.TableState{st("a", sink.TableStreaming, "")}, set: map[string]string{}},
		{name: "a new table is backfilled", found: []schema.Table{tbl("a", 1, pk), tbl("b", 2, pk)},
			states: []sink.TableState{st("a", sink.TableStreaming, "")}, backfill: []string{"s.b"}, set: map[string]string{}},
		{name: "a new table without identity is quarantined", found: []schema.Table{tbl("b", 2, none)},
			set: map[string]string{"s.b": sink.TableQuarantined}, attention: []string{"s.b"}},
		{name: "its identity came back", found: []schema.Table{tbl("b", 2, pk)},
			states: []sink.TableState{st("b", sink.TableQuarantined, causeNoIdentity)}, backfill: []string{"s.b"}, set: map[string]string{}},
		{name: "a streaming table lost its identity", found: []schema.Table{tbl("a", 1, none)},
			states: []sink.TableState{st("a", sink.TableStreaming, "")}, set: map[string]string{"s.a": sink.TableQuarantined}, attention: []string{"s.a"}},
		{name: "a quarantined table stays in attention", found: []schema.Table{tbl("a", 1, pk)},
			states: []sink.TableState{st("a", sink.TableQuarantined, "column x does not exist")}, set: map[string]string{}, attention: []string{"s.a"}},
		{name: "dropped", known: []schema.Table{tbl("a", 1, pk)}, states: []sink.TableState{st("a", sink.TableStreaming, "")},
			dropped: []string{"s.a"}, gone: []string{"s.a"}, set: map[string]string{"s.a": sink.TableDropped}},
		{name: "renamed: the old one dropped, the new one backfilled", known: []schema.Table{tbl("a", 1, pk)}, found: []schema.Table{tbl("z", 1, pk)},
			states: []sink.TableState{st("a", sink.TableStreaming, "")}, backfill: []string{"s.z"}, dropped: []string{"s.a"}, gone: []string{"s.a"},
			set: map[string]string{"s.a": sink.TableDropped}},
		{name: "removed by the operator", known: []schema.Table{tbl("a", 1, pk)}, states: []sink.TableState{st("a", sink.TableStreaming, "")},
			removed: []string{"s.a"}, gone: []string{"s.a"}, set: map[string]string{"s.a": sink.TableRemoved}},
		{name: "added back", found: []schema.Table{tbl("a", 1, pk)}, states: []sink.TableState{st("a", sink.TableRemoved, "")},
			backfill: []string{"s.a"}, set: map[string]string{}},
		{name: "replaced under its name (another oid) while streaming", known: []schema.Table{tbl("a", 1, pk)}, found: []schema.Table{tbl("a", 9, pk)},
			states: []sink.TableState{st("a", sink.TableStreaming, "")}, backfill: []string{"s.a"}, set: map[string]string{}},
		{name: "replaced under its name while quarantined by the stream", known: []schema.Table{tbl("a", 1, pk)}, found: []schema.Table{tbl("a", 9, pk)},
			states: []sink.TableState{st("a", sink.TableQuarantined, "column \"x\" changed type")}, backfill: []string{"s.a"}, set: map[string]string{}},
		{name: "quarantined until copied again", found: []schema.Table{tbl("a", 1, pk)},
			states:   []sink.TableState{{Schema: "s", Name: "a", State: sink.TableQuarantined, Cause: "volatile default", Remedy: sink.RemedyAutoResync}},
			backfill: []string{"s.a"}, set: map[string]string{}},
		{name: "recreated after a drop", found: []schema.Table{tbl("a", 7, pk)}, states: []sink.TableState{st("a", sink.TableDropped, "")},
			backfill: []string{"s.a"}, set: map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := planTables("c", tc.known, tc.found, tc.states, tc.removed)
			assert.Equal(t, tc.backfill, p.res.Backfill, "backfill")
			assert.Equal(t, tc.dropped, p.res.Dropped, "dropped")
			assert.Equal(t, tc.gone, p.gone, "gone")
			set := map[string]string{}
			for _, s := range p.set {
				set[s.FullName()] = s.State
			}
			assert.Equal(t, tc.set, set, "states recorded")
			var attention []string
			for _, a := range p.res.Attention {
				attention = append(attention, a.Table)
				assert.NotEmpty(t, a.Remedy+a.Cause, a.Table)
			}
			assert.Equal(t, tc.attention, attention, "attention")
		})
	}
	renamed := planTables("c", []schema.Table{tbl("a", 1, pk)}, []schema.Table{tbl("z", 1, pk)}, []sink.TableState{st("a", sink.TableStreaming, "")}, nil)
	assert.Equal(t, "renamed to s.z on the source", renamed.set[0].Cause)
	lost := planTables("c", nil, []schema.Table{tbl("a", 1, none)}, []sink.TableState{st("a", sink.TableStreaming, "")}, nil)
	assert.Contains(t, lost.set[0].Remedy, "ardent resync c --table s.a")
}

func TestChangeSelection(t *testing.T) {
	sel := catalog.Selection{Schemas: []string{"s"}, Tables: []string{"o.t"}, ExcludeTables: []string{"s.x"}}
	got, err := changeSelection(sel, []string{"s.x", "p.n"}, []string{"o.t", "s.y"})
	assert.NoError(t, err)
	assert.Equal(t, catalog.Selection{Schemas: []string{"s"}, Tables: []string{"p.n"}, ExcludeTables: []string{"o.t", "s.y"}}, got)
	got, err = changeSelection(catalog.Selection{}, []string{"o.t"}, nil)
	assert.NoError(t, err)
	assert.Equal(t, catalog.Selection{Schemas: []string{"public"}, Tables: []string{"o.t"}}, got,
		"the default schema stays selected")
	_, err = changeSelection(sel, []string{"a.b.c"}, nil)
	assert.ErrorIs(t, err, errInvalidInput)
}

func TestPartitionSchemas(t *testing.T) {
	leaf := func(nsp, name string) schema.Table { return schema.Table{Schema: nsp, Name: name, Parent: "s.events"} }
	sel := catalog.Selection{Schemas: []string{"s"}, Tables: []string{"o.t"}}
	found := []schema.Table{tbl("a", 1, schema.IdentityPrimaryKey), {Schema: "o", Name: "t"}, leaf("staging", "e4"), leaf("archive", "e1"), leaf("staging", "e5")}
	assert.Equal(t, []string{"archive", "staging"}, partitionSchemas(sel, found), "leaves outside the named schemas")
	assert.Nil(t, partitionSchemas(sel, found[:2]), "none outside")
	assert.Nil(t, partitionSchemas(catalog.Selection{}, []schema.Table{{Schema: "public", Name: "x"}}), "the default schema is named")

	// The stream receives them.
	conn := catalog.Connector{Selection: catalog.Selection{Schemas: []string{"s"}, PartitionSchemas: []string{"staging"}}}
	assert.Equal(t, []string{"s", "staging"}, streamSchemas(conn))
}

// findTable is table's entry in rep (zero when absent).
func findTable(rep contract.TablesReport, table string) contract.TableInfo {
	for _, t := range rep.Tables {
		if t.Table == table {
			return t
		}
	}
	return contract.TableInfo{}
}
