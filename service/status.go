package service

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"svcwrap/cgroup"
	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/safefile"
)

// Status is what `status` and `list` report.
type Status struct {
	Name        string
	State       string // running, starting, respawning, unsupervised, stopped, failed, dead, unknown
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
	// OOMKills: deaths with an OOM kill in the daemon's cgroup (MEMORY_MAX).
	OOMKills    int
	LastRestart string
	// Text is the daemon's own STATUS= (READY=notify); Readies counts its
	// READY=1 (a reload waits for one more).
	Text    string
	Readies int
	// Cgroup is the daemon's cgroup ("" none), Procs its live processes,
	// Members their PIDs.
	Cgroup   string
	Procs    int
	Members  []int
	daemon   proc.Ref
	lost     bool // no usable state file: judged from the pidfile and /proc
	watchdog proc.Ref
}

// Alive reports a daemon that runs (whether or not it is supervised).
func (s Status) Alive() bool { return s.PID != 0 }

// running sets the status of a live daemon that the state file does not record.
func (s *Status) running(d *definition.Definition, ref proc.Ref) {
	s.daemon, s.PID, s.Code = ref, ref.PID, lsb.Running
	s.State = "unsupervised"
	if s.WatchdogPID != 0 || d.Respawn == definition.RespawnNo {
		s.State = "running"
	}
}

// Inspect works out the service's state from the state file and /proc, with no
// lock and no IPC. A reused PID counts as gone; a zombie counts as dead. A
// stopped service that its definition does not let start (ENABLED, CONDITION)
// is `disabled`.
func (s *Service) Inspect() Status {
	out := s.inspect()
	if out.State == "stopped" {
		if why := s.Def.Startable(); why != "" {
			out.State, out.Reason = "disabled", why
		}
	}
	return out
}

func (s *Service) inspect() Status {
	d := s.Def
	out := Status{Name: d.Name, Definition: d.File}
	st, err := s.files().ReadState(d.Name)
	if err != nil && !errors.Is(err, protocol.ErrCorrupt) {
		out.State, out.Code, out.Reason = "unknown", lsb.Unknown, err.Error()
		return out
	}
	if st == nil {
		return s.inspectLost(out, err)
	}
	out.Respawns, out.LastExit, out.Reason = st.Respawns, st.LastExit, st.Reason
	out.HealthRestarts, out.LastRestart = st.HealthRestarts, st.LastRestart
	out.OOMKills = st.OOMKills
	out.Text, out.Readies = st.NotifyStatus, st.Readies
	if g := cgroup.At(st.Cgroup, d.Name); g != nil {
		if members, ok := g.Members(); ok {
			out.Members = members
			out.Cgroup, out.Procs = g.Path, len(members)
		}
	}
	if st.Watchdog.Alive() {
		out.watchdog, out.WatchdogPID = st.Watchdog, st.Watchdog.PID
	}
	supervised := out.WatchdogPID != 0
	if st.Daemon.Alive() {
		out.Started = st.Started
		out.running(d, st.Daemon)
		if supervised && st.Phase == protocol.PhaseStarting {
			out.State = "starting"
		}
		out.Reason = ""
		return out
	}
	if d.Forks && (!supervised || st.Spawn.PID != 0) {
		// A FORKS=yes daemon writes PIDFILE itself: the state may not record it
		// yet (the watchdog is still looking for it, or died before it could).
		if p, ok := s.forkedDaemon(out, st); ok {
			return p
		}
	}
	if !supervised && st.Watchdog.PID != 0 && st.Phase != protocol.PhaseStopped && st.Phase != protocol.PhaseFailed {
		// The state names a watchdog that is dead, yet it never published its exit
		// (one that leaves on purpose clears its own record or ends stopped): it was
		// killed, perhaps between starting a daemon and recording it. That daemon is
		// in its session.
		if ref, ok := s.orphanOf(st.Watchdog); ok {
			out.running(d, ref)
			out.lost = true
			out.Reason = fmt.Sprintf("found in the session of its killed watchdog (pid %d); the state file did not record it", st.Watchdog.PID)
			return out
		}
	}
	switch {
	case supervised && st.Phase == protocol.PhaseStarting:
		out.State, out.Code = "starting", lsb.Stopped
	case supervised && (st.Phase == protocol.PhaseRespawning || st.Phase == protocol.PhaseRunning):
		// Running: the daemon died a moment ago, and its watchdog is about to see it.
		out.State, out.Code = "respawning", lsb.DeadPidfile
	case st.Phase == protocol.PhaseFailed:
		out.State, out.Code = "failed", lsb.DeadPidfile
	case st.Phase == protocol.PhaseStopped:
		out.State, out.Code = "stopped", lsb.Stopped
	default:
		// It died with nobody watching (an unsupervised or RESPAWN=no daemon).
		out.State, out.Code = "stopped", lsb.Stopped
		if pf, _ := safefile.ReadPidfile(d.PidFile); pf != nil {
			out.State, out.Code, out.Reason = "dead", lsb.DeadPidfile, "the daemon died; its pidfile "+d.PidFile+" remains"
		}
	}
	return out
}

// forkedDaemon finds a FORKS=yes daemon through its pidfile when the state does
// not record it: while its watchdog looks for it after a spawn (st.Spawn: the
// daemon started after that foreground process), or after its watchdog died.
func (s *Service) forkedDaemon(out Status, st *protocol.State) (Status, bool) {
	if _, err := os.Lstat(s.Def.PidFile); err != nil {
		return out, false
	}
	p := s.inspectPidfile(out)
	switch {
	case !p.Alive():
		return out, false
	case out.WatchdogPID != 0:
		if p.daemon.Start < st.Spawn.Start {
			return out, false // an older daemon: not the one being looked for
		}
		p.Reason = ""
		if st.Phase == protocol.PhaseStarting {
			p.State = "starting"
		}
		return p, true
	}
	p.lost, p.Reason = true, "found through "+s.Def.PidFile+"; the state file did not record it"
	return p, true
}

// inspectLost judges a service whose state file is missing or corrupt (stateErr)
// from its pidfile and, when a daemon or a watchdog may be alive, from the
// watchdogs' command lines in /proc. The scan is skipped in the common case of a
// stopped service: no pidfile and no watchdog lock held.
func (s *Service) inspectLost(out Status, stateErr error) Status {
	d := s.Def
	out = s.inspectPidfile(out)
	out.lost = true
	_, pferr := os.Lstat(d.PidFile)
	if stateErr != nil || pferr == nil || s.files().WatchdogHeld(d.Name) {
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
	if !out.Alive() {
		// A watchdog that was killed, and its records lost: what it started is in
		// its session.
		if wd, ok := s.files().LastWatchdog(d.Name); ok && !wd.Alive() {
			if ref, ok := s.orphanOf(wd); ok {
				out.running(d, ref)
				out.Reason = fmt.Sprintf("found in the session of its killed watchdog (pid %d); the state file did not record it", wd.PID)
				return out
			}
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
	pf, err := safefile.ReadServicePidfile(d.PidFile, d.PidfileOwner())
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
	if ref, ok := matchProgram(d, pf.PID); ok {
		out.running(d, ref)
		return out
	}
	out.State, out.Code = "dead", lsb.DeadPidfile
	out.Reason = fmt.Sprintf("stale pidfile %s (pid %d is not %s)", d.PidFile, pf.PID, d.Program())
	return out
}

// matchProgram identifies pid as the daemon of d when it runs DAEMON's program
// (start-stop-daemon's --exec test).
func matchProgram(d *definition.Definition, pid int) (proc.Ref, bool) {
	ref, err := proc.Identify(pid)
	if err != nil || !ref.SameExe(d.Program()) {
		return proc.Ref{}, false
	}
	return ref, true
}

// Line is the one-line status, e.g. "running (pid 42, up 3h2m, 2 respawns, last exit: signal KILL)".
func (s Status) Line() string {
	if s.State == "disabled" {
		return s.Reason // "disabled by /etc/default/x:3 (RUN=no)"
	}
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
	if s.PID != 0 && s.WatchdogPID != 0 {
		if s.Cgroup == "" {
			parts = append(parts, "no cgroup")
		} else {
			parts = append(parts, fmt.Sprintf("%d process%s", s.Procs, map[bool]string{true: "es"}[s.Procs != 1]))
		}
	}
	if s.Respawns > 0 {
		parts = append(parts, fmt.Sprintf("%d respawn%s", s.Respawns, lsb.Plural(s.Respawns)))
	}
	if s.LastExit != "" {
		parts = append(parts, "last exit: "+s.LastExit)
	}
	if s.OOMKills > 0 {
		parts = append(parts, fmt.Sprintf("%d oom kill%s", s.OOMKills, lsb.Plural(s.OOMKills)))
	}
	if s.HealthRestarts > 0 {
		parts = append(parts, fmt.Sprintf("%d health restart%s", s.HealthRestarts, lsb.Plural(s.HealthRestarts)))
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
	if s.Text != "" && s.PID != 0 {
		line += ": " + strconv.Quote(s.Text) // the daemon's own words: quoted, never raw
	}
	return line
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
