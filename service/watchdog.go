package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Watchdog modes, the first argument of the hidden `__watchdog` entry point.
const (
	ModeStart = "start" // spawn the daemon and supervise it
	ModeAdopt = "adopt" // supervise the daemon recorded in the state, which runs already
)

// WatchdogArg is argv[1] of a watchdog: main dispatches on it before anything else.
const WatchdogArg = "__watchdog"

// quickDeath is how long a daemon must run for its death to respawn at once and
// reset the backoff (SPEC: RESPAWN_DELAY).
const quickDeath = 10 * time.Second

// minBackoff is the least time between two starts with RESPAWN_DELAY=0.
const minBackoff = 10 * time.Millisecond

// maxBackoff caps the doubling of RESPAWN_DELAY.
const maxBackoff = 30 * time.Second

type exitEvent struct {
	pid    int
	status string // "exit N", "signal NAME" or "" when unknown (an adopted daemon)
	code   int    // exit code, -1 when killed by a signal or unknown
	sig    unix.Signal
}

// forkResult is the daemon a FORKS=yes start left behind, found through PIDFILE.
type forkResult struct {
	ref ProcRef
	err error
}

type probeResult struct {
	gen    int
	err    error
	health bool // a CHECK probe (health.go), not READY
}

// watchdog is the per-service supervisor. One goroutine (run) owns every field;
// other goroutines only turn blocking calls (process waits, probes) into channel
// sends, so there is no lock, as in runsv and s6-supervise.
type watchdog struct {
	def   *Definition
	paths Paths
	st    State
	ready *os.File // the CLI's readiness pipe until start has been reported
	log   *os.File // the daemon's stdout and stderr; nil means /dev/null

	// Health checks and logs (health.go, logrotate.go, syslogout.go).
	elog   *os.File    // the daemon's stderr when it differs from log (LOG=syslog)
	rot    *logRotator // LOG_MAX_SIZE rotation; nil when off
	health healthState
	killed chan error // a health restart's STOP_SCHEDULE finished

	exits  chan exitEvent
	probes chan probeResult
	forked chan forkResult
	sigc   chan os.Signal
	timer  *time.Timer
	tkind  string // what the armed timer is for: "" (none), "startwait", "backoff"

	wdLock    *os.File  // RUNDIR/NAME.wd.lock, held for life (retaken if RUNDIR vanishes)
	forkPID   int       // FORKS=yes: the foreground process, until it exits
	forkStart uint64    // FORKS=yes: start time of the last foreground process (recover.go)
	child     *exec.Cmd // the daemon when it is our child
	adopted   *Proc     // the daemon when it was adopted
	logStart  int64     // log size when the current start began (for the failure report)
	backoff   time.Duration
	respawned []time.Time // respawn times within RESPAWN_LIMIT's window
	probeGen  int
	startedAt time.Time // when `start` began, for START_TIMEOUT
}

// RunWatchdog is the watchdog process: `svcwrap __watchdog MODE NAME FILE`, started
// by the CLI in its own session with /dev/null on 0-2 and the readiness pipe on fd 3.
func RunWatchdog(args []string) int {
	// Inherited fds must never reach the daemon (debconf's fd 3 hangs dpkg). The
	// readiness pipe is fd 3: it becomes close-on-exec too, and stays usable here.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		cloexecFromProc()
	}
	ready := os.NewFile(3, "ready")
	if len(args) != 3 {
		fmt.Fprintln(ready, "fail 2 0 usage: svcwrap __watchdog MODE NAME FILE")
		return 2
	}
	mode, name, file := args[0], args[1], args[2]

	// A watchdog is small: one P, an eager GC and a soft memory limit.
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(8 << 20)

	paths := PathsFromEnv(os.Getenv)
	def, err := Load(name, file, paths)
	if err != nil {
		reportFail(ready, 6, 0, strings.ReplaceAll(err.Error(), "\n", "; "))
		return 6
	}
	w := &watchdog{def: def, paths: paths, ready: ready,
		exits: make(chan exitEvent, 4), probes: make(chan probeResult, 1), forked: make(chan forkResult, 1),
		sigc: make(chan os.Signal, 8),
		st:   State{Name: name, PidFile: def.PidFile, StopSchedule: def.StopSchedule.String()}}
	// Catch, never ignore: caught signals are reset to the default in the daemon,
	// ignored ones would be inherited as SIG_IGN.
	signal.Notify(w.sigc, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGPIPE)
	if code, msg := w.setup(); code != 0 {
		reportFail(ready, code, 0, msg)
		return code
	}
	w.st.Watchdog, _ = procRef(os.Getpid())
	if mode == ModeAdopt {
		return w.adopt()
	}
	return w.start()
}

// start spawns the daemon and waits for START_WAIT, READY or PIDFILE.
func (w *watchdog) start() int {
	def := w.def
	w.startedAt = time.Now()
	if err := w.spawn(); err != nil {
		w.st.Phase, w.st.Reason = PhaseStopped, "start failed: "+err.Error()
		w.publish()
		reportFail(w.ready, spawnExitCode(err), w.logStart, err.Error())
		return 1
	}
	w.st.Phase = PhaseStarting
	w.publish()
	if def.Forks {
		return w.loop() // START_WAIT begins once PIDFILE names the daemon
	}
	if def.Respawn == RespawnNo && def.StartWait == 0 && def.Ready == nil {
		return w.launched()
	}
	w.arm("startwait", def.StartWait)
	return w.loop()
}

// setup applies the process-wide attributes once: the watchdog lock, the nice value
// of the thread that forks the daemon, umask, rlimits, and the log.
func (w *watchdog) setup() (int, string) {
	d := w.def
	if err := w.paths.ensureRunDir(); err != nil {
		return 4, err.Error()
	}
	lock, err := holdWatchdogLock(w.paths.wdLockFile(d.Name))
	if err != nil {
		return 1, fmt.Sprintf("another watchdog holds %s (%v)", w.paths.wdLockFile(d.Name), err)
	}
	w.wdLock = lock
	// Nice is per thread on Linux and children inherit the forking thread's value:
	// the loop goroutine stays on this thread, which alone gets NICE. Without NICE
	// it stays unlocked (a locked thread costs one more thread; see footprint.go).
	if d.Nice != 0 {
		runtime.LockOSThread()
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, d.Nice); err != nil {
			return 4, fmt.Sprintf("NICE %d: %v", d.Nice, err)
		}
	}
	syscall.Umask(int(d.Umask))
	for _, l := range d.Limits {
		// syscall.Setrlimit also stops Go from restoring its saved NOFILE limit in children.
		if err := syscall.Setrlimit(l.Resource, &syscall.Rlimit{Cur: l.Soft, Max: l.Hard}); err != nil {
			return 4, fmt.Sprintf("LIMIT_%s: %v", l.Name, err)
		}
	}
	switch d.Log {
	case "none":
	case "syslog":
		var err error
		if w.log, w.elog, err = syslogOutputs(d.Name); err != nil {
			return 4, err.Error()
		}
	default:
		if err := os.MkdirAll(dirOf(d.Log), 0o755); err != nil {
			return 4, fmt.Sprintf("LOG %s: %v", d.Log, err)
		}
		f, err := OpenAppendSafe(d.Log, 0o640)
		if err != nil {
			code := 1 // a full disk is no privilege problem
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				code = 4
			}
			return unsafeCode(err, code), fmt.Sprintf("LOG %v", err)
		}
		w.log = f
		w.watchLog()
	}
	if !d.Forks {
		if err := CheckWritable(d.PidFile); err != nil {
			return unsafeCode(err, 4), fmt.Sprintf("PIDFILE %v", err)
		}
	}
	return 0, ""
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "/"
}

// spawn starts the daemon as our child in its own process group.
func (w *watchdog) spawn() error {
	d := w.def
	if err := d.Runnable(); err != nil {
		return err
	}
	cmd := &exec.Cmd{Path: d.Path, Args: d.Argv, Env: d.Env, Dir: d.Chdir,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: d.Cred}}
	if w.log != nil {
		cmd.Stdout, cmd.Stderr = w.log, w.log
		if w.elog != nil {
			cmd.Stderr = w.elog
		}
		if fi, err := w.log.Stat(); err == nil && fi.Mode().IsRegular() {
			w.logStart = fi.Size()
		}
	}
	if d.Forks {
		// A stale pidfile of the previous daemon must not be mistaken for the new one.
		os.Remove(d.PidFile)
	}
	if err := cmd.Start(); err != nil {
		return describeSpawnError(d, err)
	}
	pid := cmd.Process.Pid
	if d.Forks {
		w.forkPID = pid
		if ref, err := procRef(pid); err == nil {
			w.forkStart = ref.Start
		}
		go func() {
			waitChild(cmd)
			w.exits <- exitOf(pid, cmd.ProcessState)
		}()
		return nil
	}
	w.child, w.adopted = cmd, nil
	w.st.Daemon, _ = procRef(pid)
	w.st.Started = time.Now()
	go func() {
		waitChild(cmd)
		w.exits <- exitOf(pid, cmd.ProcessState)
	}()
	if err := WritePidfile(d.PidFile, pid); err != nil {
		w.logEvent("cannot write pidfile: %v", err)
	}
	return nil
}

// adopt supervises a daemon that runs already (its watchdog died): it is watched
// through a pidfd, and respawned as our child when it dies.
func (w *watchdog) adopt() int {
	old, err := w.paths.ReadState(w.def.Name)
	if err != nil || old == nil || !old.Daemon.Alive() {
		// It died between the CLI's look and ours: `start` means start it.
		return w.start()
	}
	p, err := old.Daemon.Open()
	if err != nil {
		return w.start()
	}
	w.st.Daemon, w.st.Started, w.st.Respawns, w.st.LastExit = old.Daemon, old.Started, old.Respawns, old.LastExit
	w.st.HealthRestarts, w.st.LastRestart = old.HealthRestarts, old.LastRestart
	w.watchAdopted(p)
	w.st.Phase = PhaseRunning
	w.repair() // a daemon found without a record may have no pidfile naming it
	w.publish()
	w.logEvent("adopted running daemon (pid %d)", p.Ref.PID)
	w.reportOK()
	w.armHealth()
	return w.loop()
}

func (w *watchdog) watchAdopted(p *Proc) {
	w.adopted, w.child = p, nil
	go func() {
		for {
			if exited, err := p.Wait(time.Time{}); exited || err != nil {
				break
			}
		}
		p.Close()
		w.exits <- exitEvent{pid: p.Ref.PID, code: -1}
	}()
}

// launched finishes a RESPAWN=no start without waiting: the daemon runs on alone.
func (w *watchdog) launched() int {
	w.st.Phase, w.st.Watchdog = PhaseUnwatched, ProcRef{}
	w.publish()
	w.reportOK()
	return 0
}

// loop is the event loop: exits, signals and one timer.
func (w *watchdog) loop() int {
	for {
		var tc <-chan time.Time
		if w.timer != nil && w.tkind != "" {
			tc = w.timer.C
		}
		select {
		case ev := <-w.exits:
			if done, code := w.onExit(ev); done {
				return code
			}
		case r := <-w.forked:
			if done, code := w.onForked(r); done {
				return code
			}
		case r := <-w.probes:
			if done, code := w.onProbe(r); done {
				return code
			}
		case s := <-w.sigc:
			if done, code := w.onSignal(s.(syscall.Signal)); done {
				return code
			}
		case err := <-w.killed:
			if done, code := w.onKilled(err); done {
				return code
			}
		case <-w.logWake():
			w.onLogWrite()
		case <-tc:
			kind := w.tkind
			w.tkind = ""
			if done, code := w.onTimer(kind); done {
				return code
			}
		}
	}
}

func (w *watchdog) arm(kind string, d time.Duration) {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	w.tkind = kind
}

func (w *watchdog) disarm() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.tkind = ""
}

func (w *watchdog) onTimer(kind string) (bool, int) {
	switch kind {
	case "startwait":
		if w.def.Ready != nil {
			w.runReady()
			return false, 0
		}
		return w.started()
	case "backoff":
		return w.respawn()
	case "health":
		return w.onHealthTimer()
	}
	return false, 0
}

// started: START_WAIT (and READY) passed.
func (w *watchdog) started() (bool, int) {
	if w.def.Respawn == RespawnNo {
		return true, w.launched()
	}
	w.st.Phase = PhaseRunning
	w.publish()
	w.reportOK()
	w.armHealth()
	return false, 0
}

// runReady polls the READY probe until it passes or START_TIMEOUT runs out. There is
// no event for "the port accepts", so this is a bounded poll with a growing interval
// (probeInterval).
func (w *watchdog) runReady() {
	w.probeGen++
	gen, d, began := w.probeGen, w.def, w.startedAt
	deadline := began.Add(d.StartTimeout)
	go func() {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		defer cancel()
		var err, last error
		for {
			err = w.probeOnce(ctx, d.Ready, d.ReadyArgv)
			if err != nil && (ctx.Err() == nil || last == nil) {
				last = err // an attempt cut short by the deadline says less than the one before
			}
			if err == nil || ctx.Err() != nil {
				break
			}
			t := time.NewTimer(probeInterval(time.Since(began)))
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		if err != nil {
			err = last
		}
		w.probes <- probeResult{gen: gen, err: err}
	}()
}

func (w *watchdog) probeOnce(ctx context.Context, p *Probe, argv []string) error {
	if p.Kind != "exec" {
		return p.Check(ctx)
	}
	path, err := ResolveProgram(argv[0])
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, path, argv[1:]...)
	cmd.Env, cmd.Dir = w.def.Env, w.def.Chdir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: w.def.Cred}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if l := lastLine(out); l != "" {
			return fmt.Errorf("exec %s: %v: %s", argv[0], err, l)
		}
		return fmt.Errorf("exec %s: %v", argv[0], err)
	}
	return nil
}

func (w *watchdog) onProbe(r probeResult) (bool, int) {
	if r.health {
		return w.onCheck(r)
	}
	if r.gen != w.probeGen || w.st.Phase != PhaseStarting {
		return false, 0
	}
	if r.err == nil {
		return w.started()
	}
	// Not ready in time: stop what we started and leave nothing behind.
	reason := fmt.Sprintf("not ready within START_TIMEOUT %v: READY %s: %v", w.def.StartTimeout, w.def.Ready, r.err)
	reason = w.def.Redact("READY", w.def.Ready.Target, w.def.Redact("READY", w.def.Ready.String(), reason))
	w.killDaemon()
	w.st.Phase, w.st.Reason = PhaseStopped, reason
	w.publish()
	reportFail(w.ready, 1, w.logStart, reason)
	return true, 1
}

// onForeground: the foreground process of a FORKS=yes daemon exited. Exit 0 means
// it backgrounded itself; the daemon is then found through PIDFILE, which has no
// event, so it is polled with a growing interval, bounded by START_TIMEOUT.
func (w *watchdog) onForeground(ev exitEvent) (bool, int) {
	w.forkPID = 0
	if ev.code != 0 {
		return w.spawnFailed(fmt.Errorf("DAEMON (FORKS=yes) exited with %s instead of backgrounding itself", describeExit(ev)))
	}
	deadline := time.Now().Add(w.def.StartTimeout)
	pidfile := w.def.PidFile
	go func() {
		wait := time.Millisecond
		for {
			ref, err := readForkedPid(pidfile)
			if err == nil || time.Now().After(deadline) {
				w.forked <- forkResult{ref, err}
				return
			}
			t := time.NewTimer(min(wait, time.Until(deadline)+time.Millisecond))
			<-t.C
			wait = min(wait*2, 100*time.Millisecond)
		}
	}()
	return false, 0
}

// readForkedPid reads a forking daemon's pidfile and identifies the live process.
func readForkedPid(path string) (ProcRef, error) {
	pf, err := ReadPidfile(path)
	if err != nil {
		return ProcRef{}, err
	}
	if pf == nil {
		return ProcRef{}, fmt.Errorf("PIDFILE %s was not written", path)
	}
	if !pf.Trusted {
		return ProcRef{}, fmt.Errorf("PIDFILE not trusted: %s", pf.Why)
	}
	ref, err := Identify(pf.PID)
	if err != nil {
		return ProcRef{}, fmt.Errorf("PIDFILE %s names pid %d, which is not running", path, pf.PID)
	}
	return ref, nil
}

// onForked: the forking daemon was found (or not) through PIDFILE.
func (w *watchdog) onForked(r forkResult) (bool, int) {
	if r.err != nil {
		return w.spawnFailed(r.err)
	}
	p, err := r.ref.Open()
	if err != nil {
		return w.spawnFailed(fmt.Errorf("the daemon (pid %d) exited at once", r.ref.PID))
	}
	w.st.Daemon, w.st.Started = r.ref, time.Now()
	w.watchAdopted(p)
	if w.st.Phase == PhaseStarting {
		w.arm("startwait", w.def.StartWait)
		w.publish()
		return false, 0
	}
	w.st.Phase, w.st.Reason = PhaseRunning, ""
	w.publish()
	w.logEvent("respawned daemon (pid %d) after %s", r.ref.PID, describeLast(w.st.LastExit))
	w.armHealth()
	return false, 0
}

// spawnFailed: the daemon could not be (re)started. At start that fails the start;
// later it counts as a quick death, so it backs off and RESPAWN_LIMIT ends a loop.
func (w *watchdog) spawnFailed(err error) (bool, int) {
	w.killStrayForks()
	if w.st.Phase == PhaseStarting {
		w.disarm()
		w.st.Phase, w.st.Reason = PhaseStopped, "start failed: "+err.Error()
		w.publish()
		reportFail(w.ready, 1, w.logStart, err.Error())
		return true, 1
	}
	w.logEvent("respawn failed: %v", err)
	w.st.Daemon, w.st.Started = ProcRef{}, time.Now()
	return w.onExit(exitEvent{pid: 0, status: "spawn failed", code: -1})
}

// killDaemon stops the current daemon with STOP_SCHEDULE and waits for its exit event.
func (w *watchdog) killDaemon() {
	ref := w.st.Daemon
	if err := RunSchedule(ref, w.def.StopSchedule); err != nil {
		w.logEvent("%v", err)
	}
	if w.child != nil {
		<-w.exits // cmd.Wait has reaped it
	}
	os.Remove(w.def.PidFile)
	w.st.Daemon = ProcRef{}
}

func (w *watchdog) onSignal(s syscall.Signal) (bool, int) {
	switch s {
	case unix.SIGTERM, unix.SIGINT:
		// Detach: never respawn again, leave the daemon alone. `stop` uses this to
		// take the watchdog out of the way before it stops the daemon itself.
		w.disarm()
		if w.def.Forks && w.st.Daemon.PID == 0 {
			// Leaving while a FORKS=yes DAEMON is backgrounding itself: nobody
			// would ever learn its PID, so stop what it started.
			if w.forkPID != 0 {
				unix.Kill(-w.forkPID, unix.SIGKILL)
			}
			w.killStrayForks()
		}
		w.st.Watchdog = ProcRef{}
		if w.st.Phase == PhaseBackoff {
			w.st.Phase = PhaseStopped
		}
		w.publish()
		return true, 0
	case stopAllSignal:
		return w.onStopAll() // stopall.go
	case unix.SIGHUP:
		w.repair() // recreate a vanished RUNDIR, lock and pidfile (recover.go)
		w.publish()
	}
	return false, 0
}

// onExit handles the daemon's death.
func (w *watchdog) onExit(ev exitEvent) (bool, int) {
	if w.forkPID != 0 && ev.pid == w.forkPID {
		return w.onForeground(ev)
	}
	if ev.pid != w.st.Daemon.PID {
		return false, 0
	}
	if w.health.killing != "" {
		return w.onHealthExit(ev)
	}
	d := w.def
	w.stopLeftovers(ev.pid) // recover.go
	w.st.LastExit = ev.status
	w.st.Daemon = ProcRef{}
	w.child, w.adopted = nil, nil
	if w.st.Phase == PhaseStarting {
		// Dying during START_WAIT/READY fails the start; nothing is respawned.
		w.disarm()
		w.probeGen++
		reason := fmt.Sprintf("daemon exited during start (%s after %v)", describeExit(ev), time.Since(w.st.Started).Round(time.Millisecond))
		os.Remove(d.PidFile)
		w.st.Phase, w.st.Reason = PhaseStopped, reason
		w.publish()
		reportFail(w.ready, 1, w.logStart, reason)
		return true, 1
	}
	ran := time.Since(w.st.Started)
	normal := ev.status != "" && d.NormalExit.Contains(ev.code, ev.sig)
	if d.Respawn == RespawnNo || (d.Respawn == RespawnOnFailure && normal) {
		os.Remove(d.PidFile)
		w.st.Phase, w.st.Reason = PhaseStopped, "daemon exited ("+describeExit(ev)+"); RESPAWN="+d.Respawn.String()
		w.st.Watchdog = ProcRef{}
		w.publish()
		w.logEvent("%s", w.st.Reason)
		return true, 0
	}
	now := time.Now()
	keep := w.respawned[:0]
	for _, t := range w.respawned {
		if now.Sub(t) < d.RespawnLimit.Within {
			keep = append(keep, t)
		}
	}
	w.respawned = keep
	if len(w.respawned) >= d.RespawnLimit.N {
		w.st.Phase = PhaseFailed
		w.st.Reason = fmt.Sprintf("gave up: %d respawns within %v (RESPAWN_LIMIT=%s); last exit: %s", len(w.respawned), d.RespawnLimit.Within, d.RespawnLimit, describeExit(ev))
		w.st.Watchdog = ProcRef{}
		w.publish()
		w.logEvent("%s", w.st.Reason)
		return true, 1
	}
	delay := time.Duration(0)
	if ran < quickDeath {
		delay, w.backoff = nextBackoff(w.backoff, d.RespawnDelay, ran) // backoff.go
	} else {
		w.backoff = 0
	}
	if delay == 0 {
		return w.respawn() // inline: no timer, no goroutine hop
	}
	w.st.Phase = PhaseBackoff
	w.st.Reason = fmt.Sprintf("daemon died (%s); respawning in %v", describeExit(ev), delay)
	w.publish()
	w.arm("backoff", delay)
	return false, 0
}

func (w *watchdog) respawn() (bool, int) {
	w.respawned = append(w.respawned, time.Now())
	w.st.Respawns++
	return w.spawnAgain("respawned", describeLast(w.st.LastExit))
}

// spawnAgain starts a new daemon after a death (respawn) or a health restart and
// logs the event "<what> daemon (pid N) after <why>".
func (w *watchdog) spawnAgain(what, why string) (bool, int) {
	if err := w.spawn(); err != nil {
		return w.spawnFailed(err)
	}
	if w.def.Forks {
		return false, 0 // onForeground and onForked take it from here
	}
	w.st.Phase, w.st.Reason = PhaseRunning, ""
	w.publish()
	w.logEvent("%s daemon (pid %d) after %s", what, w.st.Daemon.PID, why)
	w.armHealth()
	return false, 0
}

// publish writes the state file; status and list read it.
func (w *watchdog) publish() {
	err := w.paths.SaveState(&w.st)
	if errors.Is(err, os.ErrNotExist) { // RUNDIR vanished (rm -rf, tmpfs /run remounted)
		w.repair()
		err = w.paths.SaveState(&w.st)
	}
	if err != nil {
		w.logEvent("cannot save state: %v", err)
	}
}

// logEvent records a supervision event in the service log, as one line
// "TIME svcwrap: NAME: MESSAGE" written with one write(2) (O_APPEND: never torn
// by the daemon's own writes), and in syslog when there.
func (w *watchdog) logEvent(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if w.log != nil && w.def.Log != "syslog" {
		w.log.Write(fmt.Appendf(nil, "%s svcwrap: %s: %s\n", time.Now().Format(time.RFC3339), w.def.Name, msg))
	}
	sendSyslog(w.def.Name, msg)
}

func (w *watchdog) reportOK() {
	if w.ready != nil {
		fmt.Fprintf(w.ready, "ok %d\n", w.st.Daemon.PID)
		w.ready.Close()
		w.ready = nil
	}
}

func reportFail(ready *os.File, code int, logOffset int64, msg string) {
	if ready != nil {
		fmt.Fprintf(ready, "fail %d %d %s\n", code, logOffset, strings.ReplaceAll(msg, "\n", "; "))
		ready.Close()
	}
}

// procRef is Identify for our own child, which may already be a zombie.
func procRef(pid int) (ProcRef, error) {
	st, err := readStat(pid)
	if err != nil {
		return ProcRef{PID: pid}, err
	}
	ref := ProcRef{PID: pid, Start: st.Start}
	if dev, ino, err := exeID(pid); err == nil {
		ref.Dev, ref.Ino = dev, ino
	}
	return ref, nil
}

func exitOf(pid int, ps *os.ProcessState) exitEvent {
	ev := exitEvent{pid: pid, code: -1}
	if ps == nil {
		return ev
	}
	ws := ps.Sys().(syscall.WaitStatus)
	switch {
	case ws.Exited():
		ev.code, ev.status = ws.ExitStatus(), "exit "+strconv.Itoa(ws.ExitStatus())
	case ws.Signaled():
		ev.sig, ev.status = unix.Signal(ws.Signal()), "signal "+SignalName(unix.Signal(ws.Signal()))
	}
	return ev
}

func describeExit(ev exitEvent) string {
	if ev.status == "" {
		return "exit status unknown"
	}
	return ev.status
}

func describeLast(status string) string {
	if status == "" {
		return "its exit (status unknown: it was not our child)"
	}
	return status
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// cloexecFromProc marks every fd >= 3 close-on-exec on kernels without close_range.
func cloexecFromProc() {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range ents {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= 3 {
			unix.CloseOnExec(fd)
		}
	}
}
