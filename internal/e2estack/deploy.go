package e2estack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ardent-cdc/ardent/internal/pgtest"
	"github.com/ardent-cdc/ardent/internal/temporaltest"
)

// FastEnv are the settings the tests run workers with: a heartbeat every
// second, an idle position emitted every 2 s, debug logs.
var FastEnv = []string{
	"ARDENT_HEARTBEAT_INTERVAL=1s",
	"ARDENT_IDLE_EMIT_INTERVAL=2s",
	"ARDENT_LOG_LEVEL=debug",
}

// workerStartTimeout bounds the wait for a worker's "worker started" line.
const workerStartTimeout = 60 * time.Second

// Deployment is Ardent deployed on a stack: one task queue, the ARDENT_*
// environment its workers and CLI runs share, and its worker processes.
type Deployment struct {
	Env []string // ARDENT_* settings of every worker and CLI run

	stack   *Stack
	queue   string
	mu      sync.Mutex
	workers []*temporaltest.Process
	outputs []string // every CLI run's output
}

// Deploy makes a deployment on task queue queue; env entries (KEY=value)
// are added to, and override, the stack's settings. Stack.Close stops its
// workers if Close did not.
func (s *Stack) Deploy(queue string, env ...string) *Deployment {
	d := &Deployment{stack: s, queue: queue}
	d.Env = []string{
		"ARDENT_TEMPORAL_ADDRESS=" + s.Temporal.Address,
		"ARDENT_TEMPORAL_NAMESPACE=" + s.Temporal.Namespace,
		"ARDENT_TASK_QUEUE=" + queue,
		"ARDENT_CATALOG_URL=" + s.Dst.URL(CatalogDB),
		"ARDENT_MASTER_KEY_FILE=" + s.KeyFile,
	}
	if s.CodecToken != "" {
		d.Env = append(d.Env, "ARDENT_CODEC_TOKEN="+s.CodecToken)
	}
	d.Env = append(d.Env, env...)
	s.mu.Lock()
	s.deployments = append(s.deployments, d)
	s.mu.Unlock()
	return d
}

// Setting returns the value of the ARDENT_* setting key in d.Env (the
// last one wins, as in the processes' environment).
func (d *Deployment) Setting(key string) string {
	v := ""
	for _, kv := range d.Env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// StartWorkerContext starts an ardent-worker process with its own HTTP
// address (env may override it and add settings) and waits until it logs
// "worker started".
func (d *Deployment) StartWorkerContext(ctx context.Context, env ...string) (*temporaltest.Process, error) {
	port, err := pgtest.FreePort()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	n := len(d.workers)
	d.mu.Unlock()
	all := append(append(append([]string{}, d.Env...), fmt.Sprintf("ARDENT_HTTP_ADDRESS=127.0.0.1:%d", port)), env...)
	log := filepath.Join(d.stack.Dir, fmt.Sprintf("worker-%s-%d.log", safeName(d.queue), n))
	p, err := temporaltest.Spawn(d.stack.WorkerBin, nil, all, log)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.workers = append(d.workers, p)
	d.mu.Unlock()
	err = Poll(ctx, workerStartTimeout, 100*time.Millisecond, "worker started", func() (bool, error) {
		return p.Exited() || strings.Contains(p.Output(), "worker started"), nil
	})
	if err == nil && p.Exited() {
		err = errWorkerExited
	}
	if err != nil {
		p.Kill()
		return nil, fmt.Errorf("start worker: %w\n%s", err, temporaltest.Tail(p.Output(), 30))
	}
	return p, nil
}

var errWorkerExited = errors.New("the worker exited")

// Workers are the deployment's worker processes, in start order, exited
// ones included.
func (d *Deployment) Workers() []*temporaltest.Process {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*temporaltest.Process(nil), d.workers...)
}

// LiveWorkers are the workers still running.
func (d *Deployment) LiveWorkers() []*temporaltest.Process {
	var out []*temporaltest.Process
	for _, p := range d.Workers() {
		if !p.Exited() {
			out = append(out, p)
		}
	}
	return out
}

// WorkerOutput is the last lines of every worker's output, for a failure
// report.
func (d *Deployment) WorkerOutput(lines int) string {
	var b strings.Builder
	for i, w := range d.Workers() {
		fmt.Fprintf(&b, "--- worker %d ---\n%s\n", i, temporaltest.Tail(w.Output(), lines))
	}
	return b.String()
}

// Command runs the ardent CLI with the deployment's environment plus env
// and returns its combined output and exit code. The error is only for a
// CLI that could not run (or was killed when ctx ended); a non-zero exit
// is the caller's to judge.
func (d *Deployment) Command(ctx context.Context, env []string, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, d.stack.ArdentBin, args...)
	cmd.Env = temporaltest.Environ(append(append([]string{}, d.Env...), env...)...)
	out, err := cmd.CombinedOutput()
	d.mu.Lock()
	d.outputs = append(d.outputs, string(out))
	d.mu.Unlock()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0, nil
	case errors.As(err, &ee) && ctx.Err() == nil:
		return string(out), ee.ExitCode(), nil
	default:
		return string(out), -1, fmt.Errorf("run ardent %s: %w", strings.Join(args, " "), err)
	}
}

// Outputs is every CLI run's output so far, e.g. to prove none holds a
// secret.
func (d *Deployment) Outputs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.outputs...)
}

// Status is `ardent status NAME --format json`, decoded loosely: the
// fields the harnesses read.
type Status struct {
	Stage     string `json:"stage"`
	Error     string `json:"error"`
	Remedy    string `json:"remedy"`
	Preflight *struct {
		Passed bool `json:"passed"`
		Checks []struct {
			ID, Status string
		} `json:"checks"`
	} `json:"preflight"`
	Snapshot *struct {
		Rows int64 `json:"rows"`
	} `json:"snapshot"`
	SnapshotProgress *struct {
		Rows int64 `json:"rows"`
	} `json:"snapshot_progress"`
	Replication *struct {
		ConfirmedLSN string `json:"confirmed_lsn"`
	} `json:"replication"`
}

// StatusContext returns connector name's status. `status` exits 1 for a
// connector in failed or attention, with its JSON all the same.
func (d *Deployment) StatusContext(ctx context.Context, name string) (Status, error) {
	var st Status
	out, code, err := d.Command(ctx, nil, "status", name, "--format", "json")
	if err != nil {
		return st, err
	}
	if code != 0 && code != 1 {
		return st, fmt.Errorf("ardent status %s: exit %d: %s", name, code, temporaltest.Tail(out, 5))
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Stage == "" {
		return st, fmt.Errorf("ardent status %s: exit %d, no status: %s", name, code, temporaltest.Tail(out, 5))
	}
	return st, nil
}

// WaitStageContext polls connector name's status every half second until
// its stage is want, and returns that status; at the timeout the error
// names the last status seen.
func (d *Deployment) WaitStageContext(ctx context.Context, name, want string, timeout time.Duration) (Status, error) {
	var last Status
	var lastErr error
	err := Poll(ctx, timeout, 500*time.Millisecond, "stage "+want, func() (bool, error) {
		st, err := d.StatusContext(ctx, name)
		if err != nil {
			lastErr = err
			return false, nil
		}
		last, lastErr = st, nil
		return st.Stage == want, nil
	})
	if err != nil {
		return last, fmt.Errorf("connector %s: stage never became %s; last status %+v (last error: %v): %w", name, want, last, lastErr, err)
	}
	return last, nil
}

// Close kills the deployment's workers; the stack forgets it.
func (d *Deployment) Close() {
	for _, p := range d.Workers() {
		p.Kill()
	}
	s := d.stack
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.deployments {
		if x == d {
			s.deployments = append(s.deployments[:i], s.deployments[i+1:]...)
			break
		}
	}
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' {
			return '-'
		}
		return r
	}, s)
}
