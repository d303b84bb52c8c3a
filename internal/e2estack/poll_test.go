package e2estack

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPoll(t *testing.T) {
	ctx := context.Background()
	n := 0
	require.NoError(t, Poll(ctx, time.Second, time.Millisecond, "third call", func() (bool, error) {
		n++
		return n == 3, nil
	}))
	require.Equal(t, 3, n)

	// An error does not end the wait; the last one is reported at the deadline.
	boom := errors.New("boom")
	err := Poll(ctx, 20*time.Millisecond, time.Millisecond, "never", func() (bool, error) { return false, boom })
	require.ErrorIs(t, err, boom)
	require.ErrorContains(t, err, "never: not after 20ms")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err = Poll(cctx, time.Minute, time.Second, "cancelled", func() (bool, error) { return false, nil })
	require.ErrorIs(t, err, context.Canceled)
}

func TestSettingLastWins(t *testing.T) {
	d := &Deployment{Env: []string{"ARDENT_TASK_QUEUE=a", "ARDENT_LOG_LEVEL=info", "ARDENT_TASK_QUEUE=b"}}
	require.Equal(t, "b", d.Setting("ARDENT_TASK_QUEUE"))
	require.Equal(t, "", d.Setting("ARDENT_NOPE"))
}
