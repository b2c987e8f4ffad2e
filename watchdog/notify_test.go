package watchdog

import (
	"errors"
	"testing"
	"time"

	"svcwrap/definition"
	"svcwrap/notify"
	"svcwrap/probe"
	"svcwrap/proc"
	"svcwrap/protocol"
)

func withNotify(d *definition.Definition) { d.Ready = &probe.Probe{Kind: "notify"} }

func said(pid int, m notify.Msg) evNotify { return evNotify{pid: pid, pgid: pid, msg: m} }

var (
	readyMsg = notify.Msg{Ready: true}
	errTest  = errors.New("READY=10")
)

func TestNotifyReady(t *testing.T) {
	t.Run("after START_WAIT", func(t *testing.T) {
		h := newHarness(t, withNotify)
		h.m.start()
		h.fire()
		h.want(stProbing, "spawn 101; pidfile 101") // nothing polls
		if got := h.m.due().Sub(h.f.clock); got != 30*time.Second-500*time.Millisecond {
			t.Errorf("READY=1 awaited for %v, want the rest of START_TIMEOUT", got)
		}
		h.ev(said(101, notify.Msg{Status: "loading", HasStatus: true}))
		if h.f.last.NotifyStatus != "loading" || h.m.state != stProbing {
			t.Errorf("STATUS=loading: state %v, published %+v", h.m.state, h.f.last)
		}
		h.ev(said(101, readyMsg))
		h.want(stRunning, "")
		h.wantReport("ok 101")
		if h.f.last.Readies != 1 {
			t.Errorf("readies %d", h.f.last.Readies)
		}
	})
	t.Run("during START_WAIT", func(t *testing.T) {
		h := newHarness(t, withNotify)
		h.m.start()
		h.ev(said(101, readyMsg))
		h.want(stSettling, "spawn 101; pidfile 101")
		h.fire()
		h.want(stRunning, "")
		h.wantReport("ok 101")
	})
	t.Run("never", func(t *testing.T) {
		h := newHarness(t, withNotify)
		h.m.start()
		h.fire()
		h.want(stProbing, "spawn 101; pidfile 101")
		h.ev(said(101, notify.Msg{Extend: time.Minute}))
		if got := h.m.due().Sub(h.f.clock); got != time.Minute {
			t.Errorf("EXTEND_TIMEOUT_USEC: due in %v, want 1m", got)
		}
		h.fire()
		h.want(stStopping, "stop daemon 101")
		h.ev(evExit{pid: 101, exit: killed()})
		h.ev(evStopped{})
		h.wantReport("fail 1 not ready within START_TIMEOUT 30s: no READY=1 from the daemon (READY=notify)")
		h.wantDone(1)
	})
	t.Run("dies first: fails at once", func(t *testing.T) {
		h := newHarness(t, withNotify)
		h.m.start()
		h.fire()
		h.ev(evExit{pid: 101, exit: proc.Exit{Known: true, Code: 1}})
		h.wantReport("fail 1 daemon exited during start (exit 1")
		h.wantDone(1)
	})
	t.Run("fd closed first", func(t *testing.T) {
		h := newHarness(t, func(d *definition.Definition) { d.Ready = &probe.Probe{Kind: "fd", Target: "3"} })
		h.m.start()
		h.fire()
		h.ev(said(101, notify.Msg{FdClosed: true}))
		h.want(stStopping, "spawn 101; pidfile 101; stop daemon 101")
	})
}

func TestNotifyOnlyFromTheDaemon(t *testing.T) {
	h := newHarness(t, withNotify)
	h.m.start()
	h.fire()
	for i := 0; i < 10000; i++ {
		h.ev(evNotify{pid: 555, pgid: 555, msg: readyMsg}) // a foreign process
		h.ev(evNotify{pid: 101, err: errTest})             // garbage from the daemon
	}
	h.ev(evNotify{pid: 102, pgid: 101, msg: readyMsg}) // a child of the daemon: NOTIFY_ACCESS=main
	h.want(stProbing, "spawn 101; pidfile 101")
	if len(h.f.logs) != 2 {
		t.Errorf("logged %d lines, want one per kind: %q", len(h.f.logs), h.f.logs)
	}
	h.wantLog("ignored a notification from pid 555, which is not the daemon (NOTIFY_ACCESS=main")
	h.m.def.NotifyAll = true
	h.ev(evNotify{pid: 102, pgid: 101, msg: readyMsg})
	h.want(stRunning, "")
	h.wantReport("ok 101")
}

func TestNotifyMainPID(t *testing.T) {
	h := newHarness(t, withNotify)
	h.m.start()
	h.ev(evNotify{pid: 101, pgid: 101, msg: notify.Msg{MainPID: 1}, main: proc.Ref{PID: 1}, mainPgid: 1})
	h.wantLog("ignored MAINPID=1")
	h.ev(evNotify{pid: 101, pgid: 101, msg: notify.Msg{MainPID: 150, Ready: true}, main: proc.Ref{PID: 150, Start: 7}, mainPgid: 101})
	h.want(stSettling, "spawn 101; pidfile 101; adopt 150; pidfile 150")
	h.fire()
	h.wantReport("ok 150")
	h.ev(evExit{pid: 101, exit: proc.Exit{Known: true}}) // the old main process: expected
	h.want(stRunning, "")
}

func TestNotifyAfterRespawn(t *testing.T) {
	h := newHarness(t, withNotify)
	h.m.start()
	h.fire()
	h.ev(said(101, readyMsg))
	h.want(stRunning, "spawn 101; pidfile 101")
	h.wait(time.Minute)
	h.ev(evExit{pid: 101, exit: killed()})
	h.want(stProbing, "spawn 102; pidfile 102")
	h.wantPhase(protocol.PhaseStarting) // status: starting, not running
	h.ev(said(102, readyMsg))
	h.want(stRunning, "")
	h.wantPhase(protocol.PhaseRunning)
	// A respawned daemon that never gets ready is a failed start: stopped, and
	// respawned (at once: it lived START_TIMEOUT; it counts in RESPAWN_LIMIT).
	h.wait(time.Minute)
	h.ev(evExit{pid: 102, exit: killed()})
	h.want(stProbing, "spawn 103; pidfile 103")
	h.fire()
	h.want(stCleaning, "stop daemon 103")
	h.wantLog("not ready within START_TIMEOUT")
	h.ev(evExit{pid: 103, exit: killed()})
	h.ev(evStopped{})
	h.want(stProbing, "spawn 104; pidfile 104")
	if h.f.last.Respawns != 3 {
		t.Errorf("respawns %d, want 3", h.f.last.Respawns)
	}
}

// STATUS= is the current daemon's: a respawned one starts without the text of
// the one that died ("starting: Ready to handle connections" would be a lie).
func TestNotifyStatusIsTheDaemons(t *testing.T) {
	h := newHarness(t, withNotify)
	h.m.start()
	h.fire()
	h.ev(said(101, notify.Msg{Ready: true, Status: "ready", HasStatus: true}))
	h.want(stRunning, "spawn 101; pidfile 101")
	h.wait(time.Minute)
	h.ev(evExit{pid: 101, exit: killed()})
	h.want(stProbing, "spawn 102; pidfile 102")
	if h.f.last.NotifyStatus != "" {
		t.Errorf("the respawned daemon shows the dead one's STATUS=%q", h.f.last.NotifyStatus)
	}
	h.ev(said(102, notify.Msg{Status: "loading", HasStatus: true}))
	if h.f.last.NotifyStatus != "loading" {
		t.Errorf("STATUS=loading of the respawned daemon: published %q", h.f.last.NotifyStatus)
	}
}

func TestNotifyWatchdog(t *testing.T) {
	h := newHarness(t, func(d *definition.Definition) { withNotify(d); d.WatchdogSec = time.Second })
	h.m.start()
	h.fire()
	if h.m.state != stProbing || !h.m.keepaliveBy.IsZero() {
		t.Fatalf("the keepalive is armed before READY=1 (%v)", h.m.keepaliveBy)
	}
	h.ev(said(101, readyMsg))
	if got := h.m.due().Sub(h.f.clock); got != time.Second {
		t.Errorf("keepalive due in %v, want WATCHDOG_SEC", got)
	}
	h.wait(900 * time.Millisecond)
	h.ev(said(101, notify.Msg{Watchdog: true}))
	if got := h.m.due().Sub(h.f.clock); got != time.Second {
		t.Errorf("after WATCHDOG=1 due in %v", got)
	}
	h.fire()
	h.want(stRestarting, "spawn 101; pidfile 101; stop daemon 101")
	h.wantLog("watchdog timeout: no WATCHDOG=1 within WATCHDOG_SEC 1s")
	if h.f.last.LastRestart != "watchdog timeout: no WATCHDOG=1 within WATCHDOG_SEC 1s" {
		t.Errorf("last restart %q", h.f.last.LastRestart)
	}

	h = newHarness(t, withNotify)
	h.m.start()
	h.ev(said(101, readyMsg))
	h.fire()
	h.ev(said(101, notify.Msg{Trigger: true}))
	h.want(stRestarting, "spawn 101; pidfile 101; stop daemon 101")
}

func withListen(overlap bool) func(*definition.Definition) {
	return func(d *definition.Definition) {
		d.Listen = []definition.Listen{{Kind: "tcp", Addr: "127.0.0.1:1"}}
		d.Overlap = overlap
		withNotify(d)
	}
}

func TestRestartOverlap(t *testing.T) {
	h := newHarness(t, withListen(true))
	h.m.start()
	h.ev(said(101, readyMsg))
	h.fire()
	h.want(stRunning, "spawn 101; pidfile 101")
	h.ev(evSignal{protocol.SigRestart})
	h.want(stSettling, "reread; spawn 102; pidfile 102") // the old one serves on
	h.wantPhase(protocol.PhaseRunning)
	h.fire()
	h.ev(said(102, readyMsg))
	h.want(stRunning, "retire 101 group 101")
	if h.f.last.Restarts != 0 {
		t.Errorf("restart done before the old daemon is stopped: %+v", h.f.last)
	}
	h.ev(evExit{pid: 101, exit: proc.Exit{Known: true}}) // the old one: expected
	h.ev(evRetired{})
	h.want(stRunning, "pidfile 102")
	if h.f.last.Restarts != 1 || h.f.last.RestartError != "" || h.f.last.Daemon.PID != 102 {
		t.Errorf("after the restart: %+v", h.f.last)
	}

	// A new daemon that dies: the old one serves on.
	h.ev(evSignal{protocol.SigRestart})
	h.want(stSettling, "reread; spawn 103; pidfile 103")
	h.ev(evExit{pid: 103, exit: proc.Exit{Known: true, Code: 1}})
	h.want(stRunning, "retire 0 group 103; pidfile 102")
	if h.f.last.Restarts != 2 || h.f.last.RestartError == "" || h.f.last.Daemon.PID != 102 {
		t.Errorf("after a failed restart: %+v", h.f.last)
	}
	// One that never gets ready: stopped, the old one serves on.
	h.ev(evSignal{protocol.SigRestart})
	h.fire()
	h.want(stProbing, "reread; spawn 104; pidfile 104")
	h.fire()
	h.want(stRunning, "retire 104 group 104; pidfile 102")
	h.wantLog("restart failed, the old daemon serves on: not ready within START_TIMEOUT")
	// A stop during a restart stops both.
	h.ev(evSignal{protocol.SigRestart})
	h.ev(evSignal{protocol.SigStop})
	h.want(stStopping, "reread; spawn 105; pidfile 105; retire 102 group 102; stop daemon 105")
}

func TestRestartSequential(t *testing.T) {
	h := newHarness(t, withListen(false))
	h.m.start()
	h.ev(said(101, readyMsg))
	h.fire()
	h.want(stRunning, "spawn 101; pidfile 101")
	h.ev(evSignal{protocol.SigRestart})
	h.want(stRestarting, "reread; stop daemon 101")
	h.ev(evExit{pid: 101, exit: proc.Exit{Known: true}})
	h.ev(evStopped{})
	h.want(stProbing, "rm pidfile 0; spawn 102; pidfile 102")
	h.ev(said(102, readyMsg))
	h.want(stRunning, "")
	if h.f.last.Restarts != 1 || h.f.last.HealthRestarts != 0 {
		t.Errorf("a restart is no health restart: %+v", h.f.last)
	}
	h.f.rereadErr = errors.New("the definition: bad")
	h.ev(evSignal{protocol.SigRestart})
	if h.f.last.Restarts != 2 || h.f.last.RestartError != "the definition: bad" || h.m.state != stRunning {
		t.Errorf("a broken definition: %+v", h.f.last)
	}
}
