package service

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/cgroup"
	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/run"
	"svcwrap/safefile"
)

// stopMargin is added to STOP_SCHEDULE's total to bound the wait for a watchdog
// that stops everything.
const stopMargin = 5 * time.Second

// Stop stops the watchdog first (so nothing respawns), then the daemon's process
// group by STOP_SCHEDULE. It reports whether something was running. The caller
// holds the lock.
//
// The fast path: the watchdog is the daemon's parent and learns of its death the
// moment it happens, so it is asked to stop everything itself (protocol.SigStop)
// and the CLI only waits for its exit on a pidfd. The slow path, when that fails
// or the watchdog is an older binary: the watchdog is told to leave
// (protocol.SigDetach, or killed), and the CLI stops whatever still lives.
func (s *Service) Stop() (bool, error) {
	d := s.Def
	was := false
	st, _ := s.files().ReadState(d.Name)
	cg := s.cgroupOf(st)
	if st != nil && st.Watchdog.Alive() {
		was = true
		if sameBinary(st.Watchdog) && stopByWatchdog(st.Watchdog, s.watchdogStopBound(st)) && s.stoppedByWatchdog(st) {
			return true, nil
		}
		if err := stopWatchdog(st.Watchdog); err != nil {
			return true, err
		}
	}
	// Any other watchdog of this service (its state file lost with RUNDIR, or a
	// start whose CLI went away before the state named it) would respawn the
	// daemon under our feet.
	for _, wd := range s.findWatchdogs() {
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
		warn := func(err error) { lsb.NewReporter(os.Stdout, os.Stderr).Warning("%s: stop: %v", d.Name, err) }
		t := proc.TargetOf(cur.daemon)
		if cg != nil {
			t.Members = cg
		}
		if err = run.Stop(d, t, true, false, warn); err != nil {
			err = lsb.Errorf(lsb.Failed, "%v", err)
		}
	}
	if err == nil && cg != nil && cg.Populated() {
		// What the daemon left in its cgroup (a helper in a session of its own),
		// its watchdog killed before it could stop it.
		was = true
		if err = run.Stop(d, proc.Target{Members: cg}, false, true, func(error) {}); err != nil {
			err = lsb.Errorf(lsb.Failed, "%v", err)
		}
	}
	if err == nil {
		// Daemons no record names any more (their watchdog killed, its state
		// file and their pidfile lost) must not outlive a stop either.
		for _, x := range s.strays() {
			was = true
			if err = run.Stop(d, proc.TargetOf(x), true, false, func(error) {}); err != nil {
				err = lsb.Errorf(lsb.Failed, "%v", err)
				break
			}
		}
	}
	if err == nil {
		safefile.RemovePidfile(d.PidFile, cur.daemon.PID)
		s.files().RemoveState(d.Name)
		s.files().ForgetWatchdog(d.Name)
		if cg != nil {
			cg.Remove()
		}
		if st != nil {
			if v1 := cgroup.V1At(st.CgroupV1, d.Name); v1 != nil {
				v1.Remove()
			}
		}
	}
	return was, err
}

// cgroupOf is the service's cgroup: the one its state file records, else (the
// state lost) the one a watchdog started from here would have made; nil when
// CGROUP=no or the host has no cgroup v2.
func (s *Service) cgroupOf(st *protocol.State) *cgroup.Group {
	if st != nil && st.Cgroup != "" {
		return cgroup.At(st.Cgroup, s.Def.Name)
	}
	if !s.Def.Cgroup {
		return nil
	}
	if g := cgroup.ForService(s.Def.Name, s.files().Dir); g != nil && g.Exists() {
		return g
	}
	return nil
}

// stopWatchdog tells a watchdog to leave and waits for its exit on a pidfd; if it
// does not leave in time it is killed.
func stopWatchdog(ref proc.Ref) error {
	h, err := ref.Open()
	if err != nil {
		return nil // gone already
	}
	defer h.Close()
	for _, sig := range []syscall.Signal{protocol.SigDetach, unix.SIGKILL} {
		if err := h.Signal(sig); err != nil {
			return nil
		}
		if exited, _ := h.Wait(time.Now().Add(watchdogStopTimeout)); exited {
			return nil
		}
	}
	return lsb.Errorf(lsb.Failed, "the watchdog (pid %d) did not exit on SIGTERM or SIGKILL", ref.PID)
}

// stopByWatchdog asks the watchdog ref to stop everything and waits, bounded by
// the stop's bound plus a margin, for it to exit. It reports whether the
// watchdog exited (not whether it succeeded: the caller checks that).
func stopByWatchdog(ref proc.Ref, bound time.Duration) bool {
	h, err := ref.Open()
	if err != nil {
		return false // gone already, or unknown: the caller's slow path sees to it
	}
	defer h.Close()
	if err := h.Signal(protocol.SigStop); err != nil {
		return false
	}
	exited, _ := h.Wait(time.Now().Add(bound + stopMargin))
	return exited
}

// sameBinary reports whether the watchdog ref runs this very executable, and so
// understands protocol.SigStop (a watchdog started before an upgrade may not).
func sameBinary(ref proc.Ref) bool {
	var st unix.Stat_t
	return (ref.Dev != 0 || ref.Ino != 0) && unix.Stat("/proc/self/exe", &st) == nil && st.Dev == ref.Dev && st.Ino == ref.Ino
}

// watchdogStopBound bounds a stop by the watchdog: the definition's stop bound, or
// longer when the watchdog runs an older, longer STOP_SCHEDULE (recorded in the
// state; the definition may have changed since).
func (s *Service) watchdogStopBound(st *protocol.State) time.Duration {
	bound := s.Def.StopBound()
	if old, err := definition.ParseSchedule(st.StopSchedule); err == nil && old.Total() > s.Def.StopSchedule.Total() {
		bound += old.Total() - s.Def.StopSchedule.Total()
	}
	return bound
}

// stoppedByWatchdog checks, after the watchdog of st exited on SigStop, that it
// did stop everything: it removes the state file only on success, the daemon it
// recorded is gone (PID and start time), no other watchdog holds the service's
// watchdog lock, and the pidfile is gone. Anything else sends the caller down the
// slow path.
func (s *Service) stoppedByWatchdog(st *protocol.State) bool {
	d := s.Def
	if now, err := s.files().ReadState(d.Name); now != nil || (err != nil && !errors.Is(err, os.ErrNotExist)) {
		return false
	}
	if st.Daemon.Alive() {
		return false
	}
	// Another watchdog would hold the watchdog lock (the slow path's /proc scan
	// also finds one whose RUNDIR was removed under it; that costs ~1 ms here).
	if s.files().WatchdogHeld(d.Name) {
		return false
	}
	if _, err := os.Lstat(d.PidFile); err == nil {
		return false // the watchdog did not remove it: junk, or a FORKS=yes daemon rewrote it
	}
	return true
}

// Signal sends sig to the running daemon (LSB 7 when it is not running).
func (s *Service) Signal(sig unix.Signal) error {
	cur := s.Inspect()
	if !cur.Alive() {
		return lsb.Errorf(lsb.NotRunning, "not running")
	}
	h, err := cur.daemon.Open()
	if err != nil {
		return lsb.Errorf(lsb.NotRunning, "not running")
	}
	defer h.Close()
	if err := h.Signal(sig); err != nil {
		return lsb.Errorf(lsb.Failed, "send %s to pid %d: %v", proc.SignalName(sig), cur.PID, err)
	}
	return nil
}
