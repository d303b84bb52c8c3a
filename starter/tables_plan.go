package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/schema"
)

// The checks add, remove and resync make against the connector's tables
// (the tables update's report) before they send anything.

// liveStates are the states of a table the connector replicates or is
// about to: the ones add refuses and remove must leave one of.
var liveStates = []string{contract.TableSnapshot, contract.TableStreaming, contract.TableBackfilling, contract.TableQueued}

func isLive(state string) bool { return slices.Contains(liveStates, state) }

// tableIndex maps "schema.table" to the connector's table.
func tableIndex(rep *contract.TablesReport) map[string]contract.TableInfo {
	m := make(map[string]contract.TableInfo, len(rep.Tables))
	for _, t := range rep.Tables {
		m[t.Table] = t
	}
	return m
}

// planAdd refuses tables the connector already replicates (or is about to)
// and quarantined ones (resync is their remedy); removed and dropped
// tables may come back. Every refusal is listed.
func planAdd(name string, rep *contract.TablesReport, tables []schema.QualifiedName) error {
	have := tableIndex(rep)
	var problems []string
	for _, q := range tables {
		t, ok := have[q.String()]
		switch {
		case !ok:
		case isLive(t.State):
			problems = append(problems, fmt.Sprintf("%s is already %s in connector %s: nothing to add (`ardent resync %s --table %s` copies it again)",
				t.Table, t.State, name, name, qualifiedArg(q)))
		case t.State == contract.TableQuarantined:
			problems = append(problems, fmt.Sprintf("%s is already in connector %s, quarantined: fix the cause (`ardent tables %s` shows it), "+
				"then `ardent resync %s --table %s`", t.Table, name, name, name, qualifiedArg(q)))
		}
	}
	return refused(problems)
}

// planRemove checks a removal: every table must be the connector's, and a
// table must stay live. It returns the tables to send and those already
// removed (nothing to do for them).
func planRemove(name string, rep *contract.TablesReport, tables []schema.QualifiedName) (send, already []string, err error) {
	have := tableIndex(rep)
	var problems []string
	removing := map[string]bool{}
	for _, q := range tables {
		t, ok := have[q.String()]
		switch {
		case !ok:
			problems = append(problems, unknownTable(name, q, rep))
		case t.State == contract.TableRemoved:
			already = append(already, t.Table)
		default:
			removing[t.Table] = true
			send = append(send, qualifiedArg(q))
		}
	}
	if err := refused(problems); err != nil {
		return nil, nil, err
	}
	if len(send) == 0 {
		return nil, already, nil
	}
	for _, t := range rep.Tables {
		if isLive(t.State) && !removing[t.Table] {
			return send, already, nil
		}
	}
	what := "is the last table"
	if len(send) > 1 {
		what = "are the last tables"
	}
	return nil, nil, &exitError{code: 1, err: fmt.Errorf("%s %s connector %s streams (or backfills): drop the connector instead (`ardent drop %s`); nothing was sent",
		strings.Join(send, ", "), what, name, name)}
}

// planResync checks a resync: with no tables, every table the connector
// still has (n of them; the signal's empty list means all); else each must
// be a table of the connector that can be copied again.
func planResync(name string, rep *contract.TablesReport, tables []schema.QualifiedName) (send []string, n int, err error) {
	if len(tables) == 0 {
		for _, t := range rep.Tables {
			if t.State != contract.TableRemoved && t.State != contract.TableDropped {
				n++
			}
		}
		if n == 0 {
			return nil, 0, &exitError{code: 1, err: fmt.Errorf("connector %s has no table to resync (`ardent tables %s`)", name, name)}
		}
		return nil, n, nil
	}
	have := tableIndex(rep)
	var problems []string
	for _, q := range tables {
		t, ok := have[q.String()]
		switch {
		case !ok:
			problems = append(problems, unknownTable(name, q, rep))
		case t.State == contract.TableRemoved:
			problems = append(problems, fmt.Sprintf("%s was removed from connector %s: `ardent tables add %s %s` brings it back with a new copy",
				t.Table, name, name, qualifiedArg(q)))
		case t.State == contract.TableDropped:
			problems = append(problems, fmt.Sprintf("%s was dropped on the source: there is nothing to copy", t.Table))
		default:
			send = append(send, qualifiedArg(q))
		}
	}
	if err := refused(problems); err != nil {
		return nil, 0, err
	}
	return send, len(send), nil
}

// unknownTable names a table the connector does not have, with a
// case-insensitive match if there is one and a few it does have.
func unknownTable(name string, q schema.QualifiedName, rep *contract.TablesReport) string {
	msg := fmt.Sprintf("connector %s has no table %s", name, q)
	var known []string
	for _, t := range rep.Tables {
		if strings.EqualFold(t.Table, q.String()) {
			return msg + fmt.Sprintf(" (names are case-sensitive: did you mean %s?)", t.Table)
		}
		known = append(known, t.Table)
	}
	if len(known) == 0 {
		return msg + " (it has none)"
	}
	return msg + fmt.Sprintf(" (it has %s; `ardent tables %s` lists them)", firstFew(known, 5), name)
}

// refused is one exit-1 error listing every problem, or nil.
func refused(problems []string) error {
	switch len(problems) {
	case 0:
		return nil
	case 1:
		return &exitError{code: 1, err: fmt.Errorf("%s; nothing was sent", problems[0])}
	}
	return &exitError{code: 1, err: fmt.Errorf("%s\nnothing was sent", strings.Join(problems, "\n"))}
}

// firstFew joins up to n names, saying how many more there are.
func firstFew(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}
