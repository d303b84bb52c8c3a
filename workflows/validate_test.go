package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// TestOnboardingRefusesBadInput: a bad input fails the workflow at once,
// non-retryable and typed InvalidInput, before any activity runs, and the
// failure never quotes a URL.
func TestOnboardingRefusesBadInput(t *testing.T) {
	tests := []struct {
		name string
		edit func(*contract.OnboardingInput)
		want string
	}{
		{"empty name", func(in *contract.OnboardingInput) { in.Name = "" }, "name is empty"},
		{"name with slash", func(in *contract.OnboardingInput) { in.Name = "shop/eu" }, `"shop/eu" is not allowed`},
		{"name of 500 characters", func(in *contract.OnboardingInput) { in.Name = strings.Repeat("a", 500) }, "500 characters long"},
		{"upper-case name", func(in *contract.OnboardingInput) { in.Name = "Shop" }, "not allowed"},
		{"name starting with a digit", func(in *contract.OnboardingInput) { in.Name = "1shop" }, "not allowed"},
		{"unicode name", func(in *contract.OnboardingInput) { in.Name = "shöp" }, "not allowed"},
		{"source not a URL", func(in *contract.OnboardingInput) { in.SourceURL = "secret-garbage" }, "source URL is not a postgres:// URL"},
		{"source wrong scheme", func(in *contract.OnboardingInput) { in.SourceURL = "mysql://u:secret@db/app" }, "source URL is not"},
		{"destination not a URL", func(in *contract.OnboardingInput) { in.DestinationURL = "secret" }, "destination URL is not"},
		{"empty source", func(in *contract.OnboardingInput) { in.SourceURL = "" }, "source URL is empty"},
		{"negative backoff", func(in *contract.OnboardingInput) { in.BackoffInitial = -time.Second }, "negative backoff"},
		{"negative stream run", func(in *contract.OnboardingInput) { in.StreamRun = -time.Second }, "negative stream run"},
		{"empty schema", func(in *contract.OnboardingInput) { in.Selection.Schemas = []string{"shop", " "} }, "selection schemas"},
		{"NUL in a table", func(in *contract.OnboardingInput) { in.Selection.Tables = []string{"shop.a\x00b"} }, "selection tables"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			registerAll(env) // no OnActivity: any activity call fails the test
			in := input()
			tt.edit(&in)
			env.ExecuteWorkflow(OnboardingWorkflow, in)
			require.True(t, env.IsWorkflowCompleted())
			err := env.GetWorkflowError()
			require.Error(t, err)
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "%v", err)
			assert.Equal(t, contract.ErrTypeInvalidInput, app.Type())
			assert.True(t, app.NonRetryable())
			assert.Contains(t, app.Message(), tt.want)
			assert.NotContains(t, app.Message(), "secret", "the failure quotes a URL")
		})
	}
}

func TestReplicationRefusesBadName(t *testing.T) {
	for _, name := range []string{"../etc", strings.Repeat("r", 41), "Repl"} {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		registerAll(env)
		env.ExecuteWorkflow(ReplicationWorkflow, contract.ReplicationInput{Name: name})
		require.True(t, env.IsWorkflowCompleted())
		var app *temporal.ApplicationError
		require.True(t, errors.As(env.GetWorkflowError(), &app), name)
		assert.Equal(t, contract.ErrTypeInvalidInput, app.Type(), name)
	}
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"orders": true, "orders-eu_1": true, "a": true, strings.Repeat("a", 40): true,
		"": false, "-a": false, "_a": false, "a b": false, `a"b`: false, strings.Repeat("a", 41): false,
	} {
		assert.Equal(t, ok, validName(name) == nil, "%q", name)
	}
}

// A run started before the strict checks existed replays on the path it
// took: without the version marker, validateStrict is not enforced.
func TestStrictCheckHonoursOldHistories(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.OnGetVersion(changeStrictInput, workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	env.ExecuteWorkflow(func(ctx workflow.Context) error {
		return checkStrict(ctx, errors.New("bad"))
	})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
}
