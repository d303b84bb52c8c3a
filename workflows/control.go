package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/ardent-cdc/ardent/contract"
)

// control collects the operator's pause, resume and drop signals. Both
// workflows use it so the three signals mean the same thing in every stage.
type control struct {
	pause, resume, drop signalChan[contract.ControlSignal]
	paused              bool
	dropRequested       bool
	reason              string
	// resumed is set by every resume signal taken; whoever waits for one
	// (the replication retry backoff: resume means "try now") clears it.
	resumed bool
	// cx is the workflow's cancellation: waits end when it is honoured.
	cx *cancellation
	// onResume, when set, is called for every resume taken (the
	// replication workflow runs its drift checks again).
	onResume func()
}

func newControl(ctx workflow.Context, cx *cancellation) *control {
	return &control{
		pause:  signalChannel(ctx, contract.SignalPause),
		resume: signalChannel(ctx, contract.SignalResume),
		drop:   signalChannel(ctx, contract.SignalDrop),
		cx:     cx,
	}
}

// addTo lets a selector wake on any control signal, and on the workflow's
// cancellation.
func (c *control) addTo(ctx workflow.Context, sel workflow.Selector) {
	sel.AddReceive(c.pause.ReceiveChannel, func(workflow.ReceiveChannel, bool) { c.take(c.pause, &c.paused, true) })
	sel.AddReceive(c.resume.ReceiveChannel, func(workflow.ReceiveChannel, bool) {
		c.take(c.resume, &c.paused, false)
		c.resumed = true
		c.resumeHook()
	})
	sel.AddReceive(c.drop.ReceiveChannel, func(workflow.ReceiveChannel, bool) { c.take(c.drop, &c.dropRequested, true) })
	c.cx.addTo(ctx, sel)
}

// take consumes one signal the selector found pending. The signal's name
// is the operator's intent and its payload only a reason: a pause whose
// payload does not decode (the SDK drops it with a log line) still pauses,
// unlike sql-applied, whose only effect, a re-check, the timer brings too.
func (c *control) take(ch signalChan[contract.ControlSignal], flag *bool, v bool) {
	s, _ := ch.takeAsync()
	*flag = v
	if s.Reason != "" {
		c.reason = s.Reason
	}
}

func (c *control) resumeHook() {
	if c.onResume != nil {
		c.onResume()
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
		c.resumeHook()
	}
	for c.drop.ReceiveAsync(nil) {
		c.dropRequested = true
	}
}

// waitWhilePaused blocks until resumed, dropped or cancelled.
func (c *control) waitWhilePaused(ctx workflow.Context) {
	for c.paused && !c.dropRequested && !c.cx.requested(ctx) {
		sel := workflow.NewSelector(ctx)
		c.addTo(ctx, sel)
		sel.Select(ctx)
	}
}

// changeCancel is the GetVersion change id of the cancellation branch
// (both workflows), asked once at the start of a run. From version 1 a
// cancelled workflow (`temporal workflow cancel`, the Web UI) stops what it
// runs and ends in stage cancelled. Runs of histories from before it
// (DefaultVersion) never look at the cancellation, as they did not.
const changeCancel = "cancel"

// cancellation is the workflow's view of its own cancellation.
type cancellation struct {
	honour bool // version >= 1
	seen   bool
}

func newCancellation(ctx workflow.Context) *cancellation {
	return &cancellation{honour: workflow.GetVersion(ctx, changeCancel, workflow.DefaultVersion, 1) >= 1}
}

// addTo lets a selector wake when the workflow is cancelled (once: the
// Done channel stays closed).
func (c *cancellation) addTo(ctx workflow.Context, sel workflow.Selector) {
	if !c.honour || c.seen {
		return
	}
	sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) { c.seen = true })
}

// requested reports whether the workflow was cancelled and honours it.
func (c *cancellation) requested(ctx workflow.Context) bool {
	if c.honour && ctx.Err() != nil {
		c.seen = true
	}
	return c.honour && c.seen
}
