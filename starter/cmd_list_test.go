package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/converter"

	"github.com/ardent-cdc/ardent/contract"
)

func TestStatusWord(t *testing.T) {
	assert.Equal(t, "running", statusWord(enums.WORKFLOW_EXECUTION_STATUS_RUNNING))
	assert.Equal(t, "failed", statusWord(enums.WORKFLOW_EXECUTION_STATUS_FAILED))
	assert.Equal(t, "continued_as_new", statusWord(enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW))
	assert.Equal(t, "99", statusWord(enums.WorkflowExecutionStatus(99)))
}

// TestKeyword: `ardent list` reads the search attributes through the SDK's
// converter, as the server stores them (JSON), so a value with quotes or
// escapes comes back as it was set.
func TestKeyword(t *testing.T) {
	fields := map[string]*commonpb.Payload{}
	for name, v := range map[string]string{contract.SearchAttrStage: "streaming", contract.SearchAttrSource: `db"1\:5432/app é`} {
		p, err := converter.GetDefaultDataConverter().ToPayload(v)
		require.NoError(t, err)
		fields[name] = p
	}
	assert.Equal(t, "streaming", keyword(fields, contract.SearchAttrStage))
	assert.Equal(t, `db"1\:5432/app é`, keyword(fields, contract.SearchAttrSource))
	assert.Empty(t, keyword(fields, "Missing"))
	assert.Empty(t, keyword(nil, contract.SearchAttrStage))
	n, err := converter.GetDefaultDataConverter().ToPayload(42)
	require.NoError(t, err)
	assert.Empty(t, keyword(map[string]*commonpb.Payload{"n": n}, "n"), "not a string")
}
