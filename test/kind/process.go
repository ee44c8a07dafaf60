package kind

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// process is a child process in its own process group, its output in a log file. It is stopped
// when the test ends, and its log's tail is printed when the test failed.
type process struct {
	name    string
	logFile string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
	once    sync.Once
}

// logTailLines is how much of a log a failed test prints.
const logTailLines = 200

// startProcess runs bin with args, output to dir/<name>.log.
func startProcess(t testing.TB, name, bin, dir string, env []string, args ...string) *process {
	t.Helper()
	p := &process{name: name, logFile: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logf, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatalf("%s log: %v", name, err)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	// Own process group, so stopping it stops any children; killed with the test binary should it
	// die without running cleanups (a test timeout).
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s (%s): %v", name, bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(10 * time.Second)
		if t.Failed() {
			t.Logf("--- last %d lines of the %s log (%s) ---\n%s", logTailLines, name, p.logFile, p.tail(logTailLines))
		}
	})
	return p
}

// stop sends SIGTERM to the process group, then SIGKILL after grace. Calling it again is harmless.
func (p *process) stop(grace time.Duration) error {
	p.once.Do(func() {
		pgid := p.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	})
	<-p.done
	var exit *exec.ExitError
	if errors.As(p.err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() {
		return fmt.Errorf("%s did not stop on SIGTERM within %s", p.name, grace)
	}
	return p.err
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// log returns everything the process has written so far.
func (p *process) log() []byte {
	data, _ := os.ReadFile(p.logFile)
	return data
}

func (p *process) tail(n int) []byte {
	lines := bytes.Split(p.log(), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}

// waitFor polls ready until it returns nil, the process exits, or timeout passes.
func (p *process) waitFor(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if done, exitErr := p.exited(); done {
			return fmt.Errorf("%s exited (%v) before it was ready; its log:\n%s", p.name, exitErr, p.tail(logTailLines))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %w; its log:\n%s", p.name, timeout, err, p.tail(logTailLines))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func writeFile(t testing.TB, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// ctxFor is a context for one API call, cancelled when t ends.
func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
