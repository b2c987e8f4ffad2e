package service

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/lsb"
)

// Service is a definition together with the paths it runs under.
type Service struct {
	Def   *Definition
	Paths Paths

	guarded bool // GUARD passed in this invocation (restart runs it once, not twice)
}

// Status is what `status` and `list` report.
type Status struct {
	Name        string
	State       string // running, starting, respawning, unsupervised, stopped, failed, dead
	Code        lsb.Status
	PID         int
	WatchdogPID int
	Started     time.Time
	Respawns    int
	LastExit    string
	Reason      string
	Definition  string
	// HealthRestarts and LastRestart: restarts by CHECK or MAX_RSS, and the last reason.
	HealthRestarts int
	LastRestart    string
	daemon         ProcRef
	lost           bool // no usable state file: judged from the pidfile and /proc
	watchdog       ProcRef
	phase          Phase
}

// Alive reports a daemon that runs (whether or not it is supervised).
func (s Status) Alive() bool { return s.PID != 0 }

// Inspect works out the service's state from the state file and /proc, with no
// lock and no IPC. A reused PID counts as gone; a zombie counts as dead.
func (s *Service) Inspect() Status {
	d := s.Def
	out := Status{Name: d.Name, Definition: d.File}
	st, err := s.Paths.ReadState(d.Name)
	if err != nil && !errors.Is(err, errCorruptState) {
		out.State, out.Code, out.Reason = "unknown", lsb.Unknown, err.Error()
		return out
	}
	if st == nil {
		return s.inspectLost(out, err)
	}
	out.Respawns, out.LastExit, out.Reason, out.phase = st.Respawns, st.LastExit, st.Reason, st.Phase
	out.HealthRestarts, out.LastRestart = st.HealthRestarts, st.LastRestart
	if st.Watchdog.Alive() {
		out.watchdog, out.WatchdogPID = st.Watchdog, st.Watchdog.PID
	}
	if st.Daemon.Alive() {
		out.daemon, out.PID, out.Started = st.Daemon, st.Daemon.PID, st.Started
		out.Code = lsb.Running
		switch {
		case out.WatchdogPID != 0 && st.Phase == PhaseStarting:
			out.State = "starting"
		case out.WatchdogPID != 0 || d.Respawn == RespawnNo:
			out.State = "running"
		default:
			out.State = "unsupervised"
		}
		out.Reason = ""
		return out
	}
	if out.WatchdogPID == 0 && d.Forks {
		// A FORKS=yes daemon writes PIDFILE itself: its watchdog may have died
		// after the daemon wrote it but before recording it in the state.
		if _, err := os.Lstat(d.PidFile); err == nil {
			if p := s.inspectPidfile(out); p.Alive() {
				p.lost, p.Reason = true, "found through "+d.PidFile+"; the state file did not record it"
				return p
			}
		}
	}
	if out.WatchdogPID == 0 && st.Watchdog.PID != 0 && st.Phase != PhaseStopped && st.Phase != PhaseFailed {
		// The state names a watchdog that is dead, yet it never published its exit
		// (one that leaves on purpose clears its own record or ends stopped): it was
		// killed, perhaps between starting a daemon and recording it. That daemon is
		// in its session.
		if ref, ok := d.orphanOf(st.Watchdog); ok {
			out.daemon, out.PID, out.Code, out.lost = ref, ref.PID, lsb.Running, true
			out.State = "unsupervised"
			if d.Respawn == RespawnNo {
				out.State = "running"
			}
			out.Reason = fmt.Sprintf("found in the session of its killed watchdog (pid %d); the state file did not record it", st.Watchdog.PID)
			return out
		}
	}
	switch {
	case out.WatchdogPID != 0 && st.Phase == PhaseBackoff:
		out.State, out.Code = "respawning", lsb.DeadPidfile
	case out.WatchdogPID != 0 && st.Phase == PhaseStarting:
		out.State, out.Code = "starting", lsb.Stopped
	case st.Phase == PhaseFailed:
		out.State, out.Code = "failed", lsb.DeadPidfile
	case st.Phase == PhaseStopped:
		out.State, out.Code = "stopped", lsb.Stopped
	default:
		// It died with nobody watching (an unsupervised or RESPAWN=no daemon).
		out.State, out.Code = "stopped", lsb.Stopped
		if pf, _ := ReadPidfile(d.PidFile); pf != nil {
			out.State, out.Code, out.Reason = "dead", lsb.DeadPidfile, "the daemon died; its pidfile "+d.PidFile+" remains"
		}
	}
	return out
}

// inspectLost judges a service whose state file is missing or corrupt (stateErr)
// from its pidfile and, when a daemon or a watchdog may be alive, from the
// watchdogs' command lines in /proc (recover.go). The scan is skipped in the
// common case of a stopped service: no pidfile and no watchdog lock held.
func (s *Service) inspectLost(out Status, stateErr error) Status {
	d := s.Def
	out = s.inspectPidfile(out)
	out.lost = true
	_, pferr := os.Lstat(d.PidFile)
	if stateErr != nil || pferr == nil || watchdogLocked(s.Paths.wdLockFile(d.Name)) {
		if wd, ok := s.watchdogOf(); ok {
			out.watchdog, out.WatchdogPID = wd, wd.PID
			switch out.State {
			case "unsupervised":
				out.State = "running"
			case "stopped", "dead":
				out.State, out.Code = "respawning", lsb.DeadPidfile
			}
			out.Reason = "state file lost; start or a SIGHUP to the watchdog rewrites it"
			return out
		}
	}
	if stateErr != nil {
		if out.Code == lsb.Stopped {
			out.State, out.Code = "unknown", lsb.Unknown
		}
		out.Reason = strings.TrimPrefix(out.Reason+"; ", "; ") + stateErr.Error() + " (ignored; stop or start rewrites it)"
	}
	return out
}

// inspectPidfile judges a service with no state file (RUNDIR lost, or a daemon
// started by something else) from its pidfile: the PID must run DAEMON's program.
func (s *Service) inspectPidfile(out Status) Status {
	d := s.Def
	out.State, out.Code = "stopped", lsb.Stopped
	pf, err := ReadPidfile(d.PidFile)
	if err != nil {
		out.State, out.Code, out.Reason = "dead", lsb.DeadPidfile, err.Error()
		return out
	}
	if pf == nil {
		return out
	}
	if !pf.Trusted {
		// Someone other than root could have written it: its PID is never ours.
		out.State, out.Code = "dead", lsb.DeadPidfile
		out.Reason = "pidfile not trusted: " + pf.Why
		return out
	}
	if ref, ok := d.matchProgram(pf.PID); ok {
		out.daemon, out.PID, out.Code = ref, ref.PID, lsb.Running
		out.State = "unsupervised"
		if d.Respawn == RespawnNo {
			out.State = "running"
		}
		return out
	}
	out.State, out.Code = "dead", lsb.DeadPidfile
	out.Reason = fmt.Sprintf("stale pidfile %s (pid %d is not %s)", d.PidFile, pf.PID, d.program())
	return out
}

// matchProgram identifies pid as this service's daemon when it runs DAEMON's
// program (start-stop-daemon's --exec test).
func (d *Definition) matchProgram(pid int) (ProcRef, bool) {
	ref, err := Identify(pid)
	if err != nil || d.program() == "" {
		return ProcRef{}, false
	}
	var st unix.Stat_t
	if unix.Stat(d.Path, &st) != nil || ref.Ino == 0 || st.Dev != ref.Dev || st.Ino != ref.Ino {
		return ProcRef{}, false
	}
	return ref, true
}

// Line is the one-line status, e.g. "running (pid 42, up 3h2m, 2 respawns, last exit: signal KILL)".
func (s Status) Line() string {
	var parts []string
	if s.PID != 0 {
		parts = append(parts, fmt.Sprintf("pid %d", s.PID))
		if !s.Started.IsZero() {
			parts = append(parts, "up "+FormatUptime(time.Since(s.Started)))
		}
	}
	if s.State == "unsupervised" {
		parts = append(parts, "no watchdog; start adopts it")
	}
	if s.Respawns > 0 {
		parts = append(parts, fmt.Sprintf("%d respawn%s", s.Respawns, plural(s.Respawns)))
	}
	if s.LastExit != "" {
		parts = append(parts, "last exit: "+s.LastExit)
	}
	if s.HealthRestarts > 0 {
		parts = append(parts, fmt.Sprintf("%d health restart%s", s.HealthRestarts, plural(s.HealthRestarts)))
	}
	if s.LastRestart != "" {
		parts = append(parts, "last restart: "+s.LastRestart)
	}
	line := s.State
	if len(parts) > 0 {
		line += " (" + strings.Join(parts, ", ") + ")"
	}
	if s.Reason != "" {
		line += ": " + s.Reason
	}
	return line
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// FormatUptime prints a duration the way people read uptimes: 45s, 3m12s, 2h5m, 3d4h.
func FormatUptime(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}
