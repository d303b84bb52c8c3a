package config

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The slot metrics' reading interval: 15 s unless set, and settable from
// the environment alone (an env-only key viper would otherwise drop).
func TestSlotCheckInterval(t *testing.T) {
	c, err := Load(nil, "")
	require.NoError(t, err)
	require.Equal(t, 15*time.Second, c.SlotCheckInterval)

	t.Setenv("ARDENT_SLOT_CHECK_INTERVAL", "1m")
	c, err = Load(nil, "")
	require.NoError(t, err)
	require.Equal(t, time.Minute, c.SlotCheckInterval)
}
