package verify

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoFreeSlot: the source has no free replication slot for the
// temporary one verify needs.
var ErrNoFreeSlot = errors.New("the source has no free replication slot (max_replication_slots): raise max_replication_slots by one and restart the source, or drop an unused slot, then verify again")

// ErrApplyNotReached: the connector's apply did not reach the verify point
// in time (the stream is not running, or lags by more than the timeout).
var ErrApplyNotReached = errors.New("the connector's apply did not reach the verify point")

// UnknownTableError names requested tables the connector does not replicate.
type UnknownTableError struct {
	Names []string
	Known []string
}

func (e *UnknownTableError) Error() string {
	known := strings.Join(e.Known, ", ")
	if len(e.Known) > 8 {
		known = strings.Join(e.Known[:8], ", ") + fmt.Sprintf(", … (%d in all)", len(e.Known))
	}
	return fmt.Sprintf("the connector does not replicate %s (it replicates %s)", strings.Join(e.Names, ", "), known)
}
