package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/probe"
	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/run"
	"svcwrap/safefile"
)

// The commands of a definition other than DAEMON: COMMAND_ verbs, GUARD and
// RELOAD_COMMAND. They run like the daemon would (definition.Command: USER/GROUP,
// the service environment, CHDIR, UMASK); argv is split from the definition and
// extra arguments are appended as argv, never through a shell.

// startError explains why a command could not start (most often: USER cannot
// enter CHDIR, which the kernel checks after the switch to USER).
func (s *Service) startError(what string, argv0 string, err error) error {
	d := s.Def
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "chdir" {
		who := "svcwrap's user"
		if d.User != "" {
			who = "USER " + d.User
		}
		return lsb.Errorf(lsb.Failed, "%s: %s cannot enter CHDIR %s: %v", what, who, d.Chdir, pe.Err)
	}
	return lsb.Errorf(lsb.Failed, "%s: cannot run %s: %v", what, argv0, err)
}

// RunCommand runs a custom verb's command in the foreground: stdin, stdout and
// stderr are the caller's own files, and the command's exit status becomes
// svcwrap's (a *CommandExit when it is not 0). As system(3) does, svcwrap waits
// through the terminal's SIGINT and SIGQUIT (they reach the command too, which is
// in the same process group) and passes a SIGTERM sent to svcwrap on to it.
func (s *Service) RunCommand(argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, err := s.Def.Command(argv)
	if err != nil {
		return err
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM)
	defer signal.Stop(sigc)
	if err := proc.StartUmask(cmd, s.Def.Umask); err != nil {
		return s.startError("COMMAND", argv[0], err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case sig := <-sigc:
				if sig == unix.SIGTERM {
					cmd.Process.Signal(sig)
				}
			case <-done:
				return
			}
		}
	}()
	return commandResult(argv[0], cmd.Wait())
}

func commandResult(argv0 string, err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &CommandExit{Argv0: argv0, State: ee.ProcessState}
	}
	return lsb.Errorf(lsb.Failed, "%s: %v", argv0, err)
}

// CommandExit is a custom command that exited non-zero: its status passes through.
type CommandExit struct {
	Argv0 string
	State *os.ProcessState
}

func (e *CommandExit) Error() string { return e.Argv0 + ": " + e.State.String() }

// ExitCode is the command's own exit code, or 128+N when a signal killed it.
func (e *CommandExit) ExitCode() int {
	ws := e.State.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// runBounded runs argv (GUARD, RELOAD_COMMAND) with stdin /dev/null, in its own
// process group, for at most bound: then the whole group is killed (proc.Run). A
// descendant that keeps stdout or stderr open cannot hold svcwrap (and the lock)
// either.
func (s *Service) runBounded(what string, argv []string, stdout, stderr io.Writer, bound time.Duration) error {
	cmd, err := s.Def.Command(argv)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	err = proc.Run(ctx, cmd, s.Def.Umask, false)
	var se *proc.StartError
	switch {
	case errors.As(err, &se):
		return s.startError(what, argv[0], se.Err)
	case errors.Is(err, proc.ErrTimeout):
		return lsb.Errorf(lsb.Failed, "%s: %s did not finish within %v (START_TIMEOUT) and was killed", what, argv[0], bound)
	}
	return commandResult(argv[0], err)
}

// Guard runs the GUARD verb; a failure refuses the action with LSB 6 and the
// guard's own output, and nothing running is touched. The guard runs without a
// terminal and is bounded by START_TIMEOUT.
func (s *Service) Guard() error {
	d := s.Def
	if d.Guard == "" || s.guarded {
		return nil
	}
	v := d.Verb(d.Guard)
	if v == nil || v.Kind != definition.VerbCommand { // the loader refuses this already
		return lsb.Errorf(lsb.NotConfigured, "GUARD %q is not a COMMAND_ verb", d.Guard)
	}
	// The guard checks the configuration as the daemon would find it: with its
	// runtime directories (sshd -t fails without /run/sshd).
	if err := run.Paths(d); err != nil {
		return &lsb.Error{Code: lsb.Exit(safefile.ExitCode(err, int(lsb.Failed))), Err: err}
	}
	out := &probe.Tail{Max: 16 << 10}
	err := s.runBounded("GUARD "+d.Guard, v.Argv, out, out, d.StartTimeout)
	if err == nil {
		s.guarded = true
		return nil
	}
	msg := out.String()
	if msg != "" {
		msg = ":\n  " + strings.ReplaceAll(msg, "\n", "\n  ")
	}
	cause := err.Error()
	var le *lsb.Error
	if errors.As(err, &le) && le.Err != nil {
		cause = le.Err.Error()
	}
	return lsb.Errorf(lsb.NotConfigured, "refused: GUARD %s failed (%s); nothing was changed%s", d.Guard, cause, msg)
}

// ErrNoReload is returned by Reload when the definition says how to reload nothing.
var ErrNoReload = errors.New("no RELOAD_SIGNAL or RELOAD_COMMAND")

// Reload runs RELOAD_SIGNAL or RELOAD_COMMAND after the GUARD. RELOAD_SIGNAL goes
// to the daemon process only, like SIGNAL_ verbs. RELOAD_COMMAND's output goes to
// out; its failure is LSB 1, whatever its own exit code (an init script's exit
// codes have fixed meanings). A daemon that dies from the reload (a bad
// configuration makes php-fpm exit on USR2) fails it too, with exit 1 and the
// daemon's last log lines: reload watches it until READY passes again (bounded by
// START_TIMEOUT), or for a second when there is no READY probe.
func (s *Service) Reload(out io.Writer) error {
	d := s.Def
	if !d.CanReload() {
		return &lsb.Error{Code: lsb.Unimplemented, Err: ErrNoReload, Hint: "set RELOAD_SIGNAL or RELOAD_COMMAND, or use force-reload to restart"}
	}
	cur := s.Inspect()
	if !cur.Alive() {
		return lsb.Errorf(lsb.NotRunning, "not running; nothing to reload")
	}
	if err := s.Guard(); err != nil {
		return err
	}
	h, err := cur.daemon.Open()
	if err != nil {
		return lsb.Errorf(lsb.NotRunning, "not running; nothing to reload")
	}
	defer h.Close()
	logAt := s.logSize()
	// READY=1 counted so far, read after the GUARD: one that came while it ran
	// (php-fpm repeats READY=1 with its STATUS= heartbeat) is no answer to the
	// reload.
	readies := cur.Readies
	if st, err := s.files().ReadState(d.Name); err == nil && st != nil && st.Daemon.PID == h.Ref.PID {
		readies = st.Readies
	}
	if d.ReloadSignal != 0 {
		if err := h.Signal(d.ReloadSignal); err != nil {
			return lsb.Errorf(lsb.Failed, "send %s to pid %d: %v", proc.SignalName(d.ReloadSignal), cur.PID, err)
		}
	} else {
		err := s.runBounded("RELOAD_COMMAND", d.ReloadCommand, out, out, d.StartTimeout)
		var ce *CommandExit
		if errors.As(err, &ce) {
			return lsb.Errorf(lsb.Failed, "RELOAD_COMMAND failed: %s", ce.State)
		}
		if err != nil {
			return err
		}
	}
	if err := s.watchReload(h, readies); err != nil {
		return lsb.Errorf(lsb.Failed, "%v%s", err, s.logTail(logAt))
	}
	return nil
}

// watchReload waits for the reloaded daemon h to be ready again: with
// READY=notify, until it sends READY=1 once more than the readies it had sent
// before (RELOADING=1 may come first); else until READY passes (bounded by
// START_TIMEOUT), or a second without READY. It fails when the daemon dies
// meanwhile, or never confirms.
func (s *Service) watchReload(h *proc.Handle, readies int) error {
	d := s.Def
	died := fmt.Errorf("the daemon (pid %d) died from the reload; its watchdog respawns it with the configuration as it is", h.Ref.PID)
	if d.Ready != nil && d.Ready.Announced() {
		if d.Ready.Kind != "notify" {
			return nil // fd:N says ready once, at start
		}
		_, err := s.awaitState(h, time.Now().Add(d.StartTimeout), func(st *protocol.State) bool {
			return st.Daemon.PID == h.Ref.PID && st.Readies > readies
		})
		switch err {
		case errExited:
			return died
		case errTimedOut:
			return fmt.Errorf("the daemon (pid %d) did not confirm the reload with READY=1 within START_TIMEOUT %v (READY=notify)", h.Ref.PID, d.StartTimeout)
		}
		return nil
	}
	if d.Ready == nil {
		if exited, _ := h.Wait(time.Now().Add(time.Second)); exited {
			return died
		}
		return nil
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d.StartTimeout)
	defer cancel()
	x := d.ProbeExec(d.Ready)
	var last error
	for {
		if exited, _ := h.Wait(time.Now()); exited {
			return died
		}
		if last = d.Ready.Run(ctx, x); last == nil {
			return nil
		}
		// No event says "ready again": the probe is polled, as at start.
		if exited, _ := h.Wait(time.Now().Add(probe.Interval(time.Since(began)))); exited {
			return died
		}
		if ctx.Err() != nil {
			return fmt.Errorf("not ready again within START_TIMEOUT %v after the reload: READY %s: %v", d.StartTimeout, d.Ready, last)
		}
	}
}

// logSize is the size of the service log, from where logTail shows what the
// daemon writes next.
func (s *Service) logSize() int64 {
	if fi, err := os.Stat(s.Def.Log); err == nil && fi.Mode().IsRegular() {
		return fi.Size()
	}
	return 0
}
