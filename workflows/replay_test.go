package workflows

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// TestReplayRecordedHistories replays every history in testdata/ against
// the current workflow code. A change that alters the commands of a running
// workflow fails here; put it behind workflow.GetVersion instead. Histories
// named bad-*.json were edited to disagree with the code and must fail, which
// proves the replayer checks something. Re-record with
// `ARDENT_RECORD_HISTORIES=1 go test ./workflows -run TestRecordHistories`.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files, "no recorded histories in workflows/testdata")
	var good, bad int
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(OnboardingWorkflow, workflow.RegisterOptions{Name: contract.WorkflowOnboarding})
			r.RegisterWorkflowWithOptions(ReplicationWorkflow, workflow.RegisterOptions{Name: contract.WorkflowReplication})
			err := r.ReplayWorkflowHistoryFromJSONFile(nil, f)
			if strings.HasPrefix(filepath.Base(f), "bad-") {
				bad++
				require.Error(t, err, "an edited history replayed cleanly: the replay test checks nothing")
				return
			}
			good++
			require.NoError(t, err)
		})
	}
	require.Positive(t, good)
	require.Positive(t, bad)
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
