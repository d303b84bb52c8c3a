package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/ardent-cdc/ardent/contract"
	"github.com/ardent-cdc/ardent/internal/e2estack"
)

// wfInputCase starts a workflow with a bad input behind the CLI's back:
// raw JSON through `temporal workflow start` (what an operator or script
// could send), or a well-typed but invalid input through a client with
// Ardent's codec. The workflow must fail at once with a message that says
// what is wrong, never retry forever, never echo the password.
type wfInputCase struct {
	name     string
	workflow string                       // default OnboardingWorkflow
	json     func(f *badFixture) []string // --input values; nil with typed unset: no input at all
	typed    func(f *badFixture) any      // started through the codec client
	want     []string                     // in the failure message
	errType  string                       // the ApplicationError type, if one is expected
	cliArgs  []string                     // more `temporal workflow start` flags
}

func rawJSON(s ...string) func(*badFixture) []string { return func(*badFixture) []string { return s } }

func validInput(f *badFixture) contract.OnboardingInput {
	return contract.OnboardingInput{
		Name:           "wfbad",
		SourceURL:      fmt.Sprintf("postgres://ardent:wrong-%s@127.0.0.1:%d/app", f.pw, f.port()),
		DestinationURL: f.s.dst.URL("destination"), SourceDisplay: fmt.Sprintf("127.0.0.1:%d/app", f.port()),
		BackoffInitial: time.Hour, BackoffMax: time.Hour,
	}
}

func editInput(edit func(f *badFixture, in *contract.OnboardingInput)) func(*badFixture) any {
	return func(f *badFixture) any {
		in := validInput(f)
		edit(f, &in)
		return in
	}
}

var workflowInputCases = []wfInputCase{
	{name: "json string instead of an object", json: rawJSON(`"garbage"`), want: []string{"unable to decode the workflow function input"}},
	{name: "json array", json: rawJSON(`[1, 2, 3]`), want: []string{"unable to decode"}},
	{name: "json field of the wrong type", json: func(f *badFixture) []string {
		return []string{fmt.Sprintf(`{"name": "wfbad", "source_url": "postgres://ardent:%s@127.0.0.1:1/app", "destination_url": "postgres://w@127.0.0.1/d", "backoff_initial": "soon"}`, f.pw)}
	}, want: []string{"unable to decode", "backoff_initial"}},
	{name: "forged encrypted payload", json: rawJSON(`"not ciphertext"`),
		cliArgs: []string{"--input-meta", "encoding=binary/encrypted", "--input-meta", "encryption-key-id=deadbeef"},
		want:    []string{"unable to decode", "deadbeef"}},
	{name: "json null", json: rawJSON(`null`), want: []string{"name is empty"}, errType: contract.ErrTypeInvalidInput},
	{name: "no input at all", want: []string{"name is empty"}, errType: contract.ErrTypeInvalidInput},
	{name: "unknown fields only", json: rawJSON(`{"nom": "shop", "url": "x"}`), want: []string{"name is empty"}, errType: contract.ErrTypeInvalidInput},
	{name: "name with slash", typed: editInput(func(_ *badFixture, in *contract.OnboardingInput) { in.Name = "shop/eu" }),
		want: []string{`"shop/eu" is not allowed`}, errType: contract.ErrTypeInvalidInput},
	{name: "name of 500 characters", typed: editInput(func(_ *badFixture, in *contract.OnboardingInput) { in.Name = strings.Repeat("n", 500) }),
		want: []string{"500 characters long"}, errType: contract.ErrTypeInvalidInput},
	{name: "source without scheme", typed: editInput(func(f *badFixture, in *contract.OnboardingInput) {
		in.SourceURL = fmt.Sprintf("ardent:%s@127.0.0.1:%d/app", f.pw, f.port())
	}), want: []string{"source URL is not a postgres:// URL"}, errType: contract.ErrTypeInvalidInput},
	{name: "destination with wrong scheme", typed: editInput(func(f *badFixture, in *contract.OnboardingInput) {
		in.DestinationURL = fmt.Sprintf("mysql://writer:%s@127.0.0.1/replica", f.pw)
	}), want: []string{"destination URL is not"}, errType: contract.ErrTypeInvalidInput},
	{name: "negative deadline", typed: editInput(func(_ *badFixture, in *contract.OnboardingInput) { in.Deadline = -time.Hour }),
		want: []string{"negative backoff or deadline"}, errType: contract.ErrTypeInvalidInput},
	{name: "empty schema in the selection", typed: editInput(func(_ *badFixture, in *contract.OnboardingInput) { in.Selection.Schemas = []string{""} }),
		want: []string{"selection schemas"}, errType: contract.ErrTypeInvalidInput},
	{name: "replication with a path for a name", workflow: contract.WorkflowReplication,
		typed: func(*badFixture) any { return contract.ReplicationInput{Name: "../../etc"} },
		want:  []string{`"../../etc" is not allowed`}, errType: contract.ErrTypeInvalidInput},
}

func (f *badFixture) runWorkflowInputCase(t *testing.T, c wfInputCase) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	typ := c.workflow
	if typ == "" {
		typ = contract.WorkflowOnboarding
	}
	id := "badinput-" + strings.ReplaceAll(strings.ReplaceAll(c.name, " ", "-"), "/", "-")
	queue := f.env("ARDENT_TASK_QUEUE")
	if c.typed != nil {
		_, err := f.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, typ, c.typed(f))
		require.NoError(t, err)
	} else {
		args := append([]string{"workflow", "start", "--type", typ, "--task-queue", queue, "--workflow-id", id}, c.cliArgs...)
		if c.json != nil {
			for _, in := range c.json(f) {
				args = append(args, "--input", in)
			}
		}
		out, err := f.temporalCLI(t, args...)
		require.NoError(t, err, out)
	}
	began := time.Now()
	err := f.tc.GetWorkflow(ctx, id, "").Get(ctx, nil)
	took := time.Since(began)
	t.Logf("failed after %s: %v", took.Round(time.Millisecond), err)
	require.Error(t, err, "the workflow accepted a bad input")
	require.NoError(t, ctx.Err(), "the workflow neither failed nor completed: a bad input must fail it at once")
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "not an application error: %v", err)
	msg := app.Error()
	containsAll(t, msg, c.want)
	if c.errType != "" {
		assert.Equal(t, c.errType, app.Type())
		assert.True(t, app.NonRetryable())
	}
	f.assertClean(t, msg)

	// Started through the codec, the input and the failure are sealed in
	// Temporal: the raw history holds no password.
	if c.typed != nil {
		raw := f.rawHistory(t, id)
		assert.Contains(t, raw, "EVENT_TYPE_WORKFLOW_EXECUTION_FAILED")
		assert.NotContains(t, raw, f.pw, "raw history holds the password")
	}
	// A control for the check above: a password sent in plain JSON (the
	// operator's own choice) is found in the decoded history.
	if c.json != nil && strings.Contains(strings.Join(c.json(f), " "), f.pw) {
		assert.Contains(t, f.rawHistory(t, id), f.pw, "control: the decoded raw history should show a plain payload")
	}
	assert.NotContains(t, f.workerLogs(), f.pw, "the worker logged the password")
}

// runGarbledStatus: an onboarding whose input never decoded (started by
// hand under a connector's workflow id) is still something `ardent status`
// and `ardent list` can describe.
func (f *badFixture) runGarbledStatus(t *testing.T) {
	const name = "garbled"
	out, err := f.temporalCLI(t, "workflow", "start", "--type", contract.WorkflowOnboarding,
		"--task-queue", f.env("ARDENT_TASK_QUEUE"), "--workflow-id", contract.OnboardingID(name), "--input", `"garbage"`)
	require.NoError(t, err, out)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.Error(t, f.tc.GetWorkflow(ctx, contract.OnboardingID(name), "").Get(ctx, nil))
	out, code := f.runCLI(t, nil, "status", name)
	t.Logf("ardent status %s: exit %d\n%s", name, code, out)
	assert.Equal(t, 1, code)
	containsAll(t, out, []string{"onboarding-garbled", "failed"})
	f.assertClean(t, out)
	out, code = f.runCLI(t, nil, "list", "--all")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, name)
	f.assertClean(t, out)
}

// badStatus is `ardent status NAME --format json`, the fields these cases read.
type badStatus struct {
	Stage    string `json:"stage"`
	Error    string `json:"error"`
	Remedy   string `json:"remedy"`
	Attempts int    `json:"preflight_attempts"`
}

// status never fails the test, so require.Eventually may call it.
func (f *badFixture) status(name string) (badStatus, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, code, err := f.s.Command(ctx, nil, "status", name, "--format", "json")
	var st badStatus
	// Exit 1 with a status is a connector stopped in failed or attention.
	if err != nil || (code != 0 && code != 1) || json.Unmarshal([]byte(out), &st) != nil || st.Stage == "" {
		return st, false
	}
	return st, true
}

// waitFor polls connector name's status, on the test's goroutine, until ok
// holds, and fails the test with the last status seen after a minute.
func (f *badFixture) waitFor(t *testing.T, name, why string, ok func(badStatus) bool) badStatus {
	t.Helper()
	var last badStatus
	err := e2estack.Poll(context.Background(), 60*time.Second, 200*time.Millisecond, why, func() (bool, error) {
		st, got := f.status(name)
		if got {
			last = st
		}
		return got && ok(st), nil
	})
	require.NoError(t, err, "last status %+v", last)
	return last
}

// holds checks connector name's status for d and fails the test at the
// first one for which ok does not hold: a signal that must change nothing
// has had the time to change something.
func (f *badFixture) holds(t *testing.T, name, why string, d time.Duration, ok func(badStatus) bool) badStatus {
	t.Helper()
	var last badStatus
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		st, got := f.status(name)
		require.True(t, got, "%s: no status", why)
		require.True(t, ok(st), "%s: status %+v", why, st)
		last = st
	}
	return last
}

// signalCase sends one signal through the temporal CLI, the way the README
// says works, with a payload that is not what the workflow expects.
type signalCase struct {
	name   string
	signal string
	inputs []string
	extra  []string // more `temporal workflow signal` flags
	// then is the status that proves the workflow took the signal and
	// still works, given the status before it.
	then func(before, after badStatus) bool
	// steady: then must hold for a few seconds, not only once (a signal
	// that must change nothing).
	steady bool
}

func (f *badFixture) runSignalCases(t *testing.T) {
	const name = "sigtarget"
	out, code := f.runCLI(t, nil, onboardArgs("--name", name, "--backoff-initial", "1h", "--backoff-max", "1h")(f)...)
	require.Equal(t, 0, code, out)
	f.waitFor(t, name, "first preflight (wrong password) fails", func(st badStatus) bool { return st.Stage == "waiting_for_sql" })

	t.Run("onboard the same name again while it waits", func(t *testing.T) {
		out, code := f.runCLI(t, nil, onboardArgs("--name", name)(f)...)
		assert.Equal(t, 1, code, out)
		containsAll(t, out, []string{"already running", "ardent status " + name})
		f.assertClean(t, out)
	})

	t.Run("list shows the waiting onboarding", func(t *testing.T) {
		out, code := f.runCLI(t, nil, "list")
		assert.Equal(t, 0, code, out)
		containsAll(t, out, []string{name, "waiting_for_sql", "running"})
		f.assertClean(t, out)
	})

	rechecked := func(before, after badStatus) bool {
		return after.Attempts > before.Attempts && after.Stage == "waiting_for_sql"
	}
	// An sql-applied whose payload is not an sql-applied object is dropped
	// (the SDK logs it): no re-check, the workflow keeps waiting.
	ignored := func(before, after badStatus) bool {
		return after.Attempts == before.Attempts && after.Stage == "waiting_for_sql"
	}
	cases := []signalCase{
		{name: "sql-applied with a JSON string", signal: contract.SignalSQLApplied.Name, inputs: []string{`"garbage"`}, then: ignored, steady: true},
		{name: "sql-applied with an array", signal: contract.SignalSQLApplied.Name, inputs: []string{`[1, 2, 3]`}, then: ignored, steady: true},
		{name: "sql-applied with a note of the wrong type", signal: contract.SignalSQLApplied.Name, inputs: []string{`{"note": {"deep": [1]}}`}, then: ignored, steady: true},
		{name: "sql-applied with a 100 KB note", signal: contract.SignalSQLApplied.Name, inputs: []string{`{"note": "` + strings.Repeat("x", 100<<10) + `"}`}, then: rechecked},
		{name: "sql-applied with two payloads", signal: contract.SignalSQLApplied.Name, inputs: []string{`{}`, `"extra"`}, then: rechecked},
		{name: "sql-applied with a forged encrypted payload", signal: contract.SignalSQLApplied.Name, inputs: []string{`"not ciphertext"`},
			extra: []string{"--input-meta", "encoding=binary/encrypted", "--input-meta", "encryption-key-id=deadbeef"}, then: ignored, steady: true},
		{name: "unknown signal name", signal: "frobnicate", inputs: []string{`{"x": 1}`}, then: ignored, steady: true},
		{name: "pause with a number", signal: contract.SignalPause.Name, inputs: []string{`12345`}, then: func(_, after badStatus) bool { return after.Stage == "paused" }},
		{name: "resume with a JSON string", signal: contract.SignalResume.Name, inputs: []string{`"garbage"`}, then: rechecked},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, ok := f.status(name)
			require.True(t, ok, "status before")
			args := []string{"workflow", "signal", "--workflow-id", contract.OnboardingID(name), "--name", c.signal}
			for _, in := range c.inputs {
				args = append(args, "--input", in)
			}
			args = append(args, c.extra...)
			out, err := f.temporalCLI(t, args...)
			require.NoError(t, err, out)
			why := "the workflow keeps working after a " + c.name
			then := func(st badStatus) bool { return c.then(before, st) }
			var after badStatus
			if c.steady {
				after = f.holds(t, name, why, 3*time.Second, then)
			} else {
				after = f.waitFor(t, name, why, then)
			}
			t.Logf("stage %s, preflight attempts %d -> %d", after.Stage, before.Attempts, after.Attempts)
			f.assertClean(t, out)
		})
	}

	t.Run("the real signal still works afterwards", func(t *testing.T) {
		before, ok := f.status(name)
		require.True(t, ok)
		out, code := f.runCLI(t, nil, "signal", "sql-applied", name)
		assert.Equal(t, 0, code, out)
		f.waitFor(t, name, "re-check after ardent signal", func(st badStatus) bool { return rechecked(before, st) })
		f.assertClean(t, out)
	})
	t.Run("drop with a reason of the wrong type", func(t *testing.T) {
		out, err := f.temporalCLI(t, "workflow", "signal", "--workflow-id", contract.OnboardingID(name), "--name", contract.SignalDrop.Name,
			"--input", `{"reason": ["not", "a", "string"]}`)
		require.NoError(t, err, out)
		f.waitFor(t, name, "dropped", func(st badStatus) bool { return st.Stage == "dropped" })
		f.assertClean(t, out)
	})
	t.Run("no password in the raw history", func(t *testing.T) {
		raw := f.rawHistory(t, contract.OnboardingID(name))
		assert.Contains(t, raw, "garbage", "the decoded history should hold the plain signals sent (a control)")
		assert.NotContains(t, raw, f.pw)
	})
}

// runGhostReplication starts a replication workflow for a connector the
// catalog does not know, as a hand-typed `temporal workflow start` could:
// a well-formed but wrong input. It must park in stage failed naming the
// cause and the way out, and `ardent drop` must end it cleanly.
func (f *badFixture) runGhostReplication(t *testing.T) {
	const name = "ghost"
	out, err := f.temporalCLI(t, "workflow", "start", "--type", contract.WorkflowReplication,
		"--task-queue", f.env("ARDENT_TASK_QUEUE"), "--workflow-id", contract.ReplicationID(name),
		"--input", `{"version": 1, "name": "ghost"}`)
	require.NoError(t, err, out)
	st := f.waitFor(t, name, "replication of an unknown connector fails", func(st badStatus) bool { return st.Stage == "failed" })
	t.Logf("error: %s; remedy: %s", st.Error, st.Remedy)
	containsAll(t, st.Error, []string{"ghost"})
	containsAll(t, st.Remedy, []string{"ardent drop ghost"})
	out, code := f.runCLI(t, nil, "drop", name, "--yes")
	require.Equal(t, 0, code, out)
	f.waitFor(t, name, "dropped", func(st badStatus) bool { return st.Stage == "dropped" })
	f.assertClean(t, out+st.Error+st.Remedy)
}

// onboardingInput reads back, through the codec, the input the CLI started
// a connector's onboarding with.
func (f *badFixture) onboardingInput(t *testing.T, name string) contract.OnboardingInput {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	it := f.tc.GetWorkflowHistory(ctx, contract.OnboardingID(name), "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	require.True(t, it.HasNext())
	ev, err := it.Next()
	require.NoError(t, err)
	var in contract.OnboardingInput
	require.NoError(t, f.dc.FromPayloads(ev.GetWorkflowExecutionStartedEventAttributes().GetInput(), &in))
	return in
}

// rawHistory is a workflow's history as the Temporal CLI shows it without
// Ardent's codec, with every base64 field decoded (see decodeBase64Fields).
func (f *badFixture) rawHistory(t *testing.T, id string) string {
	t.Helper()
	raw, err := f.temporalCLI(t, "workflow", "show", "--workflow-id", id, "--output", "json")
	require.NoError(t, err, raw)
	return decodeBase64Fields(t, raw)
}
