package watchdog

import (
	"errors"
	"fmt"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/notify"
	"svcwrap/proc"
	"svcwrap/protocol"
)

// The watchdog is a state machine in the manner of s6-supervise: one state, one
// handle(event) run by the loop goroutine, one timer whose meaning follows from the
// state, and every slow piece of work (a stop schedule, a probe, the search of a
// FORKS=yes daemon's PIDFILE, a log rotation) run off the loop by the effects,
// its completion coming back as an event. The machine itself does no I/O: it calls
// its effects (world.go for the real ones, a recorder in the tests), so every
// transition is tested with synthetic events and no process.
//
//	state        what runs                          the timer means
//	preparing    DIRS, FILES and PRE_START           (PRE_START has its own bound)
//	spawning     FORKS=yes: DAEMON, backgrounding    START_TIMEOUT for it to background itself
//	locating     FORKS=yes: the PIDFILE search       (the search has its own bound)
//	settling     the daemon                          START_WAIT is over
//	probing      the daemon, its READY probe         (the probe has its own bound)
//	poststart    the daemon, and POST_START          (POST_START has its own bound)
//	running      the daemon (a CHECK probe)          next CHECK/MAX_RSS sample, if any
//	restarting   STOP_SCHEDULE on the daemon         -
//	cleaning     STOP_SCHEDULE on a dead daemon's    -
//	             group, or on a FORKS=yes start's
//	             strays
//	backoff      nothing                             respawn
//	stopping     STOP_SCHEDULE on the daemon         -
//	done         nothing: the watchdog exits
type state int

const (
	stPreparing state = iota
	stSpawning
	stLocating
	stSettling
	stProbing
	stPostStart
	stRunning
	stRestarting
	stCleaning
	stBackoff
	stStopping
	stDone
)

var stateNames = [...]string{"preparing", "spawning", "locating", "settling", "probing", "poststart", "running", "restarting", "cleaning", "backoff", "stopping", "done"}

func (s state) String() string { return stateNames[s] }

// Events. Each is handled by the loop goroutine, one at a time.
type (
	// evExit: a process the watchdog watches exited: the daemon, or the
	// foreground process of a FORKS=yes spawn.
	evExit struct {
		pid  int
		exit proc.Exit
	}
	// evLocated: the search of PIDFILE after a FORKS=yes spawn ended.
	evLocated struct {
		ref proc.Ref
		err error
	}
	// evProbed: a READY (ready) or CHECK probe of daemon pid ended.
	evProbed struct {
		ready bool
		pid   int
		err   error
	}
	// evStopped: the stop job ended (nil: nothing of it is left).
	evStopped struct{ err error }
	// evPrepared: DIRS, FILES and PRE_START before a spawn ended.
	evPrepared struct{ err error }
	// evPostStarted: POST_START ended.
	evPostStarted struct{ err error }
	// evSignal: a signal to the watchdog.
	evSignal struct{ sig syscall.Signal }
	// evTimer: the timer fired.
	evTimer struct{}
	// evLogWritten: the log file was written to.
	evLogWritten struct{}
	// evRotated: a log rotation ended.
	evRotated struct {
		msg string
		err error
	}
	// evNotify: a notification (READY=notify: a datagram on NOTIFY_SOCKET from
	// pid, of process group pgid; READY=fd:N: the daemon's notification fd). err:
	// it counts for nothing. main: the process MAINPID names, and its group.
	evNotify struct {
		pid, pgid int
		msg       notify.Msg
		err       error
		main      proc.Ref
		mainPgid  int
	}
)

// job is what a stop job stops: PRE_STOP and STOP_COMMAND first when the daemon
// runs, then STOP_SCHEDULE, then POST_STOP (run.Stop).
type job struct {
	daemon proc.Ref // the daemon (and its group), when it runs
	group  int      // the group of a dead daemon (then with a final SIGKILL)
	forks  proc.Ref // a FORKS=yes foreground process whose daemon was never found
	asked  bool     // a stop that was asked for: logged as "stopping daemon"
}

// effects is the machine's world: everything that touches a process, a file, the
// clock or the CLI. The methods that end in an event return at once.
type effects interface {
	now() time.Time
	prepare()                                           // DIRS, FILES, PRE_START; evPrepared follows
	postStart()                                         // POST_START; evPostStarted follows
	spawn() (proc.Ref, error)                           // starts DAEMON (FORKS=yes: its foreground process)
	adopt(ref proc.Ref) error                           // watches a daemon that is not our child; evExit follows
	locate(fg proc.Ref)                                 // FORKS=yes: searches PIDFILE; evLocated follows
	probe(ready bool, daemon proc.Ref, began time.Time) // READY (until it passes, START_TIMEOUT after began) or CHECK (once); evProbed follows
	stop(j job)                                         // PRE_STOP, STOP_COMMAND, STOP_SCHEDULE, POST_STOP; evStopped follows
	groupLeft(pgid int) bool                            // whether a dead leader's group has live members
	rss(pid int) (int64, error)                         // MAX_RSS: the resident memory of the daemon's group
	logFull() bool                                      // LOG_MAX_SIZE: the log is due for rotation
	rotate()                                            // rotates the log; evRotated follows
	publish(st *protocol.State)                         // writes the state file
	writePidfile(pid int)                               // PIDFILE names pid
	removePidfile(pid int)                              // removes PIDFILE if it names pid (any when 0)
	removeState()                                       // removes the state file (a clean stop)
	repair(daemon proc.Ref)                             // SigRepair: RUNDIR, the watchdog lock, daemon's pidfile
	reportOK(pid int)                                   // the CLI's start succeeded
	reportFail(code int, reason string)                 // the CLI's start failed
	logEvent(msg string)                                // the service log and syslog
}

// outcome is what follows once a stop job (or a death) has left nothing behind.
type outcome int

const (
	respawnNow   outcome = iota // respawn at once
	respawnLater                // respawn after m.delay
	endStopped                  // RESPAWN policy: stay stopped, exit 0
	endFailed                   // RESPAWN_LIMIT: give up, exit 1
	endFailStart                // the start the CLI waits for failed: report it, exit 1
	endStop                     // a requested stop is complete: exit 0
	endDetach                   // the watchdog was told to leave: exit 0
)

// machine is the watchdog's state. Only the loop goroutine touches it.
type machine struct {
	def *definition.Definition
	fx  effects

	state    state
	st       protocol.State // what is published
	exitCode int            // stDone: the watchdog's exit status

	waiting   bool          // the CLI waits for the start's report
	startedAt time.Time     // when that start began (START_TIMEOUT)
	fg        proc.Ref      // FORKS=yes: the foreground process of the spawn in progress
	fgSince   time.Time     // when it started
	settleAt  time.Time     // settling: START_WAIT ends
	respawnAt time.Time     // backoff: the respawn is due
	backoff   time.Duration // the next quick death's delay (backoff.go)
	respawned []time.Time   // respawn times within RESPAWN_LIMIT's window
	upEvent   string        // logged once a respawned daemon runs: "respawned daemon (pid N) after ..."

	// READY=notify and READY=fd:N (announced readiness).
	group       int       // the process group of the current daemon (MAINPID may move its main process)
	notified    bool      // the current daemon said READY=1
	readyBy     time.Time // probing: START_TIMEOUT (EXTEND_TIMEOUT_USEC may move it)
	keepaliveBy time.Time // running: WATCHDOG_SEC's next keepalive is due
	loggedOnce  map[string]bool

	nextCheck  time.Time // running: the next CHECK/MAX_RSS sample
	checking   bool      // a CHECK probe of the current daemon runs
	checkFails int       // consecutive CHECK failures
	rotating   bool      // a log rotation runs

	// then follows the stop job of restarting, cleaning and stopping.
	then   outcome
	delay  time.Duration // respawnLater
	reason string        // why (published, logged, reported)
	code   int           // endFailStart: the LSB exit code reported
	victim int           // endStop: the daemon's PID when the stop was asked
}

func newMachine(def *definition.Definition, fx effects, st protocol.State) *machine {
	return &machine{def: def, fx: fx, st: st}
}

// due is when the timer fires in the current state; zero: no timer is armed (an
// idle, healthy service without CHECK or MAX_RSS wakes up for nothing).
func (m *machine) due() time.Time {
	switch m.state {
	case stSpawning:
		return m.fgSince.Add(m.def.StartTimeout)
	case stSettling:
		return m.settleAt
	case stBackoff:
		return m.respawnAt
	case stProbing:
		if m.announced() {
			return m.readyBy
		}
	case stRunning:
		var due time.Time
		if m.def.Check != nil || m.def.MaxRSS > 0 {
			due = m.nextCheck
		}
		if !m.keepaliveBy.IsZero() && (due.IsZero() || m.keepaliveBy.Before(due)) {
			due = m.keepaliveBy
		}
		return due
	}
	return time.Time{}
}

// announced: the daemon says itself when it is ready (READY=notify, fd:N).
func (m *machine) announced() bool { return m.def.Ready != nil && m.def.Ready.Announced() }

// handle is the one transition function.
func (m *machine) handle(ev any) {
	switch ev := ev.(type) {
	case evExit:
		m.onExit(ev)
	case evLocated:
		if m.state == stLocating {
			m.onLocated(ev)
		}
	case evProbed:
		m.onProbed(ev)
	case evStopped:
		m.onStopped(ev)
	case evPrepared:
		if m.state == stPreparing {
			if ev.err != nil {
				m.spawnFailed(ev.err, exitCodeOf(ev.err))
				return
			}
			m.spawnNow()
		}
	case evPostStarted:
		if m.state == stPostStart {
			if ev.err != nil {
				m.fx.logEvent(ev.err.Error() + " (the daemon runs on)")
			}
			m.running()
		}
	case evSignal:
		switch ev.sig {
		case unix.SIGTERM, unix.SIGINT:
			m.onDetach()
		case protocol.SigStop:
			m.onStop()
		case protocol.SigRepair:
			m.fx.repair(m.st.Daemon)
			m.fx.publish(&m.st)
		}
	case evTimer:
		m.onTimer()
	case evLogWritten:
		if !m.rotating && m.fx.logFull() {
			m.rotating = true
			m.fx.rotate()
		}
	case evNotify:
		m.onNotify(ev)
	case evRotated:
		m.rotating = false
		if ev.err != nil {
			m.fx.logEvent(ev.err.Error())
		} else if ev.msg != "" {
			m.fx.logEvent(ev.msg)
		}
	}
}

func (m *machine) onTimer() {
	switch m.state {
	case stSpawning:
		m.spawnFailed(fmt.Errorf("DAEMON (FORKS=yes) did not background itself within START_TIMEOUT %v", m.def.StartTimeout), 1)
	case stSettling:
		m.settled()
	case stBackoff:
		m.respawn()
	case stProbing:
		if m.announced() && !m.fx.now().Before(m.readyBy) {
			m.notReady(fmt.Sprintf("not ready within START_TIMEOUT %v: no READY=1 from the daemon (READY=%s)", m.def.StartTimeout, m.def.Ready))
		}
	case stRunning:
		now := m.fx.now()
		if !m.keepaliveBy.IsZero() && !now.Before(m.keepaliveBy) {
			m.healthRestart(fmt.Sprintf("watchdog timeout: no WATCHDOG=1 within WATCHDOG_SEC %v", m.def.WatchdogSec))
			return
		}
		if (m.def.Check != nil || m.def.MaxRSS > 0) && !now.Before(m.nextCheck) {
			m.healthTick()
		}
	}
}

// start begins a start the CLI waits for.
func (m *machine) start() {
	m.waiting, m.startedAt = true, m.fx.now()
	m.spawn()
}

// adopt begins supervising the daemon old records (its watchdog died); false when
// it is gone.
func (m *machine) adopt(old *protocol.State) bool {
	if old == nil {
		return false
	}
	if err := m.fx.adopt(old.Daemon); err != nil {
		return false
	}
	m.st.Daemon, m.st.Started, m.st.Respawns, m.st.LastExit = old.Daemon, old.Started, old.Respawns, old.LastExit
	m.st.HealthRestarts, m.st.LastRestart = old.HealthRestarts, old.LastRestart
	m.st.NotifyStatus, m.st.Readies = old.NotifyStatus, old.Readies
	m.group, m.notified = old.Daemon.PID, true // it ran before: ready long ago
	m.fx.repair(old.Daemon)                    // a daemon found without a record may have no pidfile naming it
	m.enterRunning()
	m.fx.logEvent(fmt.Sprintf("adopted running daemon (pid %d)", old.Daemon.PID))
	m.fx.reportOK(old.Daemon.PID)
	return true
}

// spawn starts a daemon: the first one of a start, or a new one after a death or
// a health restart; DIRS, FILES and PRE_START first, when there are any.
func (m *machine) spawn() {
	if len(m.def.Dirs)+len(m.def.Files) > 0 || m.def.Hook("PRE_START") != nil {
		m.enter(stPreparing)
		m.fx.prepare()
		return
	}
	m.spawnNow()
}

func (m *machine) spawnNow() {
	ref, err := m.fx.spawn()
	if err != nil {
		m.spawnFailed(err, exitCodeOf(err))
		return
	}
	now := m.fx.now()
	if m.def.Forks {
		m.fg, m.fgSince, m.st.Spawn = ref, now, ref
		m.enter(stSpawning)
		return
	}
	m.st.Daemon, m.st.Started = ref, now
	m.group, m.notified, m.st.Readies, m.st.Reloading = ref.PID, false, 0, false
	m.fx.writePidfile(ref.PID)
	m.daemonUp()
}

// daemonUp: a new daemon runs (spawned, or found through PIDFILE).
func (m *machine) daemonUp() {
	if m.waiting {
		if m.def.StartWait == 0 {
			m.settled()
			return
		}
		m.settleAt = m.fx.now().Add(m.def.StartWait)
		m.enter(stSettling)
		return
	}
	m.st.Reason = ""
	m.fx.logEvent(fmt.Sprintf(m.upEvent, m.st.Daemon.PID))
	if m.def.Ready != nil {
		// Readiness is awaited after every respawn too: status says starting
		// until READY passes, and a daemon that never gets ready is a failed
		// start (notReady).
		m.startedAt = m.st.Started
		m.settled()
		return
	}
	m.up()
}

// up: the daemon is ready; POST_START runs first, when there is one.
func (m *machine) up() {
	if m.def.Hook("POST_START") != nil {
		m.enter(stPostStart)
		m.fx.postStart()
		return
	}
	m.running()
}

// running: the daemon is up; the CLI's start, if it waits, has succeeded.
func (m *machine) running() {
	if m.def.Respawn == definition.RespawnNo {
		m.launched()
		return
	}
	m.enterRunning()
	if m.waiting {
		m.waiting = false
		m.fx.reportOK(m.st.Daemon.PID)
	}
}

// enter changes the state and publishes it.
func (m *machine) enter(s state) {
	m.state = s
	switch {
	case s <= stPostStart && m.waiting, s == stProbing:
		m.st.Phase = protocol.PhaseStarting
	case s == stRunning || s == stPostStart:
		m.st.Phase = protocol.PhaseRunning
	case s == stCleaning && m.then == endStopped:
		m.st.Phase = protocol.PhaseStopped
	case s == stCleaning && m.then == endFailed:
		m.st.Phase = protocol.PhaseFailed
	case s == stCleaning && m.then == endFailStart:
		m.st.Phase = protocol.PhaseStarting
	default: // spawning, locating, restarting, cleaning and backoff before a respawn
		m.st.Phase = protocol.PhaseRespawning
	}
	m.fx.publish(&m.st)
}

func (m *machine) enterRunning() {
	m.checking, m.checkFails = false, 0
	m.nextCheck = m.fx.now().Add(m.def.CheckEvery)
	m.keepaliveBy = time.Time{}
	if m.def.WatchdogSec > 0 {
		m.keepaliveBy = m.fx.now().Add(m.def.WatchdogSec) // armed once ready
	}
	m.enter(stRunning)
}

// settled: the daemon survived START_WAIT; READY is next, if any.
func (m *machine) settled() {
	if m.def.Ready == nil || m.announced() && m.notified {
		m.started()
		return
	}
	if m.state != stSettling {
		m.enter(stProbing)
	}
	m.state = stProbing
	if m.announced() {
		m.readyBy = m.startedAt.Add(m.def.StartTimeout) // the daemon says it; nothing to run
		return
	}
	m.fx.probe(true, m.st.Daemon, m.startedAt)
}

// started: START_WAIT (and READY) passed.
func (m *machine) started() { m.up() }

// launched ends a RESPAWN=no start: the daemon runs on alone.
func (m *machine) launched() {
	m.waiting = false
	m.st.Phase, m.st.Watchdog = protocol.PhaseLaunched, proc.Ref{}
	m.fx.publish(&m.st)
	m.fx.reportOK(m.st.Daemon.PID)
	m.state, m.exitCode = stDone, 0
}

// respawn starts a new daemon after a death.
func (m *machine) respawn() {
	m.respawned = append(m.respawned, m.fx.now())
	m.st.Respawns++
	m.upEvent = "respawned daemon (pid %d) after " + describeLast(m.st.LastExit)
	m.spawn()
}

func (m *machine) onExit(ev evExit) {
	if m.state == stSpawning && ev.pid == m.fg.PID {
		m.onForeground(ev)
		return
	}
	if ev.pid != m.st.Daemon.PID || ev.pid == 0 {
		return // a process of an earlier spawn, or a daemon a stop job saw go first
	}
	m.st.LastExit = ev.exit.String()
	ran := m.fx.now().Sub(m.st.Started)
	group := job{group: m.st.Daemon.PID}
	m.st.Daemon = proc.Ref{}
	switch m.state {
	case stRestarting, stStopping, stCleaning:
		return // the stop job in progress says when all is gone
	case stSettling, stProbing, stPostStart:
		if !m.waiting {
			break // POST_START of a respawned daemon: a death like any
		}
		// Dying during START_WAIT/READY/POST_START fails the start; nothing is respawned.
		m.afterDeath(group, endFailStart, fmt.Sprintf("daemon exited during start (%s after %v)", ev.exit.Describe(), ran.Round(time.Millisecond)), 1)
		return
	}
	then, reason := m.decide(ev.exit.Known && m.def.NormalExit.Contains(ev.exit.Code, ev.exit.Signal), ev.exit.Describe(), ran)
	m.afterDeath(group, then, reason, 0)
}

// decide says what follows the death of a running daemon (or a respawn that could
// not start one): RESPAWN's policy, RESPAWN_LIMIT's window, RESPAWN_DELAY's backoff.
func (m *machine) decide(normal bool, how string, ran time.Duration) (outcome, string) {
	d := m.def
	if d.Respawn == definition.RespawnNo || (d.Respawn == definition.RespawnOnFailure && normal) {
		return endStopped, "daemon exited (" + how + "); RESPAWN=" + d.Respawn.String()
	}
	now := m.fx.now()
	keep := m.respawned[:0]
	for _, t := range m.respawned {
		if now.Sub(t) < d.RespawnLimit.Within {
			keep = append(keep, t)
		}
	}
	m.respawned = keep
	if len(m.respawned) >= d.RespawnLimit.N {
		return endFailed, fmt.Sprintf("gave up: %d respawns within %v (RESPAWN_LIMIT=%s); last exit: %s", len(m.respawned), d.RespawnLimit.Within, d.RespawnLimit, how)
	}
	m.delay = 0
	if ran < quickDeath {
		m.delay, m.backoff = nextBackoff(m.backoff, d.RespawnDelay, ran)
	} else {
		m.backoff = 0
	}
	if m.delay == 0 {
		return respawnNow, "daemon died (" + how + "); respawning"
	}
	return respawnLater, fmt.Sprintf("daemon died (%s); respawning in %v", how, m.delay)
}

// afterDeath does then once nothing of the dead daemon is left. Its leader is
// gone, but what it started in its process group (an nginx master's workers)
// would keep the port, and the service would run twice or never bind again: the
// group gets STOP_SCHEDULE first (its ID stays reserved while it has members, so it
// names nobody else's processes). So does what a FORKS=yes spawn left behind.
// POST_STOP runs then, in the same job.
func (m *machine) afterDeath(j job, then outcome, reason string, code int) {
	if j.group != 0 && m.fx.groupLeft(j.group) {
		m.fx.logEvent(fmt.Sprintf("stopping what is left of process group %d of the dead daemon", j.group))
	} else if j.forks.PID == 0 && m.def.Hook("POST_STOP") == nil {
		m.then, m.reason, m.code = then, reason, code
		m.finish()
		return
	}
	m.then, m.reason, m.code = then, reason, code
	m.st.Reason = reason
	m.enter(stCleaning)
	m.fx.stop(j)
}

// finish does what m.then says, now that nothing of the old daemon is left.
func (m *machine) finish() {
	m.st.Spawn = proc.Ref{}
	switch m.then {
	case respawnNow:
		m.respawn()
	case respawnLater:
		m.st.Reason = m.reason
		m.respawnAt = m.fx.now().Add(m.delay)
		m.enter(stBackoff)
	case endStopped, endFailed, endDetach:
		m.st.Phase, m.st.Reason, m.st.Watchdog = protocol.PhaseStopped, m.reason, proc.Ref{}
		if m.then == endFailed {
			m.st.Phase = protocol.PhaseFailed
		}
		if m.then == endStopped {
			m.fx.removePidfile(0)
		}
		m.fx.publish(&m.st)
		if m.then != endDetach {
			m.fx.logEvent(m.reason)
		}
		m.state, m.exitCode = stDone, 0
		if m.then == endFailed {
			m.exitCode = 1
		}
	case endFailStart:
		m.fx.removePidfile(0)
		m.st.Phase, m.st.Reason, m.st.Daemon = protocol.PhaseStopped, m.reason, proc.Ref{}
		m.fx.publish(&m.st)
		m.fx.reportFail(m.code, m.reason)
		m.state, m.exitCode = stDone, 1
	case endStop:
		m.fx.removePidfile(m.victim)
		m.fx.removeState()
		m.state, m.exitCode = stDone, 0
	}
}

func (m *machine) onStopped(ev evStopped) {
	switch m.state {
	case stCleaning:
		if ev.err != nil {
			m.fx.logEvent(ev.err.Error())
		}
		m.finish()
	case stRestarting:
		if ev.err != nil {
			m.fx.logEvent("health restart: " + ev.err.Error())
		}
		m.st.Daemon = proc.Ref{}
		m.st.HealthRestarts++
		m.fx.removePidfile(0)
		m.upEvent = "restarted daemon (pid %d) after " + m.reason
		m.spawn()
	case stStopping:
		if ev.err != nil && m.then == endStop {
			// Something survived STOP_SCHEDULE: publish it like a detach (the
			// daemon recorded, no watchdog), so that the CLI's own stop finds it.
			m.fx.logEvent("stop: " + ev.err.Error())
			m.st.Watchdog = proc.Ref{}
			m.fx.publish(&m.st)
			m.state, m.exitCode = stDone, 1
			return
		}
		m.st.Daemon = proc.Ref{}
		m.finish()
	}
}

// onForeground: the foreground process of a FORKS=yes spawn exited. Exit 0 means
// it backgrounded itself; the daemon is then found through PIDFILE.
func (m *machine) onForeground(ev evExit) {
	if !ev.exit.Known || ev.exit.Code != 0 || ev.exit.Signal != 0 {
		m.spawnFailed(fmt.Errorf("DAEMON (FORKS=yes) exited with %s instead of backgrounding itself", ev.exit.Describe()), 1)
		return
	}
	m.state = stLocating
	m.fx.locate(m.fg)
}

// onLocated: the forking daemon was found (or not) through PIDFILE.
func (m *machine) onLocated(ev evLocated) {
	if ev.err == nil && m.fx.adopt(ev.ref) != nil {
		ev.err = fmt.Errorf("the daemon (pid %d) exited at once", ev.ref.PID)
	}
	if ev.err != nil {
		m.spawnFailed(ev.err, 1)
		return
	}
	m.st.Daemon, m.st.Started, m.st.Spawn, m.fg = ev.ref, m.fx.now(), proc.Ref{}, proc.Ref{}
	m.daemonUp()
}

// spawnFailed: no daemon could be (re)started. At start that fails the start; on
// a respawn it counts as a quick death, so it backs off and RESPAWN_LIMIT ends a
// loop. What a FORKS=yes DAEMON may have left running is stopped first.
func (m *machine) spawnFailed(err error, code int) {
	strays := job{forks: m.fg}
	m.fg = proc.Ref{}
	if m.waiting {
		m.afterDeath(strays, endFailStart, "start failed: "+err.Error(), code)
		return
	}
	m.fx.logEvent("respawn failed: " + err.Error())
	m.st.Daemon, m.st.Started, m.st.LastExit = proc.Ref{}, m.fx.now(), "spawn failed"
	then, reason := m.decide(false, "spawn failed", 0)
	m.afterDeath(strays, then, reason, 0)
}

func (m *machine) onProbed(ev evProbed) {
	if ev.pid != m.st.Daemon.PID || ev.pid == 0 {
		return // about a daemon that is gone
	}
	if ev.ready {
		if m.state != stProbing {
			return
		}
		if ev.err == nil {
			m.started()
			return
		}
		reason := fmt.Sprintf("not ready within START_TIMEOUT %v: READY %s: %v", m.def.StartTimeout, m.def.Ready, ev.err)
		m.notReady(m.def.Redact("READY", m.def.Ready.Target, m.def.Redact("READY", m.def.Ready.String(), reason)))
		return
	}
	m.checking = false
	if m.state != stRunning || m.def.Check == nil {
		return
	}
	if ev.err == nil {
		if m.checkFails > 0 {
			m.fx.logEvent(fmt.Sprintf("health check passes again after %d failure%s", m.checkFails, lsb.Plural(m.checkFails)))
		}
		m.checkFails = 0
		return
	}
	m.checkFails++
	// The probe's target may hold a value from the env files: never show it.
	msg := m.def.Redact("CHECK", m.def.Check.Target, m.def.Redact("CHECK", m.def.Check.String(), ev.err.Error()))
	if m.checkFails < m.def.CheckFails {
		m.fx.logEvent(fmt.Sprintf("health check failed (%d of %d): %s", m.checkFails, m.def.CheckFails, msg))
		return
	}
	m.healthRestart("health check failed: " + msg)
}

// notReady: READY did not pass in time (or the daemon closed its notification
// fd first). A start the CLI waits for fails, and what was started is stopped;
// a respawned daemon that never gets ready is stopped and counts as a failed
// start: a quick death, with its backoff and RESPAWN_LIMIT.
func (m *machine) notReady(reason string) {
	if m.waiting {
		m.abort(endFailStart, reason, 1)
		return
	}
	then, why := m.decide(false, reason, m.fx.now().Sub(m.st.Started))
	m.fx.logEvent(reason)
	m.then, m.reason, m.code = then, why, 0
	m.st.Reason = why
	m.enter(stCleaning)
	m.fx.stop(job{daemon: m.st.Daemon})
}

// onNotify takes a notification from the daemon: from its main PID, or with
// NOTIFY_ACCESS=all from any process of its group; anything else is ignored
// and logged once (a flood costs a log line, never memory).
func (m *machine) onNotify(ev evNotify) {
	d := m.st.Daemon
	if ev.err != nil {
		m.logOnce("bad", fmt.Sprintf("ignored a notification from pid %d: %v (logged once)", ev.pid, ev.err))
		return
	}
	if d.PID == 0 || ev.pid != d.PID && !(m.def.NotifyAll && ev.pgid == m.group && m.group != 0) {
		access := "main"
		if m.def.NotifyAll {
			access = "all"
		}
		m.logOnce("foreign", fmt.Sprintf("ignored a notification from pid %d, which is not the daemon (NOTIFY_ACCESS=%s; logged once)", ev.pid, access))
		return
	}
	msg, now, changed := ev.msg, m.fx.now(), false
	if msg.FdClosed {
		if m.state == stProbing && !m.notified {
			m.notReady(fmt.Sprintf("the daemon closed its notification fd %s before it was ready", m.def.Ready.Target))
		}
		return
	}
	if msg.MainPID != 0 && msg.MainPID != d.PID {
		if ev.main.PID == msg.MainPID && ev.mainPgid == m.group && m.fx.adopt(ev.main) == nil {
			m.st.Daemon, changed = ev.main, true
			m.fx.writePidfile(ev.main.PID)
			m.fx.logEvent(fmt.Sprintf("MAINPID=%d: the daemon's main process is now pid %d", msg.MainPID, msg.MainPID))
		} else {
			m.logOnce("mainpid", fmt.Sprintf("ignored MAINPID=%d: not a live process of the service's process group %d (logged once)", msg.MainPID, m.group))
		}
	}
	if msg.HasStatus && msg.Status != m.st.NotifyStatus {
		m.st.NotifyStatus, changed = msg.Status, true
	}
	if msg.HasErrno {
		m.fx.logEvent(fmt.Sprintf("the daemon reports ERRNO=%d (%v)", msg.Errno, syscall.Errno(msg.Errno)))
	}
	if msg.Stopping {
		m.fx.logEvent("the daemon says it is stopping (STOPPING=1)")
	}
	if msg.Reloading && !m.st.Reloading {
		m.st.Reloading, changed = true, true
	}
	if msg.Extend > 0 && m.state == stProbing && m.announced() {
		if t := now.Add(msg.Extend); t.After(m.readyBy) {
			m.readyBy = t
		}
	}
	if msg.Watchdog && !m.keepaliveBy.IsZero() {
		m.keepaliveBy = now.Add(m.def.WatchdogSec)
	}
	if msg.Ready {
		m.st.Readies++
		m.st.Reloading, m.notified, changed = false, true, true
	}
	if changed {
		m.fx.publish(&m.st)
	}
	if msg.Ready && m.state == stProbing && m.announced() {
		m.started()
		return
	}
	if msg.Trigger && m.state == stRunning {
		m.healthRestart("WATCHDOG=trigger: the daemon asked to be restarted")
	}
}

func (m *machine) logOnce(kind, msg string) {
	if m.loggedOnce == nil {
		m.loggedOnce = map[string]bool{}
	}
	if !m.loggedOnce[kind] {
		m.loggedOnce[kind] = true
		m.fx.logEvent(msg)
	}
}

// healthTick samples MAX_RSS and starts a CHECK probe (unless one still runs).
func (m *machine) healthTick() {
	m.nextCheck = m.fx.now().Add(m.def.CheckEvery)
	if max := m.def.MaxRSS; max > 0 {
		if rss, err := m.fx.rss(m.st.Daemon.PID); err == nil && rss > max {
			m.healthRestart(fmt.Sprintf("rss %s > MAX_RSS %s", formatSize(rss), formatSize(max)))
			return
		}
	}
	if m.def.Check != nil && !m.checking {
		m.checking = true
		m.fx.probe(false, m.st.Daemon, time.Time{})
	}
}

// healthRestart stops the daemon's process group with STOP_SCHEDULE; the new
// daemon starts once the old one has exited and its group is empty (no survivor
// holds its port). A health restart is not a crash: it counts in health_restarts,
// not in respawns nor against RESPAWN_LIMIT, and has no backoff.
func (m *machine) healthRestart(reason string) {
	m.reason = reason
	m.st.LastRestart = reason
	m.st.Reason = "restarting: " + reason
	m.fx.logEvent(fmt.Sprintf("restarting daemon (pid %d): %s", m.st.Daemon.PID, reason))
	m.enter(stRestarting)
	m.fx.stop(job{daemon: m.st.Daemon})
}

// abort stops whatever runs (the daemon, a FORKS=yes spawn, a stop job already on
// its way), then does then.
func (m *machine) abort(then outcome, reason string, code int) {
	m.victim = m.st.Daemon.PID
	switch m.state {
	case stDone:
		return
	case stStopping, stRestarting, stCleaning:
		m.state = stStopping // the stop job in progress stops all
	case stSpawning, stLocating:
		m.state = stStopping
		m.fx.stop(job{forks: m.fg})
	case stBackoff, stPreparing:
		m.then, m.reason, m.code = then, reason, code
		m.finish()
		return
	default: // settling, probing, running
		if m.st.Daemon.PID == 0 {
			m.then, m.reason, m.code = then, reason, code
			m.finish()
			return
		}
		m.state = stStopping
		m.fx.stop(job{daemon: m.st.Daemon, asked: then == endStop})
	}
	m.then, m.reason, m.code = then, reason, code
}

// onStop (SigStop): stop the daemon, remove the pidfile and the state file, exit.
// Nothing may respawn once this is asked.
func (m *machine) onStop() {
	if m.waiting {
		m.fx.reportFail(1, "stopped while starting")
		m.waiting = false
	}
	m.abort(endStop, "", 0)
}

// onDetach (SIGTERM, SIGINT): never respawn again, leave the daemon alone, exit.
// `stop`'s slow path uses this to take the watchdog out of the way before it
// stops the daemon itself; at shutdown, sendsigs gets the same: nothing is
// resurrected. A start the CLI waits for is abandoned instead (what it started is
// stopped), and so is a FORKS=yes spawn whose daemon nobody could find again.
func (m *machine) onDetach() {
	switch {
	case m.state == stStopping || m.state == stDone:
	case m.waiting:
		m.abort(endFailStart, "the watchdog was told to leave while starting", 1)
	case m.state == stSpawning || m.state == stLocating || m.state == stBackoff || m.state == stCleaning || m.state == stPreparing:
		m.abort(endDetach, m.st.Reason, 0)
	default:
		m.st.Watchdog = proc.Ref{}
		m.fx.publish(&m.st)
		m.state, m.exitCode = stDone, 0
	}
}

// exitCodeOf maps a spawn failure to its LSB exit code.
func exitCodeOf(err error) int {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return 5
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return 4
	}
	return 1
}

func describeLast(status string) string {
	if status == "" {
		return "its exit (status unknown: it was not our child)"
	}
	return status
}
