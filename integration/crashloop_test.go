package integration_test

// Crash loops: RESPAWN_DELAY doubles on each quick death (never a busy loop,
// even with RESPAWN_DELAY=0), resets after a stable run, and RESPAWN_LIMIT
// gives up with state failed, status exit 1, the last exit code and the reason.
// Intervals come from tdaemon's own start times.

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// startTimes collects n start events of distinct daemons and returns their
// start times (tdaemon's clock at main).
func startTimes(t *testing.T, ev *Events, n int, bound time.Duration) []time.Time {
	t.Helper()
	seen := map[int]bool{}
	var out []time.Time
	for len(out) < n {
		st := ev.WaitFor(t, bound, func(x Event) bool { return x.Ev == "start" && !seen[x.Pid] })
		seen[st.Pid] = true
		out = append(out, time.Unix(0, st.T))
	}
	return out
}

func TestCrashLoopBackoffGrowsThenFails(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	const delay = 50 * time.Millisecond
	e.Script(svc, e.Daemon("-report", sock, "-exit-after", "30ms", "-exit-code", "3")+
		"\nSTART_WAIT=0\nRESPAWN_DELAY=50ms\nRESPAWN_LIMIT=5/60s\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	times := startTimes(t, ev, 6, 30*time.Second) // the first daemon and 5 respawns
	var gaps []time.Duration
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	for i, g := range gaps {
		// Each respawn waits at least RESPAWN_DELAY * 2^i after the death.
		if min := delay << i; g < min {
			t.Errorf("respawn %d came %v after the previous start; want at least the backoff %v (gaps %v)", i+1, g, min, gaps)
		}
	}
	var ent ListEntry
	eventually(t, 30*time.Second, "state failed after RESPAWN_LIMIT", func() (bool, string) {
		var err error
		ent, err = e.EntryE(svc)
		return err == nil && ent.State == "failed", fmt.Sprintf("%+v %v", ent, err)
	})
	if ent.LastExit != "exit 3" || ent.Respawns != 5 || ent.WatchdogPid != 0 || ent.Pid != 0 {
		t.Errorf("failed entry %+v; want last_exit exit 3, 5 respawns, nothing running", ent)
	}
	r := e.Run(svc, "status")
	checkCode(t, r, 1)
	if !strings.Contains(r.Stdout, "exit 3") || !strings.Contains(r.Stdout, "RESPAWN_LIMIT") {
		t.Errorf("status of a failed service should give the last exit and the reason: %q", r.Stdout)
	}
	e.checkInvariants(t, svc, "", "after the give-up")
	if p := e.serviceProcs(svc); len(p.Daemons)+len(p.Watchdogs) != 0 {
		t.Errorf("after the give-up: %v", p)
	}
	noNewStart(t, ev)
	// start recovers from failed.
	wantCode(t, e.Run(svc, "start"), 0)
	wantCode(t, e.Run(svc, "stop"), 0)
	e.checkInvariants(t, svc, "stopped", "after start and stop of a failed service")
}

// RESPAWN_DELAY=0 respawns at once but never loops without a pause: two starts
// are at least 10 ms apart.
func TestCrashLoopZeroDelayNoBusyLoop(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-exit-after", "1ms", "-exit-code", "3")+
		"\nSTART_WAIT=0\nRESPAWN_DELAY=0\nRESPAWN_LIMIT=6/60s\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	times := startTimes(t, ev, 7, 30*time.Second)
	// RESPAWN_DELAY=0 is a rate limit, not a busy loop: the watchdog spawns at
	// least 10 ms after the previous spawn (the daemon itself lives 1 ms), and
	// RESPAWN_LIMIT ends the loop. The times are the daemons' own reports, after
	// an exec whose length varies by a few ms on a loaded machine; a busy loop
	// would be 1-2 ms apart.
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 5*time.Millisecond {
			t.Errorf("start %d came %v after the previous one with RESPAWN_DELAY=0: a busy loop (starts %v)", i+1, gap, times)
		}
	}
	eventually(t, 30*time.Second, "state failed", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.State == "failed", fmt.Sprintf("%+v %v", ent, err)
	})
}

// A daemon that ran at least 10 s is respawned at once, and the backoff starts
// again from RESPAWN_DELAY.
func TestCrashLoopBackoffResetsAfterStableRun(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock)+"\nSTART_WAIT=0\nRESPAWN_DELAY=3s\nRESPAWN_LIMIT=10/60s\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	first := ev.WaitFor(t, 10*time.Second, isStart)
	killPid(t, first.Pid)
	// A quick death: respawned after RESPAWN_DELAY (3 s); the next quick one would wait 6 s.
	second := ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != first.Pid })
	if gap := time.Unix(0, second.T).Sub(time.Unix(0, first.T)); gap < 3*time.Second {
		t.Errorf("quick death respawned after %v; want RESPAWN_DELAY 3s", gap)
	}
	// Let it run 10 s (the stable-run threshold) and kill it: respawned at once.
	up := time.Unix(0, second.T)
	eventually(t, 30*time.Second, "the daemon to run 10.5 s", func() (bool, string) {
		return time.Since(up) > 10500*time.Millisecond, time.Since(up).String()
	})
	killed := time.Now()
	killPid(t, second.Pid)
	third := ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != second.Pid })
	if gap := time.Unix(0, third.T).Sub(killed); gap > 2500*time.Millisecond {
		t.Errorf("a daemon that ran 10 s was respawned %v after its death; want at once", gap)
	}
	// The backoff was reset: the next quick death waits RESPAWN_DELAY again, not 6 s.
	killed = time.Now()
	killPid(t, third.Pid)
	fourth := ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != third.Pid })
	if gap := time.Unix(0, fourth.T).Sub(killed); gap < 3*time.Second || gap > 5500*time.Millisecond {
		t.Errorf("quick death after a reset respawned after %v; want RESPAWN_DELAY 3s (6s would mean no reset)", gap)
	}
	// The daemon may report before its watchdog has written the pidfile (they
	// run side by side once it is forked).
	eventually(t, 10*time.Second, "the pidfile to name the fourth daemon", func() (bool, string) {
		pid, err := e.PidE(svc)
		return err == nil && pid == fourth.Pid, fmt.Sprint(pid, err)
	})
	e.checkInvariants(t, svc, "running", "after the respawns")
}
