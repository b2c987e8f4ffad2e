package integration_test

// The fast stop (docs/design.md, "Stop"): the watchdog stops the daemon itself on
// SIGUSR1; the CLI falls back on stopping what still lives when the watchdog fails.

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStopWatchdogKilledMidway: the watchdog dies while it runs STOP_SCHEDULE on
// a TERM-ignoring daemon; stop still stops the daemon (its fallback) and exits 0.
func TestStopWatchdogKilledMidway(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-ignore", "TERM", "-children", "1")+"\nSTOP_SCHEDULE=TERM/4/KILL/5\n")
	wantCode(t, e.Run(svc, "start"), 0)
	pid, wd := supervised(t, e, svc)
	st := ev.WaitFor(t, 10*time.Second, isStart)

	done := make(chan Result, 1)
	go func() { done <- e.Run(svc, "stop") }()
	re := regexp.MustCompile(`svcwrap: ` + svc + `: stopping daemon \(pid ` + strconv.Itoa(pid) + `\)`)
	eventually(t, 20*time.Second, "the watchdog's \"stopping daemon\" log line", func() (bool, string) {
		return len(logLines(t, e.LogPath(svc), re)) > 0, "no such line in " + e.LogPath(svc)
	})
	if err := unix.Kill(wd, unix.SIGKILL); err != nil {
		t.Fatalf("kill watchdog %d: %v", wd, err)
	}
	var r Result
	select {
	case r = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("stop did not return within 60 s after its watchdog was killed")
	}
	wantCode(t, r, 0)
	for _, p := range append([]int{pid}, st.Children...) {
		waitExit(t, p, 10*time.Second)
	}
	noPidfile(t, e, svc)
	wantCode(t, e.Run(svc, "status"), 3)
	noProcs(t, e, "after stop")
}

// TestStopDuringBackoff: stop while the watchdog waits to respawn a crashed daemon
// ends the watchdog; nothing is respawned.
func TestStopDuringBackoff(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-exit-after", "300ms")+"\nSTART_WAIT=100ms\nRESPAWN_DELAY=30s\n")
	wantCode(t, e.Run(svc, "start"), 0)
	_, wd := supervised(t, e, svc)
	first := ev.WaitFor(t, 10*time.Second, isStart)
	waitExit(t, first.Pid, 15*time.Second) // a quick death, respawned within RESPAWN_DELAY's backoff
	eventually(t, 15*time.Second, "list --json state respawning", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.State == "respawning", ent.State
	})
	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, wd, 10*time.Second)
	for _, got := range ev.Drain() {
		if got.Ev == "start" {
			t.Errorf("a daemon started after stop: %s", got.Raw)
		}
	}
	wantCode(t, e.Run(svc, "status"), 3)
	noProcs(t, e, "after stop")
}
