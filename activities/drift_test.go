package activities

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"

	"github.com/ardent-cdc/ardent/contract"
)

// A drift check's verdicts are series an alert can fire on: 1 for each
// failed check, 0 once it passes again, gone with the connector.
func TestDriftMetrics(t *testing.T) {
	m := NewMetrics(prometheus.NewRegistry())
	m.driftChecked("shop", []contract.Check{{ID: contract.CheckRoleValid, Status: contract.CheckFail},
		{ID: contract.CheckWalRetention, Status: contract.CheckWarn}, {ID: contract.CheckSlot, Status: contract.CheckPass}})
	assert.Equal(t, 1.0, testutil.ToFloat64(m.DriftCheckFailed.WithLabelValues("shop", contract.CheckRoleValid)))
	assert.Equal(t, 0.0, testutil.ToFloat64(m.DriftCheckFailed.WithLabelValues("shop", contract.CheckWalRetention)), "a warning is no regression")
	m.driftChecked("shop", []contract.Check{{ID: contract.CheckRoleValid, Status: contract.CheckPass}})
	assert.Equal(t, 0.0, testutil.ToFloat64(m.DriftCheckFailed.WithLabelValues("shop", contract.CheckRoleValid)))
	m.ForgetConnector("shop")
	assert.Zero(t, testutil.CollectAndCount(m.DriftCheckFailed), "a dropped connector exports no drift series")
	var nilMetrics *Metrics
	nilMetrics.driftChecked("shop", nil) // activities built without metrics
}
