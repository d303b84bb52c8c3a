package temporaltest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
const stopTimeout = 30 * time.Second

// Process is a child process started by StartProcess.
type Process struct {
	Name    string // base name of the binary, for messages
	LogFile string // combined stdout and stderr, also kept in memory

	cmd  *exec.Cmd
	out  *lockedBuffer
	file *os.File
	done chan struct{}
	err  error // exit status, valid once done is closed
}

// Spawn starts bin with args in its own process group, with this process's
// environment minus any ARDENT_* variable, plus env (later entries win).
// Dropping inherited ARDENT_* settings keeps a developer's sourced .dev/env
// from pointing the process under test at the dev stack. Its combined
// output is kept in memory and appended to logFile. The caller ends it with
// Kill or Stop.
func Spawn(bin string, args, env []string, logFile string) (*Process, error) {
	name := filepath.Base(bin)
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("temporaltest: create log for %s: %w", name, err)
	}
	p := &Process{Name: name, LogFile: logFile, out: &lockedBuffer{}, file: f, done: make(chan struct{})}
	w := io.MultiWriter(p.out, f)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = Environ(env...)
	p.cmd.Stdout = w
	p.cmd.Stderr = w
	// A process group lets Kill take any children with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("temporaltest: start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// StartProcess is Spawn for a test: the log goes under t.TempDir(), the
// process is killed on cleanup if still running, and the tail of its
// output is logged when the test failed.
func StartProcess(t testing.TB, bin string, args []string, env []string) *Process {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), filepath.Base(bin)+"-*.log")
	if err != nil {
		t.Fatalf("temporaltest: create log for %s: %v", filepath.Base(bin), err)
	}
	f.Close()
	p, err := Spawn(bin, args, env, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("temporaltest: %s", p.Describe(40))
		}
	})
	return p
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Describe is the process's name, log file and last n lines of output, for
// the report of a failed test.
func (p *Process) Describe(n int) string {
	return fmt.Sprintf("%s output (%s), last lines:\n%s", p.Name, p.LogFile, Tail(p.Output(), n))
}

// Output returns everything the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err returns the exit error (nil for exit status 0) once the process has
// exited, and nil before.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// ExitCode returns the exit code once exited, or -1 while running or when
// killed by a signal.
func (p *Process) ExitCode() int {
	if !p.Exited() {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Kill sends SIGKILL to the process group, as a crash would, and waits for
// the process to be reaped. Killing an exited process is a no-op.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits for a graceful exit, falling back to SIGKILL
// after 30 seconds. It returns the exit error, nil for a clean exit; a
// process stopped by the signal without handling it reports that as an error.
func (p *Process) Stop() error {
	if !p.Exited() {
		_ = syscall.Kill(p.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			p.Kill()
			return fmt.Errorf("stop %s: no exit %s after SIGTERM, killed", p.Name, stopTimeout)
		}
	}
	return p.Err()
}

// Wait waits up to timeout for the process to exit on its own and returns
// its exit error.
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		return fmt.Errorf("wait for %s: %w after %s", p.Name, errStillRunning, timeout)
	}
}

var errStillRunning = errors.New("still running")

// Environ is this process's environment minus any ARDENT_* variable, plus
// env: what every process of the harness runs with.
func Environ(env ...string) []string {
	environ := os.Environ()
	out := make([]string, 0, len(environ)+len(env))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ARDENT_") {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
