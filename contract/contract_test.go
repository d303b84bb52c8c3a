package contract_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ardent-cdc/ardent/contract"
)

// TestStandardLibraryOnly: contract is what every side imports, so it
// imports nothing but the standard library (doc.go).
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.Fields(string(out)); len(got) != 1 || got[0] != "github.com/ardent-cdc/ardent/contract" {
		t.Fatalf("contract depends on %v: it may import the standard library only", got)
	}
}

// TestPreflightReportJSON: the CLI's JSON has exactly passed, checks and
// tables (design.md section 3); the fields the workflow adds stay out
// while zero, and an empty table list is [] rather than absent.
func TestPreflightReportJSON(t *testing.T) {
	rep := contract.PreflightReport{Checks: []contract.Check{{ID: contract.CheckConnect, Status: contract.CheckFail, Message: "refused"}},
		Tables: []contract.TableReport{}}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"passed":false,"checks":[{"id":"connect","status":"fail","message":"refused","remedy":""}],"tables":[]}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	rep.CheckedAt, rep.MoreTables = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 3
	b, _ = json.Marshal(rep)
	if !strings.Contains(string(b), `"more_tables":3,"checked_at":"2026-01-01T00:00:00Z"`) {
		t.Fatalf("the workflow's fields are missing: %s", b)
	}
}

// TestOldInputsStillDecode: a workflow input recorded before the Version
// field went away decodes, the unknown field ignored.
func TestOldInputsStillDecode(t *testing.T) {
	var in contract.ReplicationInput
	if err := json.Unmarshal([]byte(`{"version": 1, "name": "ghost", "stream_run": 1000000000}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.Name != "ghost" || in.StreamRun != time.Second {
		t.Fatalf("decoded %+v", in)
	}
}

func TestBlocking(t *testing.T) {
	rep := contract.PreflightReport{Checks: []contract.Check{
		{ID: "a", Status: contract.CheckPass}, {ID: "b", Status: contract.CheckWarn},
		{ID: "c", Status: contract.CheckFail}, {ID: "d", Status: contract.CheckUnverified},
	}}
	if got := fmt.Sprint(rep.Blocking()); got != "[c d]" {
		t.Fatalf("Blocking() = %s", got)
	}
}

func ExampleConnectorName() {
	for _, id := range []string{contract.ReplicationID("orders"), contract.OnboardingID("orders"), "something-else"} {
		name, ok := contract.ConnectorName(id)
		fmt.Println(name, ok)
	}
	// Output:
	// orders true
	// orders true
	// something-else false
}
