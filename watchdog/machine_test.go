package watchdog

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/definition"
	"svcwrap/notify"
	"svcwrap/probe"
	"svcwrap/proc"
	"svcwrap/protocol"
)

// fake is the machine's world in the tests: it records every effect as a line,
// answers from its fields, and runs nothing. Time only moves when a test says.
type fake struct {
	clock     time.Time
	calls     []string
	pid       int   // the last PID spawn gave
	spawnErr  error // the next spawn fails with it
	adoptErr  error
	left      map[int]bool // groupLeft's answers
	rssBytes  int64
	full      bool // logFull's answer
	phases    []protocol.Phase
	last      protocol.State // the last state published
	logs      []string
	report    string                 // "ok PID" or "fail CODE REASON"
	def       *definition.Definition // reread's answer
	events    []string               // ON_EVENT kinds
	rereadErr error
	oom       int // oomKills's answer
}

func newFake() *fake {
	return &fake{clock: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC), pid: 100, left: map[int]bool{}}
}

func (f *fake) rec(format string, args ...any) {
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}
func (f *fake) now() time.Time { return f.clock }
func (f *fake) spawn() (proc.Ref, error) {
	if err := f.spawnErr; err != nil {
		f.spawnErr = nil
		f.rec("spawn failed")
		return proc.Ref{}, err
	}
	f.pid++
	f.rec("spawn %d", f.pid)
	return proc.Ref{PID: f.pid, Start: uint64(f.pid)}, nil
}
func (f *fake) adopt(ref proc.Ref) error {
	f.rec("adopt %d", ref.PID)
	return f.adoptErr
}
func (f *fake) locate(fg proc.Ref) { f.rec("locate after %d", fg.PID) }
func (f *fake) prepare()           { f.rec("prepare") }
func (f *fake) postStart()         { f.rec("post-start") }
func (f *fake) probe(ready bool, d proc.Ref, began time.Time) {
	f.rec(map[bool]string{true: "ready", false: "check"}[ready]+" %d", d.PID)
}
func (f *fake) stop(j job) {
	switch {
	case j.daemon.PID != 0:
		f.rec("stop daemon %d", j.daemon.PID)
	case j.group != 0:
		f.rec("stop group %d", j.group)
	default:
		f.rec("stop forks of %d", j.forks.PID)
	}
}
func (f *fake) retire(d proc.Ref, group int)    { f.rec("retire %d group %d", d.PID, group) }
func (f *fake) event(kind, reason, exit string) { f.events = append(f.events, kind) }
func (f *fake) reread() (*definition.Definition, error) {
	f.rec("reread")
	return f.def, f.rereadErr
}
func (f *fake) groupLeft(pgid int) bool    { return f.left[pgid] }
func (f *fake) rss(int) (int64, error)     { return f.rssBytes, nil }
func (f *fake) oomKills() int              { return f.oom }
func (f *fake) logFull() bool              { return f.full }
func (f *fake) rotate()                    { f.rec("rotate") }
func (f *fake) writePidfile(pid int)       { f.rec("pidfile %d", pid) }
func (f *fake) removePidfile(pid int)      { f.rec("rm pidfile %d", pid) }
func (f *fake) removeState()               { f.rec("rm state") }
func (f *fake) repair(d proc.Ref)          { f.rec("repair %d", d.PID) }
func (f *fake) reportOK(pid int)           { f.report = fmt.Sprintf("ok %d", pid) }
func (f *fake) reportFail(c int, r string) { f.report = fmt.Sprintf("fail %d %s", c, r) }
func (f *fake) logEvent(msg string)        { f.logs = append(f.logs, msg) }
func (f *fake) publish(st *protocol.State) {
	f.last = *st
	if n := len(f.phases); n == 0 || f.phases[n-1] != st.Phase {
		f.phases = append(f.phases, st.Phase)
	}
}

// since returns the calls recorded after mark and sets mark to the end.
func (f *fake) since(mark *int) string {
	s := strings.Join(f.calls[*mark:], "; ")
	*mark = len(f.calls)
	return s
}

func testDef(t *testing.T, set func(d *definition.Definition)) *definition.Definition {
	t.Helper()
	d := definition.Defaults("svc", "/etc/init.d/svc", definition.Paths{PidDir: "/run", LogDir: "/var/log/svcwrap"})
	d.Argv, d.Path = []string{"/bin/sleep", "100"}, "/bin/sleep"
	if set != nil {
		set(d)
	}
	return d
}

// world is a machine and its fake world, with helpers to drive and check them.
type harness struct {
	t    *testing.T
	m    *machine
	f    *fake
	mark int
}

func newHarness(t *testing.T, set func(d *definition.Definition)) *harness {
	f := newFake()
	d := testDef(t, set)
	f.def = d
	return &harness{t: t, f: f, m: newMachine(d, f, protocol.State{Name: "svc", Watchdog: proc.Ref{PID: 10, Start: 10}})}
}

func (h *harness) ev(ev any) { h.t.Helper(); h.m.handle(ev) }

// after moves the clock to the timer's due time (it must be armed) and fires it.
func (h *harness) fire() {
	h.t.Helper()
	due := h.m.due()
	if due.IsZero() {
		h.t.Fatalf("no timer armed in state %v", h.m.state)
	}
	if due.After(h.f.clock) {
		h.f.clock = due
	}
	h.m.handle(evTimer{})
}

func (h *harness) wait(d time.Duration) { h.f.clock = h.f.clock.Add(d) }

func (h *harness) want(state state, calls string) {
	h.t.Helper()
	if h.m.state != state {
		h.t.Errorf("state %v, want %v", h.m.state, state)
	}
	if got := h.f.since(&h.mark); got != calls {
		h.t.Errorf("effects\n got: %s\nwant: %s", got, calls)
	}
}

func (h *harness) wantPhase(p protocol.Phase) {
	h.t.Helper()
	if h.f.last.Phase != p {
		h.t.Errorf("published phase %q, want %q", h.f.last.Phase, p)
	}
}

func (h *harness) wantReport(prefix string) {
	h.t.Helper()
	if !strings.HasPrefix(h.f.report, prefix) {
		h.t.Errorf("report %q, want %q...", h.f.report, prefix)
	}
}

func (h *harness) wantLog(sub string) {
	h.t.Helper()
	for _, l := range h.f.logs {
		if strings.Contains(l, sub) {
			return
		}
	}
	h.t.Errorf("no log line contains %q: %q", sub, h.f.logs)
}

func (h *harness) wantDone(code int) {
	h.t.Helper()
	if h.m.state != stDone || h.m.exitCode != code {
		h.t.Errorf("state %v exit %d, want done with exit %d", h.m.state, h.m.exitCode, code)
	}
}

// running is a machine whose first daemon (pid 101) runs and was reported.
func running(t *testing.T, set func(d *definition.Definition)) *harness {
	h := newHarness(t, set)
	h.m.start()
	h.fire()
	h.want(stRunning, "spawn 101; pidfile 101")
	h.wantReport("ok 101")
	return h
}

func killed() proc.Exit { return proc.Exit{Known: true, Code: -1, Signal: unix.SIGKILL} }

func TestStartWaitsStartWaitThenRuns(t *testing.T) {
	h := newHarness(t, nil)
	h.m.start()
	h.want(stSettling, "spawn 101; pidfile 101")
	h.wantPhase(protocol.PhaseStarting)
	if h.f.report != "" {
		t.Fatalf("reported %q before START_WAIT", h.f.report)
	}
	if got := h.m.due().Sub(h.f.clock); got != 500*time.Millisecond {
		t.Errorf("timer in %v, want START_WAIT 500ms", got)
	}
	h.fire()
	h.want(stRunning, "")
	h.wantPhase(protocol.PhaseRunning)
	h.wantReport("ok 101")
	if !h.m.due().IsZero() {
		t.Errorf("a running service without CHECK or MAX_RSS arms a timer (%v)", h.m.due())
	}
}

func TestStartWithoutStartWaitRunsAtOnce(t *testing.T) {
	h := newHarness(t, func(d *definition.Definition) { d.StartWait = 0 })
	h.m.start()
	h.want(stRunning, "spawn 101; pidfile 101")
	h.wantReport("ok 101")
}

func TestReady(t *testing.T) {
	ready := func(d *definition.Definition) { d.Ready = &probe.Probe{Kind: "tcp", Target: "127.0.0.1:1"} }
	t.Run("passes", func(t *testing.T) {
		h := newHarness(t, ready)
		h.m.start()
		h.fire()
		h.want(stProbing, "spawn 101; pidfile 101; ready 101")
		h.wantPhase(protocol.PhaseStarting)
		h.ev(evProbed{ready: true, pid: 101})
		h.want(stRunning, "")
		h.wantReport("ok 101")
	})
	t.Run("times out", func(t *testing.T) {
		h := newHarness(t, ready)
		h.m.start()
		h.fire()
		h.ev(evProbed{ready: true, pid: 101, err: errors.New("tcp 127.0.0.1:1: connection refused")})
		h.want(stStopping, "spawn 101; pidfile 101; ready 101; stop daemon 101")
		if h.f.report != "" {
			t.Fatalf("reported %q before the daemon was stopped", h.f.report)
		}
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Signal: unix.SIGTERM}})
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 0")
		h.wantReport("fail 1 not ready within START_TIMEOUT 30s: READY tcp 127.0.0.1:1: tcp 127.0.0.1:1: connection refused")
		h.wantPhase(protocol.PhaseStopped)
		h.wantDone(1)
	})
	t.Run("result of an older daemon", func(t *testing.T) {
		h := newHarness(t, ready)
		h.m.start()
		h.fire()
		h.ev(evProbed{ready: true, pid: 99})
		h.want(stProbing, "spawn 101; pidfile 101; ready 101")
	})
}

func TestDeathDuringStart(t *testing.T) {
	t.Run("nothing left", func(t *testing.T) {
		h := newHarness(t, nil)
		h.m.start()
		h.wait(20 * time.Millisecond)
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Code: 3}})
		h.want(stDone, "spawn 101; pidfile 101; rm pidfile 0")
		h.wantReport("fail 1 daemon exited during start (exit 3 after 20ms)")
		h.wantPhase(protocol.PhaseStopped)
		h.wantDone(1)
	})
	t.Run("its group lives on", func(t *testing.T) {
		h := newHarness(t, nil)
		h.m.start()
		h.f.left[101] = true
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Code: 3}})
		h.want(stCleaning, "spawn 101; pidfile 101; stop group 101")
		h.wantPhase(protocol.PhaseStarting)
		if h.f.report != "" {
			t.Fatalf("reported %q while the group is being stopped", h.f.report)
		}
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 0")
		h.wantReport("fail 1 daemon exited during start")
	})
}

func TestSignalsDuringStartWait(t *testing.T) {
	t.Run("stop", func(t *testing.T) {
		h := newHarness(t, nil)
		h.m.start()
		h.ev(evSignal{protocol.SigStop})
		h.wantReport("fail 1 stopped while starting")
		h.want(stStopping, "spawn 101; pidfile 101; stop daemon 101")
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Signal: unix.SIGTERM}})
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 101; rm state")
		h.wantDone(0)
	})
	t.Run("detach abandons the start", func(t *testing.T) {
		h := newHarness(t, nil)
		h.m.start()
		h.ev(evSignal{unix.SIGTERM})
		h.want(stStopping, "spawn 101; pidfile 101; stop daemon 101")
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 0")
		h.wantReport("fail 1 the watchdog was told to leave while starting")
		h.wantDone(1)
	})
	t.Run("repair", func(t *testing.T) {
		h := newHarness(t, nil)
		h.m.start()
		h.ev(evSignal{protocol.SigRepair})
		h.want(stSettling, "spawn 101; pidfile 101; repair 101")
	})
}

func TestRespawn(t *testing.T) {
	t.Run("an old daemon at once", func(t *testing.T) {
		h := running(t, nil)
		h.wait(time.Minute)
		h.ev(evExit{pid: 101, exit: killed()})
		h.want(stRunning, "spawn 102; pidfile 102")
		h.wantLog("respawned daemon (pid 102) after signal KILL")
		if h.f.last.Respawns != 1 || h.f.last.LastExit != "signal KILL" || h.f.last.Daemon.PID != 102 {
			t.Errorf("state %+v", h.f.last)
		}
	})
	t.Run("a young one after RESPAWN_DELAY", func(t *testing.T) {
		h := running(t, nil)
		h.wait(time.Second)
		h.ev(evExit{pid: 101, exit: killed()})
		h.want(stBackoff, "")
		h.wantPhase(protocol.PhaseRespawning)
		if got := h.m.due().Sub(h.f.clock); got != 100*time.Millisecond {
			t.Errorf("respawn in %v, want RESPAWN_DELAY 100ms", got)
		}
		h.ev(evExit{pid: 101, exit: killed()}) // exit during backoff: a duplicate, ignored
		h.want(stBackoff, "")
		h.fire()
		h.want(stRunning, "spawn 102; pidfile 102")
		h.wait(time.Second)
		h.ev(evExit{pid: 102, exit: killed()})
		if got := h.m.due().Sub(h.f.clock); got != 200*time.Millisecond {
			t.Errorf("second quick death: respawn in %v, want 200ms", got)
		}
	})
	t.Run("leftovers of its group first", func(t *testing.T) {
		h := running(t, nil)
		h.wait(time.Minute)
		h.f.left[101] = true
		h.ev(evExit{pid: 101, exit: killed()})
		h.want(stCleaning, "stop group 101")
		h.wantPhase(protocol.PhaseRespawning)
		h.wantLog("stopping what is left of process group 101 of the dead daemon")
		h.ev(evStopped{})
		h.want(stRunning, "spawn 102; pidfile 102")
	})
	t.Run("gives up after RESPAWN_LIMIT", func(t *testing.T) {
		h := running(t, func(d *definition.Definition) {
			d.RespawnLimit = definition.Window{N: 2, Within: time.Minute}
			d.RespawnDelay = 0
		})
		for pid := 101; pid <= 102; pid++ {
			h.wait(20 * time.Millisecond)
			h.ev(evExit{pid: pid, exit: proc.Exit{Known: true, Code: 1}})
		}
		h.want(stRunning, "spawn 102; pidfile 102; spawn 103; pidfile 103")
		h.wait(20 * time.Millisecond)
		h.ev(evExit{pid: 103, exit: proc.Exit{Known: true, Code: 1}})
		h.want(stDone, "")
		h.wantPhase(protocol.PhaseFailed)
		h.wantDone(1)
		if !strings.HasPrefix(h.f.last.Reason, "gave up: 2 respawns within 1m0s (RESPAWN_LIMIT=2/1m); last exit: exit 1") || h.f.last.Watchdog.PID != 0 {
			t.Errorf("state %+v", h.f.last)
		}
	})
	t.Run("RESPAWN=on-failure and a normal exit", func(t *testing.T) {
		h := running(t, func(d *definition.Definition) { d.Respawn = definition.RespawnOnFailure })
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Code: 0}})
		h.want(stDone, "rm pidfile 0")
		h.wantPhase(protocol.PhaseStopped)
		h.wantDone(0)
		h.wantLog("daemon exited (exit 0); RESPAWN=on-failure")
	})
	t.Run("a respawn that cannot spawn backs off", func(t *testing.T) {
		h := running(t, nil)
		h.wait(time.Minute)
		h.f.spawnErr = errors.New("/bin/sleep: not installed")
		h.ev(evExit{pid: 101, exit: killed()})
		h.want(stBackoff, "spawn failed")
		h.wantLog("respawn failed: /bin/sleep: not installed")
		h.fire()
		h.want(stRunning, "spawn 102; pidfile 102")
	})
	t.Run("the exit of an earlier daemon", func(t *testing.T) {
		h := running(t, nil)
		h.ev(evExit{pid: 42, exit: killed()})
		h.want(stRunning, "")
	})
}

// An OOM kill: the cgroup's counter rose between the spawn and the death. The
// death says oom (last exit, reason, log, oom_kills) and is respawned like any
// crash; a death without a new OOM kill does not, and a count from before the
// spawn is no OOM kill of this daemon.
func TestOOM(t *testing.T) {
	t.Run("killed and respawned", func(t *testing.T) {
		h := running(t, nil)
		h.wait(time.Second)
		h.f.oom = 1
		h.ev(evExit{pid: 101, exit: killed()})
		h.want(stBackoff, "")
		h.wantLog("out of memory: the kernel's OOM killer ended 1 process of the daemon's cgroup")
		if st := h.f.last; st.LastExit != "signal KILL (oom)" || st.OOMKills != 1 || st.Reason != "daemon died (signal KILL (oom)); respawning in 100ms" {
			t.Errorf("state %+v", st)
		}
		if got := strings.Join(h.f.events, " "); got != "oom respawn" {
			t.Errorf("ON_EVENT got %q, want oom then respawn", got)
		}
		h.fire()
		h.want(stRunning, "spawn 102; pidfile 102")
		h.wantLog("respawned daemon (pid 102) after signal KILL (oom)")
		h.wait(time.Minute)
		h.ev(evExit{pid: 102, exit: killed()}) // the counter did not move
		h.want(stRunning, "spawn 103; pidfile 103")
		if st := h.f.last; st.LastExit != "signal KILL" || st.OOMKills != 1 || st.Respawns != 2 {
			t.Errorf("state %+v", st)
		}
		h.f.oom = 3 // two at once (a worker and the daemon)
		h.ev(evExit{pid: 103, exit: proc.Exit{Known: true, Code: 1}})
		h.wantLog("ended 2 processes")
		if st := h.f.last; st.LastExit != "exit 1 (oom)" || st.OOMKills != 3 {
			t.Errorf("state %+v", st)
		}
	})
	t.Run("counted before the spawn", func(t *testing.T) {
		h := newHarness(t, nil)
		h.f.oom = 4 // an earlier run's, in a cgroup v1 that stayed
		h.m.start()
		h.fire()
		h.wait(time.Minute)
		h.ev(evExit{pid: 101, exit: killed()})
		if st := h.f.last; st.LastExit != "signal KILL" || st.OOMKills != 0 {
			t.Errorf("state %+v", st)
		}
	})
	t.Run("during start", func(t *testing.T) {
		h := newHarness(t, nil)
		h.m.start()
		h.f.oom = 1
		h.ev(evExit{pid: 101, exit: killed()})
		h.wantReport("fail 1 daemon exited during start (signal KILL (oom) after 0s)")
	})
	t.Run("adopted", func(t *testing.T) {
		h := newHarness(t, nil)
		h.f.oom = 2
		if !h.m.adopt(&protocol.State{Daemon: proc.Ref{PID: 77, Start: 7}, OOMKills: 5}) {
			t.Fatal("adopt failed")
		}
		h.f.oom = 3
		h.ev(evExit{pid: 77}) // not our child: how it ended is unknown
		if st := h.f.last; st.LastExit != "oom" || st.OOMKills != 6 {
			t.Errorf("state %+v", st)
		}
	})
}

func TestHealth(t *testing.T) {
	check := func(d *definition.Definition) {
		d.Check, d.CheckFails, d.CheckEvery = &probe.Probe{Kind: "tcp", Target: "127.0.0.1:1"}, 2, time.Second
	}
	fail := errors.New("tcp 127.0.0.1:1: connection refused")
	t.Run("restart after CHECK_FAILURES", func(t *testing.T) {
		h := running(t, check)
		if got := h.m.due().Sub(h.f.clock); got != time.Second {
			t.Fatalf("first check in %v, want CHECK_INTERVAL", got)
		}
		h.fire()
		h.want(stRunning, "check 101")
		h.fire() // a check that still runs is not doubled
		h.want(stRunning, "")
		h.ev(evProbed{pid: 101, err: fail})
		h.wantLog("health check failed (1 of 2): tcp 127.0.0.1:1: connection refused")
		h.fire()
		h.ev(evProbed{pid: 101, err: fail})
		h.want(stRestarting, "check 101; stop daemon 101")
		h.wantPhase(protocol.PhaseRespawning)
		h.wantLog("restarting daemon (pid 101): health check failed: tcp 127.0.0.1:1: connection refused")
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Signal: unix.SIGTERM}})
		h.want(stRestarting, "")
		h.ev(evStopped{})
		h.want(stRunning, "rm pidfile 0; spawn 102; pidfile 102")
		h.wantLog("restarted daemon (pid 102) after health check failed")
		if st := h.f.last; st.HealthRestarts != 1 || st.Respawns != 0 || st.LastExit != "signal TERM" || st.LastRestart == "" {
			t.Errorf("state %+v", st)
		}
	})
	t.Run("a pass resets the count", func(t *testing.T) {
		h := running(t, check)
		h.fire()
		h.ev(evProbed{pid: 101, err: fail})
		h.fire()
		h.ev(evProbed{pid: 101})
		h.wantLog("health check passes again after 1 failure")
		h.fire()
		h.ev(evProbed{pid: 101, err: fail})
		h.want(stRunning, "check 101; check 101; check 101")
	})
	t.Run("MAX_RSS", func(t *testing.T) {
		h := running(t, func(d *definition.Definition) { d.MaxRSS, d.CheckEvery = 64<<20, time.Second })
		h.f.rssBytes = 80 << 20
		h.fire()
		h.want(stRestarting, "stop daemon 101")
		h.wantLog("restarting daemon (pid 101): rss 80M > MAX_RSS 64M")
	})
	t.Run("stop during a health restart", func(t *testing.T) {
		h := running(t, check)
		h.fire()
		h.ev(evProbed{pid: 101, err: fail})
		h.fire()
		h.ev(evProbed{pid: 101, err: fail})
		h.want(stRestarting, "check 101; check 101; stop daemon 101")
		h.ev(evSignal{protocol.SigStop})
		h.want(stStopping, "") // the stop job in progress stops all
		h.ev(evProbed{pid: 101, err: fail})
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 101; rm state")
		h.wantDone(0)
	})
	t.Run("a check of a daemon that is gone", func(t *testing.T) {
		h := running(t, check)
		h.fire()
		h.wait(time.Minute)
		h.ev(evExit{pid: 101, exit: killed()})
		h.ev(evProbed{pid: 101, err: fail})
		h.want(stRunning, "check 101; spawn 102; pidfile 102")
		if h.m.checkFails != 0 {
			t.Errorf("the old daemon's failure counted: %d", h.m.checkFails)
		}
	})
}

func TestStop(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		h := running(t, nil)
		h.ev(evSignal{protocol.SigStop})
		h.want(stStopping, "stop daemon 101")
		h.ev(evSignal{protocol.SigStop}) // asked twice
		h.ev(evSignal{unix.SIGTERM})     // and told to leave meanwhile
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Signal: unix.SIGTERM}})
		h.want(stStopping, "")
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 101; rm state")
		h.wantDone(0)
	})
	t.Run("something survives", func(t *testing.T) {
		h := running(t, nil)
		h.ev(evSignal{protocol.SigStop})
		h.ev(evStopped{err: errors.New("process group 101 still runs after STOP_SCHEDULE TERM/1s")})
		h.want(stDone, "stop daemon 101")
		h.wantDone(1)
		if st := h.f.last; st.Watchdog.PID != 0 || st.Daemon.PID != 101 {
			t.Errorf("a failed stop must leave the daemon recorded without a watchdog: %+v", st)
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		h := running(t, nil)
		h.ev(evExit{pid: 101, exit: killed()})
		h.want(stBackoff, "")
		h.ev(evSignal{protocol.SigStop})
		h.want(stDone, "rm pidfile 0; rm state")
		h.fire2()
	})
	t.Run("while cleaning", func(t *testing.T) {
		h := running(t, nil)
		h.wait(time.Minute)
		h.f.left[101] = true
		h.ev(evExit{pid: 101, exit: killed()})
		h.ev(evSignal{protocol.SigStop})
		h.want(stStopping, "stop group 101")
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 0; rm state")
	})
}

// fire2 checks that a machine that is done arms no timer.
func (h *harness) fire2() {
	h.t.Helper()
	if !h.m.due().IsZero() {
		h.t.Errorf("done, yet a timer is due at %v", h.m.due())
	}
}

func TestDetach(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		h := running(t, nil)
		h.ev(evSignal{unix.SIGTERM})
		h.want(stDone, "")
		h.wantDone(0)
		if st := h.f.last; st.Watchdog.PID != 0 || st.Daemon.PID != 101 || st.Phase != protocol.PhaseRunning {
			t.Errorf("detached: %+v", st)
		}
	})
	t.Run("during backoff", func(t *testing.T) {
		h := running(t, nil)
		h.ev(evExit{pid: 101, exit: killed()})
		h.ev(evSignal{unix.SIGINT})
		h.want(stDone, "")
		h.wantPhase(protocol.PhaseStopped)
	})
}

func TestForks(t *testing.T) {
	forks := func(d *definition.Definition) { d.Forks, d.StartWait = true, 0 }
	t.Run("start", func(t *testing.T) {
		h := newHarness(t, forks)
		h.m.start()
		h.want(stSpawning, "spawn 101")
		h.wantPhase(protocol.PhaseStarting)
		if h.f.last.Spawn.PID != 101 {
			t.Errorf("the state does not record the foreground process: %+v", h.f.last)
		}
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true}})
		h.want(stLocating, "locate after 101")
		h.ev(evLocated{ref: proc.Ref{PID: 200, Start: 200}})
		h.want(stRunning, "adopt 200")
		h.wantReport("ok 200")
		if st := h.f.last; st.Spawn.PID != 0 || st.Daemon.PID != 200 {
			t.Errorf("state %+v", st)
		}
	})
	t.Run("the foreground process fails", func(t *testing.T) {
		h := newHarness(t, forks)
		h.m.start()
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Code: 1}})
		h.want(stCleaning, "spawn 101; stop forks of 101")
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 0")
		h.wantReport("fail 1 start failed: DAEMON (FORKS=yes) exited with exit 1 instead of backgrounding itself")
	})
	t.Run("it never backgrounds itself", func(t *testing.T) {
		h := newHarness(t, forks)
		h.m.start()
		if got := h.m.due().Sub(h.f.clock); got != 30*time.Second {
			t.Errorf("bound %v, want START_TIMEOUT", got)
		}
		h.fire()
		h.want(stCleaning, "spawn 101; stop forks of 101")
		h.ev(evStopped{})
		h.wantReport("fail 1 start failed: DAEMON (FORKS=yes) did not background itself within START_TIMEOUT 30s")
	})
	t.Run("respawn is published as respawning until the daemon is found", func(t *testing.T) {
		h := newHarness(t, forks)
		h.m.start()
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true}})
		h.ev(evLocated{ref: proc.Ref{PID: 200, Start: 200}})
		h.wait(time.Minute)
		h.ev(evExit{pid: 200})
		h.want(stSpawning, "spawn 101; locate after 101; adopt 200; spawn 102")
		h.wantPhase(protocol.PhaseRespawning)
		if st := h.f.last; st.Spawn.PID != 102 || st.Daemon.PID != 0 {
			t.Errorf("state %+v", st)
		}
		h.ev(evExit{pid: 102, exit: proc.Exit{Known: true}})
		h.want(stLocating, "locate after 102")
		h.ev(evLocated{ref: proc.Ref{PID: 201, Start: 201}})
		h.want(stRunning, "adopt 201")
		h.wantPhase(protocol.PhaseRunning)
		h.wantLog("respawned daemon (pid 201) after its exit (status unknown: it was not our child)")
	})
	t.Run("stop while it backgrounds itself", func(t *testing.T) {
		h := newHarness(t, forks)
		h.m.start()
		h.ev(evSignal{protocol.SigStop})
		h.want(stStopping, "spawn 101; stop forks of 101")
		h.ev(evStopped{})
		h.want(stDone, "rm pidfile 0; rm state")
	})
}

func TestAdopt(t *testing.T) {
	h := newHarness(t, nil)
	old := &protocol.State{Daemon: proc.Ref{PID: 77, Start: 7}, Respawns: 3, LastExit: "exit 1"}
	if !h.m.adopt(old) {
		t.Fatal("adopt failed")
	}
	h.want(stRunning, "adopt 77; repair 77")
	h.wantReport("ok 77")
	h.wantLog("adopted running daemon (pid 77)")
	if st := h.f.last; st.Respawns != 3 || st.Daemon.PID != 77 {
		t.Errorf("state %+v", st)
	}
	h2 := newHarness(t, nil)
	h2.f.adoptErr = proc.ErrGone
	if h2.m.adopt(old) {
		t.Error("adopted a daemon that is gone")
	}
}

func TestLaunchedWithoutWatchdog(t *testing.T) {
	h := newHarness(t, func(d *definition.Definition) { d.Respawn, d.StartWait = definition.RespawnNo, 0 })
	h.m.start()
	h.want(stDone, "spawn 101; pidfile 101")
	h.wantPhase(protocol.PhaseLaunched)
	h.wantReport("ok 101")
	h.wantDone(0)
}

// withHooks is a machine whose definition has the hooks keys (each /bin/true).
func withHooks(t *testing.T, set func(d *definition.Definition), keys ...string) *harness {
	body := "DAEMON=\"/bin/sleep 100\"\n"
	for _, k := range keys {
		body += k + "=/bin/true\n"
	}
	d, err := definition.Parse("svc", "/etc/init.d/svc", []byte(body), definition.Paths{PidDir: "/run", LogDir: "/var/log/svcwrap"})
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(d)
	}
	f := newFake()
	return &harness{t: t, f: f, m: newMachine(d, f, protocol.State{Name: "svc", Watchdog: proc.Ref{PID: 10, Start: 10}})}
}

func TestPreStart(t *testing.T) {
	t.Run("start", func(t *testing.T) {
		h := withHooks(t, nil, "PRE_START")
		h.m.start()
		h.want(stPreparing, "prepare")
		h.wantPhase(protocol.PhaseStarting)
		h.ev(evPrepared{})
		h.want(stSettling, "spawn 101; pidfile 101")
	})
	t.Run("fails the start", func(t *testing.T) {
		h := withHooks(t, nil, "PRE_START")
		h.m.start()
		h.ev(evPrepared{err: errors.New("PRE_START /bin/true: exit status 1")})
		h.want(stDone, "prepare; rm pidfile 0")
		h.wantReport("fail 1 start failed: PRE_START /bin/true: exit status 1")
	})
	t.Run("before every respawn; its failure is a quick death", func(t *testing.T) {
		h := withHooks(t, func(d *definition.Definition) { d.StartWait = 0 }, "PRE_START")
		h.m.start()
		h.ev(evPrepared{})
		h.want(stRunning, "prepare; spawn 101; pidfile 101")
		h.wait(time.Minute)
		h.ev(evExit{pid: 101, exit: killed()})
		h.want(stPreparing, "prepare")
		h.wantPhase(protocol.PhaseRespawning)
		h.ev(evPrepared{err: errors.New("PRE_START /bin/true: exit status 1")})
		h.want(stBackoff, "")
		h.wantLog("respawn failed: PRE_START /bin/true: exit status 1")
		h.fire()
		h.ev(evPrepared{})
		h.want(stRunning, "prepare; spawn 102; pidfile 102")
	})
	t.Run("stop while preparing", func(t *testing.T) {
		h := withHooks(t, nil, "PRE_START")
		h.m.start()
		h.ev(evSignal{protocol.SigStop})
		h.want(stDone, "prepare; rm pidfile 0; rm state")
		h.ev(evPrepared{})
		h.want(stDone, "")
	})
}

func TestPostStart(t *testing.T) {
	h := withHooks(t, nil, "POST_START")
	h.m.start()
	h.fire()
	h.want(stPostStart, "spawn 101; pidfile 101; post-start")
	h.wantPhase(protocol.PhaseStarting)
	if h.f.report != "" {
		t.Fatalf("reported %q before POST_START ended", h.f.report)
	}
	h.ev(evPostStarted{err: errors.New("POST_START /bin/true: exit status 1")})
	h.want(stRunning, "")
	h.wantReport("ok 101")
	h.wantLog("POST_START /bin/true: exit status 1 (the daemon runs on)")
	// After a respawn too, without a report.
	h.wait(time.Minute)
	h.ev(evExit{pid: 101, exit: killed()})
	h.want(stPostStart, "spawn 102; pidfile 102; post-start")
	h.wantPhase(protocol.PhaseRunning)
	h.ev(evPostStarted{})
	h.want(stRunning, "")

	t.Run("a death during POST_START fails the start", func(t *testing.T) {
		h := withHooks(t, nil, "POST_START")
		h.m.start()
		h.fire()
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Code: 1}})
		h.want(stDone, "spawn 101; pidfile 101; post-start; rm pidfile 0")
		h.wantReport("fail 1 daemon exited during start")
	})
}

func TestPostStopAfterADeath(t *testing.T) {
	h := withHooks(t, nil, "POST_STOP")
	h.m.start()
	h.fire()
	h.want(stRunning, "spawn 101; pidfile 101")
	h.wait(time.Minute)
	h.ev(evExit{pid: 101, exit: killed()})
	h.want(stCleaning, "stop group 101")
	h.wantPhase(protocol.PhaseRespawning)
	h.ev(evStopped{})
	h.want(stRunning, "spawn 102; pidfile 102")
}

func TestLogRotationEvents(t *testing.T) {
	h := running(t, nil)
	h.ev(evLogWritten{})
	h.want(stRunning, "")
	h.f.full = true
	h.ev(evLogWritten{})
	h.ev(evLogWritten{}) // one rotation at a time
	h.want(stRunning, "rotate")
	h.ev(evRotated{msg: "rotated"})
	h.ev(evLogWritten{})
	h.want(stRunning, "rotate")
}

// Every event in every state: no panic, and a machine that is done stays done.
func TestEveryEventInEveryState(t *testing.T) {
	events := []any{evExit{pid: 101, exit: killed()}, evExit{pid: 102}, evLocated{ref: proc.Ref{PID: 300}}, evLocated{err: errors.New("x")},
		evProbed{ready: true, pid: 101}, evProbed{pid: 101, err: errors.New("x")}, evStopped{}, evStopped{err: errors.New("x")},
		evSignal{unix.SIGTERM}, evSignal{protocol.SigStop}, evSignal{protocol.SigRepair}, evSignal{syscall.SIGQUIT},
		evTimer{}, evLogWritten{}, evRotated{}, evNotify{pid: 101, pgid: 101, msg: notify.Msg{Ready: true}},
		evNotify{pid: 101, pgid: 101, msg: notify.Msg{FdClosed: true}}, evNotify{pid: 101, pgid: 101, msg: notify.Msg{Trigger: true, Reloading: true, MainPID: 150}, main: proc.Ref{PID: 150}, mainPgid: 101},
		evNotify{pid: 9, err: errors.New("x")}}
	setups := map[string]func(*harness){
		"preparing": func(h *harness) { *h = *withHooks(h.t, nil, "PRE_START"); h.m.start() },
		"poststart": func(h *harness) { *h = *withHooks(h.t, nil, "POST_START"); h.m.start(); h.fire() },
		"settling":  func(h *harness) { h.m.start() },
		"probing": func(h *harness) {
			h.m.def.Ready = &probe.Probe{Kind: "tcp", Target: "x:1"}
			h.m.start()
			h.fire()
		},
		"probing-notify": func(h *harness) {
			h.m.def.Ready, h.m.def.WatchdogSec = &probe.Probe{Kind: "notify"}, time.Second
			h.m.start()
			h.fire()
		},
		"running":    func(h *harness) { h.m.start(); h.fire() },
		"backoff":    func(h *harness) { h.m.start(); h.fire(); h.ev(evExit{pid: 101, exit: killed()}) },
		"restarting": func(h *harness) { h.m.start(); h.fire(); h.m.healthRestart("x") },
		"cleaning": func(h *harness) {
			h.m.start()
			h.fire()
			h.f.left[101] = true
			h.ev(evExit{pid: 101, exit: killed()})
		},
		"stopping": func(h *harness) { h.m.start(); h.fire(); h.ev(evSignal{protocol.SigStop}) },
		"spawning": func(h *harness) { h.m.def.Forks = true; h.m.start() },
		"locating": func(h *harness) {
			h.m.def.Forks = true
			h.m.start()
			h.ev(evExit{pid: 101, exit: proc.Exit{Known: true}})
		},
	}
	for name, setup := range setups {
		for i, ev := range events {
			t.Run(fmt.Sprintf("%s/%d-%T", name, i, ev), func(t *testing.T) {
				h := newHarness(t, nil)
				setup(h)
				if h.m.state.String() != strings.TrimSuffix(name, "-notify") {
					t.Fatalf("setup reached %v", h.m.state)
				}
				h.m.handle(ev)
				if h.m.state == stDone {
					for _, again := range events {
						h.m.handle(again)
					}
					if h.m.state != stDone {
						t.Errorf("left done for %v", h.m.state)
					}
				}
			})
		}
	}
}
