package service

// Recovery: what the CLI does when its records are damaged (a state file corrupt
// or gone, a pidfile deleted, RUNDIR removed) or a watchdog died. These paths
// scan /proc, which the common case never does.

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strconv"
	"time"

	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/safefile"
)

// findWatchdogs lists the live watchdogs of the service, found in /proc by their
// command line (state file or RUNDIR lost, or a start whose CLI went away before
// the state named its watchdog).
func (s *Service) findWatchdogs() []proc.Ref {
	var out []proc.Ref
	proc.Each(func(pid int) bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err == nil && protocol.IsWatchdogOf(b, s.Def.Name, s.Def.File) {
			if ref, err := proc.Identify(pid); err == nil {
				out = append(out, ref)
			}
		}
		return true
	})
	return out
}

// watchdogOf returns the live watchdog of the service (the first found), if any.
func (s *Service) watchdogOf() (proc.Ref, bool) {
	if w := s.findWatchdogs(); len(w) > 0 {
		return w[0], true
	}
	return proc.Ref{}, false
}

// repairWatchdog asks a live watchdog whose state file or pidfile is missing or
// damaged to recreate RUNDIR, retake its lock and rewrite its state and pidfile
// (protocol.SigRepair), and waits, with a bound, until the state file names it
// again and the pidfile names the daemon. Files have no event, so this is a short
// bounded poll.
func (s *Service) repairWatchdog(ref proc.Ref) error {
	h, err := ref.Open()
	if err != nil {
		return nil // gone meanwhile
	}
	defer h.Close()
	if err := h.Signal(protocol.SigRepair); err != nil {
		return nil
	}
	deadline := time.Now().Add(watchdogStopTimeout)
	wait := 500 * time.Microsecond
	for {
		if st, err := s.files().ReadState(s.Def.Name); err == nil && st != nil && st.Watchdog.PID == ref.PID && st.Watchdog.Start == ref.Start {
			if s.Def.Forks || !st.Daemon.Alive() {
				return nil
			}
			if pf, err := safefile.ReadPidfile(s.Def.PidFile); err == nil && pf != nil && pf.PID == st.Daemon.PID {
				return nil
			}
		}
		if exited, _ := h.Wait(time.Now().Add(wait)); exited {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the watchdog (pid " + strconv.Itoa(ref.PID) + ") did not rewrite its state file and pidfile on SIGHUP")
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// killSession stops every live process left in session sid (a watchdog that died
// before it reported: the daemon it may have started lives in its session, in its
// own process group, and may not be recorded anywhere yet).
func (s *Service) killSession(sid int) {
	if sid <= 1 {
		return
	}
	proc.Each(func(pid int) bool {
		if st, err := proc.ReadStat(pid); err == nil && st.Session == sid && !st.Dead() {
			if ref, err := proc.Identify(pid); err == nil {
				proc.Stop(proc.TargetOf(ref), s.Def.StopSchedule.Steps)
			}
		}
		return true
	})
}

// orphanOf finds the daemon a dead watchdog wd left behind: a live process that
// leads its own process group (the watchdog spawns with Setpgid) in wd's session
// and runs DAEMON's program. The watchdog started that session (setsid), so the
// session ID is wd's PID, which the kernel does not hand out again while the
// session has members. A live process with wd's PID and another start time means
// the PID was reused after the session ended: nothing is left then.
func (s *Service) orphanOf(wd proc.Ref) (proc.Ref, bool) {
	if wd.PID <= 1 {
		return proc.Ref{}, false
	}
	if st, err := proc.ReadStat(wd.PID); err == nil && st.Start != wd.Start {
		return proc.Ref{}, false
	}
	var found proc.Ref
	proc.Each(func(pid int) bool {
		if pid == wd.PID {
			return true
		}
		st, err := proc.ReadStat(pid)
		if err != nil || st.Session != wd.PID || st.PGID != pid || st.Dead() || st.Start < wd.Start {
			return true
		}
		if ref, ok := matchProgram(s.Def, pid); ok {
			found = ref
			return false
		}
		return true
	})
	return found, found.PID != 0
}

// strays are the live daemons of this service that no record names: processes
// that run DAEMON's program with DAEMON's command line and exactly the service
// environment, each leading its own process group (as the watchdog spawns them),
// and not the child of another service's watchdog.
// A daemon whose watchdog was killed and whose state file and pidfile were both
// lost is found only this way; start adopts it rather than start a second one,
// and stop stops it. Only for daemons that stay in the foreground: a FORKS=yes
// daemon may change its command line, and its pidfile is its record.
func (s *Service) strays() []proc.Ref {
	d := s.Def
	if d.Forks || d.Program() == "" {
		return nil
	}
	want := map[string]bool{}
	for _, kv := range d.Env {
		want[kv] = true
	}
	argv := []byte{}
	for _, a := range d.Argv {
		argv = append(append(argv, a...), 0)
	}
	var out []proc.Ref
	proc.Each(func(pid int) bool {
		st, err := proc.ReadStat(pid)
		if err != nil || st.Dead() || st.PGID != pid {
			return true
		}
		ref, err := proc.Identify(pid)
		if err != nil || !ref.SameExe(d.Program()) {
			return true
		}
		// Another service's watchdog's child is that service's daemon, however
		// alike the two definitions are (the same DAEMON and env file).
		if pc, err := os.ReadFile("/proc/" + strconv.Itoa(st.PPID) + "/cmdline"); err == nil {
			if n, f, ok := protocol.WatchdogOf(pc); ok && (n != d.Name || f != d.File) {
				return true
			}
		}
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil || !bytes.Equal(cmdline, argv) {
			return true
		}
		env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			return true
		}
		vars := bytes.Split(bytes.TrimRight(env, "\x00"), []byte{0})
		same := len(vars) == len(want)
		for _, kv := range vars {
			same = same && want[string(kv)]
		}
		if same {
			out = append(out, ref)
		}
		return true
	})
	slices.SortFunc(out, func(a, b proc.Ref) int { return int(a.Start) - int(b.Start) })
	return out
}
