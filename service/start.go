package service

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/run"
	"svcwrap/safefile"
)

// Start starts the service, or adopts its daemon when the watchdog is gone.
// The caller holds the lock. It returns the Status after the start, and whether
// it started a daemon.
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
		if cur.State == "unsupervised" && d.Respawn != definition.RespawnNo {
			if err := s.adoptable(cur); err != nil {
				return cur, false, err
			}
			if cur.lost {
				// The watchdog adopts what the state file names: record the daemon
				// found through the pidfile (its age is unknown).
				s.files().SaveState(&protocol.State{Name: d.Name, Phase: protocol.PhaseDetached, Daemon: cur.daemon, PidFile: d.PidFile,
					Reason: "adopted without a state file"})
			}
			_, err := s.spawnWatchdog(protocol.ModeAdopt)
			return s.Inspect(), false, err
		}
		if cur.WatchdogPID != 0 && !d.Forks {
			// Already running. A deleted or overwritten pidfile is rewritten.
			if pf, err := safefile.ReadPidfile(d.PidFile); err != nil || pf == nil || pf.PID != cur.PID {
				s.repairWatchdog(cur.watchdog)
			}
		}
		return cur, false, nil // already running
	}
	if cur.State == "respawning" {
		return cur, false, nil // supervised; the watchdog brings it back
	}
	if cur.State == "disabled" {
		return cur, false, nil // ENABLED or CONDITION says no: nothing to start
	}
	if err := d.Runnable(); err != nil {
		return cur, false, err
	}
	if strays := s.strays(); len(strays) > 0 && d.Respawn != definition.RespawnNo && cur.WatchdogPID == 0 {
		// No record names it, yet the daemon runs: adopt it, never start a
		// second one (and stop any more of them).
		for _, x := range strays[1:] {
			run.Stop(d, proc.TargetOf(x), true, false, func(error) {})
		}
		s.files().SaveState(&protocol.State{Name: d.Name, Phase: protocol.PhaseDetached, Daemon: strays[0], PidFile: d.PidFile,
			Reason: "adopted: found running without a record"})
		_, err := s.spawnWatchdog(protocol.ModeAdopt)
		return s.Inspect(), false, err
	}
	if err := s.Guard(); err != nil {
		return cur, false, err
	}
	_, err := s.spawnWatchdog(protocol.ModeStart)
	return s.Inspect(), true, err
}

// adoptable refuses to adopt a daemon while the state file is gone but a watchdog
// still holds its lock: two watchdogs would respawn twice.
func (s *Service) adoptable(cur Status) error {
	if _, ok := s.watchdogOf(); cur.WatchdogPID == 0 && (ok || s.files().WatchdogHeld(s.Def.Name)) {
		return lsb.Errorf(lsb.Failed, "the daemon (pid %d) has a watchdog that lost its state file; run stop, then start", cur.PID)
	}
	return nil
}

// spawnWatchdog re-executes svcwrap as the watchdog in its own session and waits,
// with a bound, for its one-line report on the readiness pipe.
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
	cmd := &exec.Cmd{Path: exe, Args: protocol.Argv(mode, d.Name, d.File),
		Env: protocol.WatchdogEnv(), Dir: "/", ExtraFiles: []*os.File{w}, // fd 3: protocol.ReadyFD
		SysProcAttr: &syscall.SysProcAttr{Setsid: true}}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return 0, lsb.Errorf(lsb.Failed, "cannot start the watchdog: %v", err)
	}
	bound := d.StartTimeout + 5*time.Second
	rep, rerr := protocol.ReadReport(r, time.Now().Add(bound))
	if rep.OK && !(d.Respawn == definition.RespawnNo && mode == protocol.ModeStart) {
		cmd.Process.Release() // it lives on, reparented to init
	} else {
		reap(cmd)
	}
	switch {
	case rep.OK:
		return rep.PID, nil
	case rerr == nil:
		return 0, &lsb.Error{Code: lsb.Exit(rep.Code), Err: errors.New(rep.Msg + s.logTail(rep.LogOffset))}
	case errors.Is(rerr, os.ErrDeadlineExceeded):
		s.cleanupAfterWatchdog(cmd.Process.Pid)
		return 0, lsb.Errorf(lsb.Failed, "the watchdog did not report within %v; stopped what it started", bound)
	case errors.Is(rerr, protocol.ErrNoReport):
		s.cleanupAfterWatchdog(cmd.Process.Pid)
		return 0, lsb.Errorf(lsb.Failed, "the watchdog died before reporting; stopped what it started")
	}
	return 0, lsb.Errorf(lsb.Failed, "%v", rerr)
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
	s.killSession(wd)
	s.Stop()
}

// logTail returns the last lines the daemon wrote to its log since offset.
func (s *Service) logTail(off int64) string {
	d := s.Def
	if d.Log == "none" || d.Log == "syslog" || d.Log == "console" {
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

// awaitStart waits, bounded by START_TIMEOUT, for a start that is in progress
// without its CLI (killed, or its terminal closed) to end, and returns the state
// then. The state file has no event: this polls it with a growing interval, and
// returns early when the watchdog exits.
func (s *Service) awaitStart(cur Status) Status {
	h, err := cur.watchdog.Open()
	if err != nil {
		return s.Inspect()
	}
	defer h.Close()
	deadline := time.Now().Add(s.Def.StartTimeout + time.Second)
	wait := time.Millisecond
	for cur.State == "starting" && time.Now().Before(deadline) {
		h.Wait(time.Now().Add(wait))
		wait = min(wait*2, 100*time.Millisecond)
		cur = s.Inspect()
	}
	return cur
}
