package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// control collects the operator's pause, resume and drop signals. Both
// workflows use it so the three signals mean the same thing in every stage.
type control struct {
	pause, resume, drop workflow.ReceiveChannel
	paused              bool
	dropRequested       bool
	reason              string
	// resumed is set by every resume signal taken; whoever waits for one
	// (the replication retry backoff: resume means "try now") clears it.
	resumed bool
}

func newControl(ctx workflow.Context) *control {
	return &control{
		pause:  workflow.GetSignalChannel(ctx, SignalPause),
		resume: workflow.GetSignalChannel(ctx, SignalResume),
		drop:   workflow.GetSignalChannel(ctx, SignalDrop),
	}
}

// addTo lets a selector wake on any control signal.
func (c *control) addTo(sel workflow.Selector) {
	sel.AddReceive(c.pause, func(ch workflow.ReceiveChannel, _ bool) { c.take(ch, &c.paused, true) })
	sel.AddReceive(c.resume, func(ch workflow.ReceiveChannel, _ bool) { c.take(ch, &c.paused, false); c.resumed = true })
	sel.AddReceive(c.drop, func(ch workflow.ReceiveChannel, _ bool) { c.take(ch, &c.dropRequested, true) })
}

// take consumes one signal. Payloads are optional: a malformed one is
// dropped by the SDK with a log line, an empty one still counts.
func (c *control) take(ch workflow.ReceiveChannel, flag *bool, v bool) {
	var s ControlSignal
	ch.ReceiveAsync(&s)
	*flag = v
	if s.Reason != "" {
		c.reason = s.Reason
	}
}

// drain applies every pending control signal, in arrival order per channel.
// Pause and resume are ordered only within their channels, so a resume
// pending together with a pause wins: the operator's last word is "go".
func (c *control) drain() {
	for c.pause.ReceiveAsync(nil) {
		c.paused = true
	}
	for c.resume.ReceiveAsync(nil) {
		c.paused, c.resumed = false, true
	}
	for c.drop.ReceiveAsync(nil) {
		c.dropRequested = true
	}
}

// waitWhilePaused blocks until resumed or dropped.
func (c *control) waitWhilePaused(ctx workflow.Context) {
	for c.paused && !c.dropRequested {
		sel := workflow.NewSelector(ctx)
		c.addTo(sel)
		sel.Select(ctx)
	}
}
