package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.temporal.io/api/enums/v1"
)

func TestStatusWord(t *testing.T) {
	assert.Equal(t, "running", statusWord(enums.WORKFLOW_EXECUTION_STATUS_RUNNING))
	assert.Equal(t, "failed", statusWord(enums.WORKFLOW_EXECUTION_STATUS_FAILED))
	assert.Equal(t, "continued_as_new", statusWord(enums.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW))
	assert.Equal(t, "99", statusWord(enums.WorkflowExecutionStatus(99)))
}
