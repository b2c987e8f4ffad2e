package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestMain makes the test process a child subreaper: the grandchildren these tests
// orphan are reaped here, not left as zombies of a PID 1 that may not reap, and a
// survivor fails the run.
func TestMain(m *testing.M) {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintln(os.Stderr, "proc tests: PR_SET_CHILD_SUBREAPER:", err)
		os.Exit(1)
	}
	code := m.Run()
	left := 0
	Each(func(pid int) bool {
		if st, err := ReadStat(pid); err == nil && st.PPID == os.Getpid() {
			if !st.Dead() {
				left++
				fmt.Fprintf(os.Stderr, "proc tests: pid %d outlived its test\n", pid)
			}
			unix.Kill(pid, unix.SIGKILL)
			var ws unix.WaitStatus
			unix.Wait4(pid, &ws, 0, nil)
		}
		return true
	})
	if left > 0 && code == 0 {
		code = 1
	}
	os.Exit(code)
}

// group starts sh -c script in its own process group and returns its identity.
func group(t *testing.T, script string) (*exec.Cmd, Ref) {
	cmd, ref, _ := groupWait(t, script)
	return cmd, ref
}

// groupWait is group, with the one function that waits for the shell: the test
// may call it (go wait()) and the cleanup calls it again, never concurrently
// with another Wait of the same Cmd.
func groupWait(t *testing.T, script string) (*exec.Cmd, Ref, func() error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The script says "up" once its children run: an event, not a sleep.
	buf := make([]byte, 3)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "up\n" {
		t.Fatalf("%q: %q %v", script, buf, err)
	}
	wait := sync.OnceValue(cmd.Wait)
	t.Cleanup(func() { unix.Kill(-cmd.Process.Pid, unix.SIGKILL); wait() })
	ref, err := Identify(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, ref, wait
}

func TestStopGroup(t *testing.T) {
	_, ref, wait := groupWait(t, "sleep 60 & sleep 60 & echo up; wait")
	go wait() // our child: reaped when it exits
	steps := []Step{{unix.SIGTERM, 5 * time.Second}}
	if err := Stop(TargetOf(ref), steps); err != nil {
		t.Fatal(err)
	}
	if GroupAlive(ref.PID) || ref.Alive() {
		t.Error("something of the group survived Stop")
	}
	if err := Stop(TargetOf(ref), steps); err != nil {
		t.Errorf("a second Stop: %v", err)
	}
}

func TestStopEscalatesAndReports(t *testing.T) {
	// sh ignores TERM and so does what it starts.
	_, ref := group(t, "trap '' TERM; sleep 60 & echo up; wait")
	start := time.Now()
	err := Stop(TargetOf(ref), []Step{{unix.SIGTERM, 100 * time.Millisecond}})
	var sr *StillRunning
	if !errors.As(err, &sr) || sr.What != fmt.Sprintf("process group %d", ref.PID) {
		t.Fatalf("TERM alone: %v, want the group still running", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("gave up after %v, before the step's timeout", d)
	}
	if err := Stop(TargetOf(ref), WithFinalKill([]Step{{unix.SIGTERM, 100 * time.Millisecond}})); err != nil {
		t.Fatalf("with the final KILL: %v", err)
	}
	if GroupAlive(ref.PID) {
		t.Error("the group survived SIGKILL")
	}
}

func TestStopLeftGroup(t *testing.T) {
	cmd, ref := group(t, "sleep 60 & echo up; wait")
	// The leader dies, its child lives on in its group.
	unix.Kill(ref.PID, unix.SIGKILL)
	cmd.Wait()
	if !GroupAlive(ref.PID) {
		t.Fatal("the group died with its leader")
	}
	if err := Stop(Target{Group: ref.PID}, []Step{{unix.SIGTERM, 5 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	if GroupAlive(ref.PID) {
		t.Error("the leader's group survived")
	}
}

func TestWithFinalKill(t *testing.T) {
	kill := []Step{{unix.SIGTERM, time.Second}, {unix.SIGKILL, time.Second}}
	if got := WithFinalKill(kill); len(got) != 2 {
		t.Errorf("a schedule ending with KILL got %v", got)
	}
	got := WithFinalKill([]Step{{unix.SIGTERM, time.Second}, {0, time.Second}})
	if len(got) != 3 || got[2] != (Step{unix.SIGKILL, FinalKill}) {
		t.Errorf("TERM/1/1 gave %v", got)
	}
}

func TestRunKillsLeftovers(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & echo started; exit 1")
	out := &outBuf{}
	cmd.Stdout = out
	start := time.Now()
	err := Run(context.Background(), cmd, 0o022, true)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("Run: %v, want exit status 1", err)
	}
	// The background sleep lasts 30 s: a Run that waited for it would take that.
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v: it waited for what the command left behind", d)
	}
	// Killed: gone once the kernel has delivered SIGKILL (bounded wait).
	if !WaitGroupEmpty(cmd.Process.Pid, time.Now().Add(5*time.Second)) {
		t.Error("the command's background process survived")
	}
	if out.String() != "started\n" {
		t.Errorf("output %q", out.String())
	}
}

func TestRunTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & sleep 30")
	start := time.Now()
	if err := Run(ctx, cmd, 0o022, false); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Run: %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run returned %v after its deadline of 100ms (what it ran lasts 30 s)", d)
	}
	// Killed: gone as soon as the kernel has delivered SIGKILL (bounded wait).
	if !WaitGroupEmpty(cmd.Process.Pid, time.Now().Add(5*time.Second)) {
		t.Error("the group survived the timeout")
	}
	var se *StartError
	if err := Run(context.Background(), exec.Command("/nonexistent"), 0o022, false); !errors.As(err, &se) {
		t.Errorf("a program that is not there: %v, want a StartError", err)
	}
}

func TestRunLeavesBackgroundWithoutKill(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "sleep 30 & exit 0")
	if err := Run(context.Background(), cmd, 0o022, false); err != nil {
		t.Fatal(err)
	}
	if !GroupAlive(cmd.Process.Pid) {
		t.Error("GUARD's and RELOAD_COMMAND's background processes are not killed at their exit")
	}
	unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
}

type outBuf struct {
	b []byte
}

func (s *outBuf) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }
func (s *outBuf) String() string              { return string(s.b) }
