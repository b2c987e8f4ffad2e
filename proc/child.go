package proc

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// WaitChild waits for our child cmd to exit and reaps it. The wait is on a pidfd
// registered with the netpoller, so no OS thread sits blocked in wait4 for the
// child's whole life (a watchdog waits for its daemon for months); without a pidfd
// it is cmd.Wait alone.
func WaitChild(cmd *exec.Cmd) Exit {
	if h, err := OpenChild(cmd.Process.Pid); err == nil {
		for {
			if exited, err := h.Wait(time.Time{}); exited || err != nil {
				break
			}
		}
		h.Close()
	}
	cmd.Wait()
	return ExitOf(cmd.ProcessState)
}

// umaskMu serialises the process-wide umask switch around a fork.
var umaskMu sync.Mutex

// StartUmask starts cmd with the file mode creation mask umask. The mask is a
// process attribute: it is switched for the fork and put back at once (callers
// create no files meanwhile).
func StartUmask(cmd *exec.Cmd, umask uint32) error {
	umaskMu.Lock()
	defer umaskMu.Unlock()
	old := syscall.Umask(int(umask))
	defer syscall.Umask(old)
	return cmd.Start()
}

// ErrTimeout is Run's error when ctx ended before the command did.
var ErrTimeout = errors.New("did not finish in time and was killed")

// StartError is Run's error when the command could not start (its program, or
// USER entering CHDIR).
type StartError struct{ Err error }

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

// Run runs cmd (GUARD, RELOAD_COMMAND, an exec probe, a hook) in its own process
// group with umask, and waits at most until ctx ends: then the whole group is
// killed and Run returns ErrTimeout. With killLeftovers the group is killed as
// well when the command exits: a probe is over once its command has answered, and
// a background process it left behind must neither pile up nor hold its output
// open. The group is killed before the command is reaped, while its zombie still
// holds the group ID, so the kill can never reach a new group that reused it. A
// descendant that left the group and keeps the output open costs at most a second
// (WaitDelay). Otherwise Run returns what cmd.Wait does: nil, or an
// *exec.ExitError; or a *StartError.
func Run(ctx context.Context, cmd *exec.Cmd, umask uint32, killLeftovers bool) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = time.Second
	}
	if err := StartUmask(cmd, umask); err != nil {
		return &StartError{err}
	}
	pid := cmd.Process.Pid
	h, err := OpenChild(pid)
	if err != nil {
		// No pidfd (an old kernel): a goroutine waits for ctx instead.
		done := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				unix.Kill(-pid, unix.SIGKILL)
			case <-done:
			}
		}()
		werr := cmd.Wait()
		close(done)
		if ctx.Err() != nil {
			return ErrTimeout
		}
		return werr
	}
	exited := h.WaitContext(ctx)
	h.Close()
	if !exited || killLeftovers {
		unix.Kill(-pid, unix.SIGKILL) // the leader is not reaped yet: the group ID is ours
	}
	werr := cmd.Wait()
	if !exited {
		return ErrTimeout
	}
	if errors.Is(werr, exec.ErrWaitDelay) {
		return nil // it succeeded; something it left behind kept its output open
	}
	return werr
}

// CloexecInherited marks every file descriptor from 3 up close-on-exec. svcwrap
// calls it first thing: a maintainer script holds debconf's fd 3 open (and a
// caller may pass any other), and whatever svcwrap execs (the watchdog, custom
// commands, GUARD) must not inherit them, or dpkg and Ansible wait forever for
// an EOF. Go's os/exec closes only the fds it opened itself close-on-exec; an
// inherited fd without the flag would otherwise survive into the watchdog, which
// never execs again and so would hold it for the life of the service.
func CloexecInherited() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return
	}
	ents, err := os.ReadDir("/proc/self/fd") // kernels without close_range
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3 {
			unix.CloseOnExec(fd)
		}
	}
}
