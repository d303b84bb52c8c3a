package preflight_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/preflight"
)

// TestCompact: the report that travels through Temporal keeps the tables
// that need the operator, at most max of them, and counts the rest.
func TestCompact(t *testing.T) {
	r := preflight.Report{Passed: false, Checks: []preflight.Check{{ID: contract.CheckReplicaIdentity, Status: preflight.StatusFail}}}
	r.Tables = append(r.Tables, preflight.TableReport{Schema: "s", Name: "fine", Identity: contract.IdentityPrimaryKey})
	for i := range 5 {
		r.Tables = append(r.Tables, preflight.TableReport{Schema: "s", Name: fmt.Sprint("keyless", i), Identity: contract.IdentityNone})
	}
	r.Tables = append(r.Tables, preflight.TableReport{Schema: "s", Name: "cand", Identity: contract.IdentityNone, Remedy: "ALTER TABLE ..."})
	c := preflight.Compact(r, 3)
	require.Len(t, c.Tables, 3)
	require.Equal(t, "keyless0", c.Tables[0].Name, "a table fine as it is does not travel")
	require.Equal(t, 3, c.MoreTables)
	require.Equal(t, r.Checks, c.Checks)
	require.Len(t, r.Tables, 7, "the report compacted is left as it was")
	require.Equal(t, 0, preflight.Compact(r, 10).MoreTables)
}
