package service

import (
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/lsb"
)

// The fast `stop` (docs/design.md, "Stop"). SIGTERM keeps its meaning "detach, leave
// the daemon running" (shutdown's sendsigs, adoption); SIGUSR1 asks the watchdog to
// stop everything: it is the daemon's parent and learns of its death from wait(2) at
// once, so it runs STOP_SCHEDULE itself, reaps the daemon, waits for the process
// group to empty, removes the pidfile and the state file, and exits. The CLI only
// waits on the watchdog's pidfd, and falls back on the old path (SIGTERM, then the
// schedule on whatever still lives) when the watchdog fails or times out.
const stopAllSignal = unix.SIGUSR1

// stopAllMargin is added to STOP_SCHEDULE's total to bound the CLI's wait for a
// watchdog that stops everything.
const stopAllMargin = 5 * time.Second

// onStopAll is the watchdog's answer to stopAllSignal. It never returns to the loop:
// nothing may respawn after stop starts. On failure it publishes the state like a
// detach (the daemon recorded, no watchdog) and exits 1, so the CLI's fallback finds
// what still runs.
func (w *watchdog) onStopAll() (bool, int) {
	w.disarm()
	w.probeGen++
	w.health.gen++
	if w.ready != nil {
		reportFail(w.ready, 1, w.logStart, "stopped while starting")
		w.ready = nil
	}
	if w.def.Forks && w.st.Daemon.PID == 0 {
		// Backgrounding in progress: nobody would ever learn the daemon's PID.
		if w.forkPID != 0 {
			unix.Kill(-w.forkPID, unix.SIGKILL)
		}
		w.killStrayForks()
	}
	if w.health.killing != "" && !w.health.killDone && w.st.Daemon.PID == 0 {
		// A health restart's STOP_SCHEDULE is still clearing the old group.
		t := time.NewTimer(w.def.StopSchedule.Total() + time.Second)
		select {
		case <-w.killed:
		case <-t.C:
		}
		t.Stop()
	}
	pid := w.st.Daemon.PID
	if err := w.stopDaemonNow(); err != nil {
		w.logEvent("stop: %v", err)
		w.st.Watchdog = ProcRef{}
		w.publish()
		return true, 1
	}
	if pf, err := ReadPidfile(w.def.PidFile); err == nil && pf != nil && (pid == 0 || pf.PID == pid) {
		os.Remove(w.def.PidFile)
	}
	w.paths.RemoveState(w.def.Name)
	return true, 0
}

// stopDaemonNow stops the current daemon, if any, by STOP_SCHEDULE and waits for it
// and its process group. A daemon that is our child is reaped before the group is
// checked, so the check needs no /proc scan (a zombie leader keeps the group alive
// for kill(2)).
func (w *watchdog) stopDaemonNow() error {
	ref, sched := w.st.Daemon, w.def.StopSchedule
	if ref.PID == 0 {
		return nil
	}
	if w.child == nil { // adopted, or a FORKS=yes daemon: not our child
		w.logStopping(ref.PID)
		return RunSchedule(ref, sched)
	}
	pid := ref.PID // our child, leader of its own process group (spawn: Setpgid)
	exited := w.drainExit(pid, time.Time{})
	for i, step := range sched.Steps {
		deadline := time.Now().Add(step.Timeout)
		if step.Signal != 0 {
			unix.Kill(-pid, step.Signal)
		}
		if i == 0 {
			w.logStopping(pid) // while the daemon exits, off the critical path
		}
		if !exited {
			exited = w.drainExit(pid, deadline)
		}
		if exited && waitGroupEmpty(pid, deadline) {
			w.child = nil
			return nil
		}
	}
	return lsb.Errorf(lsb.Failed, "process group %s still runs after STOP_SCHEDULE %s", strconv.Itoa(pid), sched)
}

func (w *watchdog) logStopping(pid int) {
	w.logEvent("stopping daemon (pid %d): STOP_SCHEDULE %s", pid, w.def.StopSchedule)
}

// drainExit waits until deadline (zero: do not wait) for the exit event of pid,
// dropping the events of other processes (a FORKS=yes foreground process).
func (w *watchdog) drainExit(pid int, deadline time.Time) bool {
	var tc <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		tc = t.C
	}
	for {
		if tc == nil {
			select {
			case ev := <-w.exits:
				if ev.pid == pid {
					return true
				}
				continue
			default:
				return false
			}
		}
		select {
		case ev := <-w.exits:
			if ev.pid == pid {
				return true
			}
		case <-tc:
			return false
		}
	}
}

// sameBinary reports whether the watchdog ref runs this very executable, and so
// understands stopAllSignal (a watchdog started before an upgrade may not).
func sameBinary(ref ProcRef) bool {
	if ref.Dev == 0 && ref.Ino == 0 {
		return false
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return false
	}
	return st.Dev == ref.Dev && st.Ino == ref.Ino
}

// stopAllWatchdog asks the watchdog ref to stop everything and waits, bounded by
// STOP_SCHEDULE's total plus a margin, for it to exit. It reports whether the
// watchdog exited (not whether it succeeded: the caller checks the state).
func stopAllWatchdog(ref ProcRef, sched Schedule) bool {
	p, err := ref.Open()
	if err != nil {
		return false // gone already, or unknown: the caller's fallback sees to it
	}
	defer p.Close()
	if err := p.Signal(stopAllSignal); err != nil {
		return false
	}
	exited, _ := p.Wait(time.Now().Add(sched.Total() + stopAllMargin))
	return exited
}

// watchdogSchedule is the longer of the current STOP_SCHEDULE and the one the
// watchdog runs (recorded in the state; the definition may have changed since).
func (s *Service) watchdogSchedule(st *State) Schedule {
	if old, err := ParseSchedule(st.StopSchedule); err == nil && old.Total() > s.Def.StopSchedule.Total() {
		return old
	}
	return s.Def.StopSchedule
}

// stoppedByWatchdog checks, after the watchdog of st exited on stopAllSignal, that
// it did stop everything: it removes the state file only on success, the daemon it
// recorded is gone (PID and start time), no other watchdog holds the service's
// watchdog lock, and the pidfile is gone.
// Anything else sends the caller down the slow path.
func (s *Service) stoppedByWatchdog(st *State) bool {
	d := s.Def
	if now, err := s.Paths.ReadState(d.Name); now != nil || (err != nil && !errors.Is(err, os.ErrNotExist)) {
		return false
	}
	if st.Daemon.Alive() {
		return false
	}
	// Another watchdog would hold the watchdog lock (the slow path's /proc scan
	// also finds one whose RUNDIR was removed under it; that costs ~1 ms here).
	if watchdogLocked(s.Paths.wdLockFile(d.Name)) {
		return false
	}
	if _, err := os.Lstat(d.PidFile); err == nil {
		return false // the watchdog did not remove it: junk, or a FORKS=yes daemon rewrote it
	}
	return true
}
