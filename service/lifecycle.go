package service

import (
	"bufio"
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
	if cur.Code == lsb.Unknown && !cur.lost {
		return cur, false, lsb.Errorf(lsb.Failed, "%s", cur.Reason)
	}
	if cur.lost || cur.WatchdogPID == 0 {
		// The state names no live watchdog, yet one may run: RUNDIR was removed
		// under it, or a start or adoption whose CLI went away has not written the
		// state yet. It must (re)write its state; starting another would start twice.
		if wd, ok := s.watchdogOf(); ok {
			if err := s.repairWatchdog(wd); err != nil {
				return cur, false, lsb.Errorf(lsb.Failed, "%v; run stop, then start", err)
			}
			cur = s.Inspect()
		}
	}
	if cur.State == "starting" {
		// Another start (whose CLI went away) is still in progress: wait for its end.
		if cur = s.awaitStart(cur); cur.State == "starting" {
			return cur, false, lsb.Errorf(lsb.Failed, "the watchdog (pid %d) is still starting the daemon after START_TIMEOUT", cur.WatchdogPID)
		}
		if !cur.Alive() {
			return cur, false, lsb.Errorf(lsb.Failed, "a start already in progress failed: %s", cur.Reason)
		}
	}
	if cur.Alive() {
		if cur.State == "unsupervised" && d.Respawn != RespawnNo {
			if err := s.adoptable(cur); err != nil {
				return cur, false, err
			}
			if cur.lost {
				// The watchdog adopts what the state file names: record the daemon
				// found through the pidfile (its age is unknown).
				s.Paths.SaveState(&State{Name: d.Name, Phase: PhaseDetached, Daemon: cur.daemon, PidFile: d.PidFile,
					Reason: "adopted without a state file"})
			}
			_, err := s.spawnWatchdog(ModeAdopt)
			return s.Inspect(), false, err
		}
		if cur.WatchdogPID != 0 && !d.Forks {
			// Already running. A deleted or overwritten pidfile is rewritten.
			if pf, err := ReadPidfile(d.PidFile); err != nil || pf == nil || pf.PID != cur.PID {
				s.repairWatchdog(cur.watchdog)
			}
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
	if _, ok := s.watchdogOf(); cur.WatchdogPID == 0 && (ok || watchdogLocked(s.Paths.wdLockFile(s.Def.Name))) {
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
		s.cleanupAfterWatchdog(cmd.Process.Pid)
		return 0, lsb.Errorf(lsb.Failed, "the watchdog did not report within %v; stopped what it started", bound)
	default:
		s.cleanupAfterWatchdog(cmd.Process.Pid)
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

// cleanupAfterWatchdog leaves nothing running after a start whose watchdog (pid wd,
// reaped already) vanished: what it started may not be recorded yet, but it is in
// the watchdog's session, which outlives it.
func (s *Service) cleanupAfterWatchdog(wd int) {
	killSession(wd, s.Def.StopSchedule)
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
		// Fast path (stopall.go): the watchdog stops everything and exits.
		if sameBinary(st.Watchdog) && stopAllWatchdog(st.Watchdog, s.watchdogSchedule(st)) && s.stoppedByWatchdog(st) {
			return true, nil
		}
		// Slow path: the watchdog detaches (or is killed), then the CLI stops
		// whatever still lives.
		if err := stopWatchdog(st.Watchdog); err != nil {
			return true, err
		}
	}
	// Any other watchdog of this service (its state file lost with RUNDIR, or a
	// start whose CLI went away before the state named it) would respawn the
	// daemon under our feet: find them in /proc (recover.go).
	for _, wd := range findWatchdogs(d.Name, d.File) {
		was = true
		if err := stopWatchdog(wd); err != nil {
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
	if err != nil {
		// Junk or a symlink where the pidfile belongs: remove the name (never
		// what a symlink points to), so that a stopped service has no pidfile.
		if fi, lerr := os.Lstat(s.Def.PidFile); lerr == nil && (fi.Mode().IsRegular() || fi.Mode()&os.ModeSymlink != 0) {
			os.Remove(s.Def.PidFile)
		}
		return
	}
	if pf == nil {
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
