package service

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/lsb"
)

// watchdogStopTimeout bounds the wait for a watchdog to leave on SIGTERM.
const watchdogStopTimeout = 5 * time.Second

// lockTimeout bounds how long a command waits for another one on the same service:
// long enough for the slowest start or stop the definition allows.
func (s *Service) lockTimeout() time.Duration {
	return s.Def.StartTimeout + s.Def.StopSchedule.Total() + watchdogStopTimeout + 10*time.Second
}

// Locked runs fn holding the service's command lock.
func (s *Service) Locked(fn func() error) error {
	if err := s.Paths.ensureRunDir(); err != nil {
		return err
	}
	l, err := AcquireLock(s.Paths.lockFile(s.Def.Name), s.lockTimeout())
	if err != nil {
		return lsb.Errorf(lsb.Failed, "%v", err)
	}
	defer l.Release()
	return fn()
}

// Start starts the service, or adopts its daemon when the watchdog is gone.
// The caller holds the lock. It returns the Status after the start.
func (s *Service) Start() (Status, bool, error) {
	d := s.Def
	cur := s.Inspect()
	if cur.Code == lsb.Unknown {
		return cur, false, lsb.Errorf(lsb.Failed, "%s", cur.Reason)
	}
	if cur.Alive() {
		if cur.State == "unsupervised" && d.Respawn != RespawnNo {
			if err := s.adoptable(cur); err != nil {
				return cur, false, err
			}
			_, err := s.spawnWatchdog(ModeAdopt)
			return s.Inspect(), false, err
		}
		return cur, false, nil // already running
	}
	if cur.State == "respawning" {
		return cur, false, nil // supervised; the watchdog brings it back
	}
	if err := d.Runnable(); err != nil {
		return cur, false, err
	}
	if err := s.Guard(); err != nil {
		return cur, false, err
	}
	_, err := s.spawnWatchdog(ModeStart)
	return s.Inspect(), true, err
}

// adoptable refuses to adopt a daemon while the state file is gone but a watchdog
// still holds its lock: two watchdogs would respawn twice.
func (s *Service) adoptable(cur Status) error {
	if cur.WatchdogPID == 0 && watchdogLocked(s.Paths.wdLockFile(s.Def.Name)) {
		return lsb.Errorf(lsb.Failed, "the daemon (pid %d) has a watchdog that lost its state file; run stop, then start", cur.PID)
	}
	return nil
}

// spawnWatchdog re-executes svcwrap as the watchdog in its own session and waits, with
// a bound, for its one-line report on the readiness pipe.
func (s *Service) spawnWatchdog(mode string) (int, error) {
	d := s.Def
	exe, err := os.Executable()
	if err != nil {
		return 0, lsb.Errorf(lsb.Failed, "cannot find the svcwrap binary: %v", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return 0, lsb.Errorf(lsb.Failed, "pipe: %v", err)
	}
	defer r.Close()
	cmd := &exec.Cmd{Path: exe, Args: []string{"svcwrap", WatchdogArg, mode, d.Name, d.File},
		Env: watchdogEnv(), Dir: "/", ExtraFiles: []*os.File{w},
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, lsb.Errorf(lsb.Failed, "cannot start the watchdog: %v", err)
	}
	bound := d.StartTimeout + 5*time.Second
	r.SetReadDeadline(time.Now().Add(bound))
	line, rerr := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	ok := strings.HasPrefix(line, "ok ")
	if ok && !(d.Respawn == RespawnNo && mode == ModeStart) {
		cmd.Process.Release() // it lives on, reparented to init
	} else {
		reap(cmd)
	}
	switch {
	case ok:
		pid, _ := strconv.Atoi(strings.TrimSpace(line[3:]))
		return pid, nil
	case strings.HasPrefix(line, "fail "):
		f := strings.SplitN(strings.TrimSpace(line), " ", 4)
		if len(f) < 4 {
			return 0, lsb.Errorf(lsb.Failed, "garbled report from the watchdog: %q", line)
		}
		code, _ := strconv.Atoi(f[1])
		off, _ := strconv.ParseInt(f[2], 10, 64)
		msg := f[3] + s.logTail(off)
		return 0, &lsb.Error{Code: lsb.Exit(code), Err: errors.New(msg)}
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		s.cleanupAfterWatchdog()
		return 0, lsb.Errorf(lsb.Failed, "the watchdog did not report within %v; stopped what it started", bound)
	default:
		s.cleanupAfterWatchdog()
		return 0, lsb.Errorf(lsb.Failed, "the watchdog died before reporting; stopped what it started")
	}
}

// reap waits, with a bound, for a watchdog that is about to exit, so that it does
// not stay a zombie under an init that does not reap.
func reap(cmd *exec.Cmd) {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t := time.NewTimer(watchdogStopTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		cmd.Process.Kill()
		<-done
	}
}

// cleanupAfterWatchdog leaves nothing running after a start whose watchdog vanished.
func (s *Service) cleanupAfterWatchdog() {
	s.stopProcesses()
}

// logTail returns the last lines the daemon wrote to its log since offset.
func (s *Service) logTail(off int64) string {
	d := s.Def
	if d.Log == "none" || d.Log == "syslog" {
		return ""
	}
	f, err := os.Open(d.Log)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 8 << 10
	if fi, err := f.Stat(); err == nil && fi.Size()-off > max {
		off = fi.Size() - max
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, off, max))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	if len(lines) == 0 || (len(lines) == 1 && lines[0] == "") {
		return "; the daemon wrote nothing to " + d.Log
	}
	return "; last lines of " + d.Log + ":\n  " + strings.Join(lines, "\n  ")
}

// Stop stops the watchdog first (so nothing respawns), then the daemon's process
// group by STOP_SCHEDULE. It reports whether something was running. The caller
// holds the lock.
func (s *Service) Stop() (bool, error) {
	return s.stopProcesses()
}

func (s *Service) stopProcesses() (bool, error) {
	d := s.Def
	was := false
	if st, _ := s.Paths.ReadState(d.Name); st != nil && st.Watchdog.Alive() {
		was = true
		if err := stopWatchdog(st.Watchdog); err != nil {
			return true, err
		}
	}
	// The watchdog may have respawned the daemon just before it left: read again.
	cur := s.Inspect()
	var err error
	if cur.Alive() {
		was = true
		err = RunSchedule(cur.daemon, d.StopSchedule)
	}
	if err == nil {
		s.removePidfile(cur.daemon.PID)
		s.Paths.RemoveState(d.Name)
	}
	return was, err
}

// removePidfile removes the pidfile if it names pid (or nothing alive).
func (s *Service) removePidfile(pid int) {
	pf, err := ReadPidfile(s.Def.PidFile)
	if err != nil || pf == nil {
		return
	}
	if pf.PID == pid || pid == 0 {
		os.Remove(s.Def.PidFile)
	}
}

// stopWatchdog sends SIGTERM to a watchdog (it detaches and exits) and waits for its
// exit on a pidfd; if it does not leave in time it is killed.
func stopWatchdog(ref ProcRef) error {
	p, err := ref.Open()
	if err != nil {
		return nil // gone already
	}
	defer p.Close()
	for _, sig := range []syscall.Signal{unix.SIGTERM, unix.SIGKILL} {
		if err := p.Signal(sig); err != nil {
			return nil
		}
		if exited, _ := p.Wait(time.Now().Add(watchdogStopTimeout)); exited {
			return nil
		}
	}
	return lsb.Errorf(lsb.Failed, "the watchdog (pid %d) did not exit on SIGTERM or SIGKILL", ref.PID)
}

// RunSchedule stops a daemon by a STOP_SCHEDULE. A daemon that leads its own
// process group gets each signal on the whole group, so its children stop with it.
// Each step waits on the leader's pidfd; once the leader is gone the remaining group
// members are polled with a short bounded backoff, because the kernel has no event
// for an empty process group.
func RunSchedule(ref ProcRef, sched Schedule) error {
	p, err := ref.Open()
	if err != nil {
		return nil // already gone
	}
	defer p.Close()
	group := 0
	if st, err := readStat(ref.PID); err == nil && st.PGID == ref.PID {
		group = ref.PID
	}
	for _, step := range sched.Steps {
		if step.Signal != 0 {
			if group != 0 {
				unix.Kill(-group, step.Signal)
			} else {
				p.Signal(step.Signal)
			}
		}
		deadline := time.Now().Add(step.Timeout)
		if exited, _ := p.Wait(deadline); !exited {
			continue
		}
		if group == 0 || waitGroupEmpty(group, deadline) {
			return nil
		}
	}
	what := "the daemon (pid " + strconv.Itoa(ref.PID) + ")"
	if group != 0 {
		what = "process group " + strconv.Itoa(group)
	}
	return lsb.Errorf(lsb.Failed, "%s still runs after STOP_SCHEDULE %s", what, sched)
}

// waitGroupEmpty polls until no live process is left in the group, or the deadline.
func waitGroupEmpty(pgid int, deadline time.Time) bool {
	wait := 200 * time.Microsecond
	for {
		if !groupAlive(pgid) {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(min(wait, left))
		<-t.C
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// Signal sends sig to the running daemon (LSB 7 when it is not running).
func (s *Service) Signal(sig unix.Signal) error {
	cur := s.Inspect()
	if !cur.Alive() {
		return lsb.Errorf(lsb.NotRunning, "not running")
	}
	p, err := cur.daemon.Open()
	if err != nil {
		return lsb.Errorf(lsb.NotRunning, "not running")
	}
	defer p.Close()
	if err := p.Signal(sig); err != nil {
		return lsb.Errorf(lsb.Failed, "send %s to pid %d: %v", SignalName(sig), cur.PID, err)
	}
	return nil
}

// RunCommand runs a command line of the definition as USER with the service
// environment, passing stdio through; its exit status becomes the error's code.
func (s *Service) RunCommand(argv []string, stdin io.Reader, stdout, stderr io.Writer) error {
	d := s.Def
	path, err := ResolveProgram(argv[0])
	if err != nil {
		return &lsb.Error{Code: lsb.NotInstalled, Err: err}
	}
	cmd := &exec.Cmd{Path: path, Args: argv, Env: d.Env, Dir: d.Chdir, Stdin: stdin, Stdout: stdout, Stderr: stderr,
		SysProcAttr: &syscall.SysProcAttr{Credential: d.Cred}}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &CommandExit{Argv0: argv[0], State: ee.ProcessState}
		}
		return lsb.Errorf(lsb.Failed, "%s: %v", argv[0], err)
	}
	return nil
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

// Guard runs the GUARD verb; a failure refuses the action with LSB 6 and the
// guard's own output, and nothing running is touched.
func (s *Service) Guard() error {
	d := s.Def
	if d.Guard == "" {
		return nil
	}
	v := d.Verb(d.Guard)
	var out bytes.Buffer
	err := s.RunCommand(v.Argv, nil, &out, &out)
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(out.String())
	if msg != "" {
		msg = ":\n  " + strings.ReplaceAll(msg, "\n", "\n  ")
	}
	return lsb.Errorf(lsb.NotConfigured, "refused: GUARD %s failed (%v)%s", d.Guard, err, msg)
}

// ErrNoReload is returned by Reload when the definition says how to reload nothing.
var ErrNoReload = errors.New("no RELOAD_SIGNAL or RELOAD_COMMAND")

// Reload runs RELOAD_SIGNAL or RELOAD_COMMAND after the GUARD.
func (s *Service) Reload(stdout, stderr io.Writer) error {
	d := s.Def
	if d.ReloadSignal == 0 && d.ReloadCommand == nil {
		return &lsb.Error{Code: lsb.Unimplemented, Err: ErrNoReload, Hint: "set RELOAD_SIGNAL or RELOAD_COMMAND, or use force-reload to restart"}
	}
	if !s.Inspect().Alive() {
		return lsb.Errorf(lsb.NotRunning, "not running")
	}
	if err := s.Guard(); err != nil {
		return err
	}
	if d.ReloadSignal != 0 {
		return s.Signal(d.ReloadSignal)
	}
	return s.RunCommand(d.ReloadCommand, nil, stdout, stderr)
}
