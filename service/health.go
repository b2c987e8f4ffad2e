package service

// Health supervision of a running daemon: CHECK (a probe run every CHECK_INTERVAL,
// bounded by CHECK_TIMEOUT; CHECK_FAILURES consecutive failures restart the daemon)
// and MAX_RSS (the resident memory of the daemon's process group, sampled on the same
// tick). Both share the watchdog's single timer, armed only while the daemon runs
// and only when CHECK or MAX_RSS is configured: without them a healthy service arms
// no timer at all.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// healthState belongs to the loop goroutine, like every field of the watchdog.
type healthState struct {
	gen      int    // bumped for each new daemon and each restart: older probe results are dropped
	inflight bool   // a CHECK probe runs
	fails    int    // consecutive CHECK failures
	killing  string // the reason of the health restart in progress, "" when none
	exited   bool   // the daemon being restarted has exited
	killDone bool   // STOP_SCHEDULE has finished with its process group
}

func (w *watchdog) healthEnabled() bool { return w.def.Check != nil || w.def.MaxRSS > 0 }

// armHealth starts the health cycle of a daemon that just became `running`.
func (w *watchdog) armHealth() {
	w.health = healthState{gen: w.health.gen + 1}
	if w.healthEnabled() {
		w.arm("health", w.def.CheckEvery)
	}
}

// onHealthTimer: sample MAX_RSS, start a CHECK probe (unless one still runs) and
// re-arm for the next interval.
func (w *watchdog) onHealthTimer() (bool, int) {
	if w.st.Phase != PhaseRunning || w.health.killing != "" || w.st.Daemon.PID == 0 {
		return false, 0
	}
	if max := w.def.MaxRSS; max > 0 {
		if rss, err := groupRSS(w.st.Daemon.PID); err == nil && rss > max {
			w.healthRestart(fmt.Sprintf("rss %s > MAX_RSS %s", formatSize(rss), formatSize(max)))
			return false, 0
		}
	}
	if w.def.Check != nil && !w.health.inflight {
		w.health.inflight = true
		gen, d := w.health.gen, w.def
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), d.CheckTimeout)
			err := runCheck(ctx, d)
			cancel()
			w.probes <- probeResult{gen: gen, err: err, health: true}
		}()
	}
	w.arm("health", w.def.CheckEvery)
	return false, 0
}

// onCheck handles a CHECK result.
func (w *watchdog) onCheck(r probeResult) (bool, int) {
	if r.gen != w.health.gen {
		return false, 0 // a probe of an earlier daemon
	}
	w.health.inflight = false
	if w.st.Phase != PhaseRunning || w.health.killing != "" {
		return false, 0
	}
	if r.err == nil {
		if w.health.fails > 0 {
			w.logEvent("health check passes again after %d failure%s", w.health.fails, plural(w.health.fails))
		}
		w.health.fails = 0
		return false, 0
	}
	w.health.fails++
	// The probe's target may hold a value from the env files: never show it.
	msg := w.def.Redact("CHECK", w.def.Check.Target, w.def.Redact("CHECK", w.def.Check.String(), r.err.Error()))
	if w.health.fails < w.def.CheckFails {
		w.logEvent("health check failed (%d of %d): %s", w.health.fails, w.def.CheckFails, msg)
		return false, 0
	}
	w.healthRestart("health check failed: " + msg)
	return false, 0
}

// healthRestart stops the daemon's process group with STOP_SCHEDULE, in a goroutine
// so that the loop keeps answering signals; the respawn follows once the daemon has
// exited and the schedule has finished (no survivor of the group holds its port).
func (w *watchdog) healthRestart(reason string) {
	w.disarm()
	w.health.gen++
	w.health.inflight = false
	w.health.killing = reason
	w.st.LastRestart = reason
	// `respawning` once the daemon is gone, until the new one runs (status exit 1,
	// as for a crash waiting for its respawn).
	w.st.Phase, w.st.Reason = PhaseBackoff, "restarting: "+reason
	w.publish()
	w.logEvent("restarting daemon (pid %d): %s", w.st.Daemon.PID, reason)
	if w.killed == nil {
		w.killed = make(chan error, 1)
	}
	ref, sched, killed := w.st.Daemon, w.def.StopSchedule, w.killed
	go func() { killed <- RunSchedule(ref, sched) }()
}

// onKilled: STOP_SCHEDULE finished with the daemon being restarted.
func (w *watchdog) onKilled(err error) (bool, int) {
	if w.health.killing == "" {
		return false, 0
	}
	if err != nil {
		w.logEvent("health restart: %v", err)
	}
	w.health.killDone = true
	if w.health.exited {
		return w.healthRespawn()
	}
	return false, 0
}

// onHealthExit: the daemon being restarted exited.
func (w *watchdog) onHealthExit(ev exitEvent) (bool, int) {
	w.st.LastExit = ev.status
	w.st.Daemon = ProcRef{}
	w.child, w.adopted = nil, nil
	w.health.exited = true
	if w.health.killDone {
		return w.healthRespawn()
	}
	return false, 0
}

// healthRespawn starts the new daemon. A health restart is not a crash: it counts
// in health_restarts, not in respawns nor against RESPAWN_LIMIT, and has no backoff.
func (w *watchdog) healthRespawn() (bool, int) {
	reason := w.health.killing
	w.health = healthState{gen: w.health.gen + 1}
	w.st.HealthRestarts++
	os.Remove(w.def.PidFile)
	return w.spawnAgain("restarted", reason)
}

// runCheck runs the CHECK probe once within ctx. An exec probe runs in its own
// process group, which is killed when ctx ends, so a hung check command (and
// anything it started) never outlives CHECK_TIMEOUT by more than a second.
func runCheck(ctx context.Context, d *Definition) error {
	p := d.Check
	if p.Kind != "exec" {
		return p.Check(ctx)
	}
	argv := d.CheckArgv
	path, err := ResolveProgram(argv[0])
	if err != nil {
		return fmt.Errorf("exec %s: %v", argv[0], err)
	}
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Env, cmd.Dir = d.Env, d.Chdir
	// Pdeathsig: a watchdog that exits (stop detaches it) takes its check along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: d.Cred, Setpgid: true, Pdeathsig: unix.SIGKILL}
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("exec %s: timed out after %v (CHECK_TIMEOUT)", argv[0], d.CheckTimeout)
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = errors.New(describeExit(exitOf(0, ee.ProcessState)))
		}
		if l := lastLine(out.Bytes()); l != "" {
			return fmt.Errorf("exec %s: %v: %s", argv[0], err, l)
		}
		return fmt.Errorf("exec %s: %v", argv[0], err)
	}
	return nil
}

// groupRSS is the resident memory of the daemon: the sum over its process group
// when it leads one (workers count: a leaking worker is the daemon leaking), else
// of the process alone. As with summing ps's RSS column, a page shared by several
// processes counts once per process.
func groupRSS(pid int) (int64, error) {
	pgid, rss, err := statRSS(pid)
	if err != nil {
		return 0, err
	}
	if pgid != pid {
		return rss, nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return rss, nil
	}
	for _, e := range ents {
		other, err := strconv.Atoi(e.Name())
		if err != nil || other == pid {
			continue
		}
		if g, r, err := statRSS(other); err == nil && g == pgid {
			rss += r
		}
	}
	return rss, nil
}

// statRSS reads the process group (field 5) and resident pages (field 24) of
// /proc/PID/stat, counting from the last ')' as readStat does.
func statRSS(pid int) (pgid int, rss int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := bytes.Fields(b[i+2:])
	if len(f) < 22 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	pgid, _ = strconv.Atoi(string(f[2]))
	pages, err := strconv.ParseInt(string(f[21]), 10, 64)
	return pgid, pages * int64(os.Getpagesize()), err
}

// formatSize prints a byte count the way MAX_RSS is written: 64M, 1.5M, 512K, 1G.
func formatSize(n int64) string {
	units := []struct {
		s string
		v int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}}
	for _, u := range units {
		switch {
		case n >= u.v && n%u.v == 0:
			return strconv.FormatInt(n/u.v, 10) + u.s
		case n >= 10*u.v:
			return strconv.FormatInt(n/u.v, 10) + u.s
		case n >= u.v:
			return strconv.FormatFloat(float64(n)/float64(u.v), 'f', 1, 64) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}
