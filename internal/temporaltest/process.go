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

// StartProcess starts bin with args in its own process group, with the
// test's environment minus any ARDENT_* variable, plus env (later entries
// win). Dropping inherited ARDENT_* settings keeps a developer's sourced
// .dev/env from pointing the process under test at the dev stack. The
// process is killed on cleanup if still running.
func StartProcess(t testing.TB, bin string, args []string, env []string) *Process {
	t.Helper()
	name := filepath.Base(bin)
	f, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	if err != nil {
		t.Fatalf("temporaltest: create log for %s: %v", name, err)
	}
	p := &Process{Name: name, LogFile: f.Name(), out: &lockedBuffer{}, file: f, done: make(chan struct{})}
	w := io.MultiWriter(p.out, f)
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(withoutArdentEnv(os.Environ()), env...)
	p.cmd.Stdout = w
	p.cmd.Stderr = w
	// A process group lets Kill take any children with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("temporaltest: start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("temporaltest: %s output (%s), last lines:\n%s", name, p.LogFile, tail(p.Output(), 40))
		}
	})
	return p
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

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

func withoutArdentEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "ARDENT_") {
			out = append(out, kv)
		}
	}
	return out
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

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
