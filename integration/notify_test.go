package integration_test

// Readiness the daemon announces: READY=notify (sd_notify(3) datagrams on
// NOTIFY_SOCKET) and READY=fd:N (s6's notification fd), at start, after every
// respawn and after a reload; WATCHDOG_SEC keepalives; and what a foreign or
// flooding sender cannot do.

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notified reports whether a "notified" report of pid is queued now: the daemon
// sends it just before READY=1, so it is there once start has returned.
func notifiedBefore(t *testing.T, ev *Events, pid int) {
	t.Helper()
	for _, e := range ev.Drain() {
		if e.Ev == "notified" && (pid == 0 || e.Pid == pid) {
			return
		}
	}
	t.Errorf("start returned before the daemon (pid %d) sent READY=1", pid)
}

func notifySocket(e *Env, name string) string { return filepath.Join(e.RunDir, name+".notify") }

func TestNotifyStart(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-notify-after", "400ms", "-notify-status", "serving")+
		"\nREADY=notify\nSTART_WAIT=0\nRESPAWN_DELAY=0\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	notifiedBefore(t, ev, pid)
	if env := envOf(t, pid); env["NOTIFY_SOCKET"] != notifySocket(e, svc) {
		t.Errorf("NOTIFY_SOCKET %q, want %s", env["NOTIFY_SOCKET"], notifySocket(e, svc))
	}
	if r := e.Run(svc, "status"); r.Code != 0 || !strings.Contains(r.Stdout, `"serving"`) {
		t.Errorf("status shows the daemon's STATUS=: %s", r)
	}
	if ent := e.Entry(t, svc); ent.StatusText != "serving" {
		t.Errorf("list --json status_text %q", ent.StatusText)
	}

	// After a respawn: starting until READY=1 again.
	syscall.Kill(pid, syscall.SIGKILL)
	next := ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
	if r := e.Run(svc, "status"); r.Code != 0 || !strings.HasPrefix(strings.TrimPrefix(r.Stdout, svc+": "), "starting") {
		t.Logf("status right after the respawn (READY=1 may already have come): %s", r)
	}
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "notified" && x.Pid == next.Pid })
	eventually(t, 10*time.Second, "running after READY=1 of the respawned daemon", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.State == "running" && ent.Pid == next.Pid, ent.State
	})
	wantCode(t, e.Run(svc, "stop"), 0)
	if _, err := os.Lstat(notifySocket(e, svc)); !os.IsNotExist(err) {
		t.Errorf("the notify socket is left after stop: %v", err)
	}
	noProcs(t, e, "after stop")
}

// A daemon that never says READY=1 fails start at START_TIMEOUT; one that exits
// first fails it at once, with its last words.
func TestNotifyStartFails(t *testing.T) {
	e := newEnv(t)
	e.Script("never", e.Daemon()+"\nREADY=notify\nSTART_WAIT=0\nSTART_TIMEOUT=1s\n", svcMarker("never"))
	r := e.Run("never", "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "no READY=1 from the daemon") {
		t.Errorf("start of a daemon that never notifies: %s", r)
	}
	e.Script("dies", e.Daemon("-stderr", "cannot-bind-port", "-exit-after", "100ms", "-notify-after", "1h")+
		"\nREADY=notify\nSTART_WAIT=0\nSTART_TIMEOUT=1h\n", svcMarker("dies"))
	r = e.ExecWith(ExecOpts{Timeout: 20 * time.Second}, e.InitScript("dies"), "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "exited during start") || !strings.Contains(r.Stderr, "cannot-bind-port") {
		t.Errorf("start of a daemon that dies before READY=1: %s", r)
	}
	noProcs(t, e, "after failed starts")
}

// Only the daemon's word counts: a foreign READY=1, a flood, 64 KiB of garbage
// and MAINPID=1 are ignored (logged once each), and start still waits for the
// daemon.
func TestNotifyForeignAndFlood(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-notify-after", "1500ms")+"\nREADY=notify\nSTART_WAIT=0\n", svcMarker(svc))
	done := make(chan Result, 1)
	go func() { done <- e.Run(svc, "start") }()
	path := notifySocket(e, svc)
	eventually(t, 10*time.Second, "the notify socket", func() (bool, string) {
		_, err := os.Stat(path)
		return err == nil, "missing"
	})
	c, err := net.Dial("unixgram", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msgs := [][]byte{[]byte("READY=1"), []byte("MAINPID=1\nREADY=1"), bytes.Repeat([]byte("x"), 64<<10)}
	for i := 0; i < 10000; i++ {
		c.Write(msgs[i%2])
	}
	c.Write(msgs[2])
	r := <-done
	wantCode(t, r, 0)
	pid, wd := supervised(t, e, svc)
	notifiedBefore(t, ev, pid)
	log, _ := os.ReadFile(e.LogPath(svc))
	if n := strings.Count(string(log), "which is not the daemon"); n != 1 {
		t.Errorf("foreign notifications logged %d times, want once:\n%s", n, log)
	}
	if rss := procRSSKiB(t, wd); rss > 32<<10 {
		t.Errorf("the watchdog holds %d KiB after the flood", rss)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	noProcs(t, e, "after stop")
}

// reload with READY=notify returns once the daemon confirms (RELOADING=1, then
// READY=1), and fails when it never does.
func TestNotifyReload(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-notify-after", "0s", "-notify-reload", "700ms")+
		"\nREADY=notify\nSTART_WAIT=0\nRELOAD_SIGNAL=HUP\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	ev.Drain()
	wantCode(t, e.Run(svc, "reload"), 0)
	found := false
	for _, x := range ev.Drain() {
		found = found || x.Ev == "reloaded" && x.Pid == pid
	}
	if !found {
		t.Error("reload returned before the daemon confirmed it")
	}
	if r := e.Run(svc, "status"); !strings.Contains(r.Stdout, `"reloaded"`) {
		t.Errorf("status after the reload: %s", r)
	}
	e.Script("mute", e.Daemon("-notify-after", "0s")+"\nREADY=notify\nSTART_WAIT=0\nSTART_TIMEOUT=1s\nRELOAD_SIGNAL=HUP\n", svcMarker("mute"))
	wantCode(t, e.Run("mute", "start"), 0)
	r := e.Run("mute", "reload")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "did not confirm the reload with READY=1") {
		t.Errorf("reload of a daemon that never confirms: %s", r)
	}
	wantCode(t, e.Run("mute", "stop"), 0)
	wantCode(t, e.Run(svc, "stop"), 0)
}

// A READY=1 that comes before reload sends its signal is no answer to it:
// php-fpm repeats READY=1 with its STATUS= heartbeat, and here one comes
// while the GUARD runs (the GUARD makes the daemon send it, and waits until
// the watchdog has counted it).
func TestNotifyReloadAfterGuard(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	guard := filepath.Join(e.Root, "heartbeat")
	e.writeFile(guard, "#!/bin/sh\n"+
		"pid=$(cat "+e.PidfilePath(svc)+" 2>/dev/null) || exit 0 # start: nothing runs yet\n"+
		"kill -USR1 \"$pid\"\n"+
		"n=0\n"+
		"until grep -q '\"readies\":2' "+filepath.Join(e.RunDir, svc+".state")+"; do\n"+
		"  n=$((n+1)); [ $n -lt 400 ] || exit 1; sleep 0.05\n"+
		"done\n", 0o755)
	e.Script(svc, e.Daemon("-report", sock, "-notify-after", "0s", "-notify-reload", "700ms", "-notify-on", "USR1")+
		"\nREADY=notify\nSTART_WAIT=0\nRELOAD_SIGNAL=HUP\nCOMMAND_heartbeat="+guard+"\nGUARD=heartbeat\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	ev.Drain()
	wantCode(t, e.Run(svc, "reload"), 0)
	var got []string
	for _, x := range ev.Drain() {
		if x.Pid == pid {
			got = append(got, x.Ev+" "+x.Sig)
		}
	}
	if !slices.Contains(got, "reloaded ") {
		t.Errorf("reload returned before the daemon confirmed it (the GUARD's heartbeat READY=1 counted); the daemon reported %q", got)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
}

// WATCHDOG_SEC: a daemon that stops sending WATCHDOG=1 is restarted, reason
// "watchdog timeout".
func TestNotifyWatchdogSec(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-notify-after", "0s", "-keepalive-for", "1s")+
		"\nREADY=notify\nSTART_WAIT=0\nWATCHDOG_SEC=500ms\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	if env := envOf(t, pid); env["WATCHDOG_USEC"] != "500000" {
		t.Errorf("WATCHDOG_USEC %q", env["WATCHDOG_USEC"])
	}
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "keepalive-stopped" && x.Pid == pid })
	waitExit(t, pid, 10*time.Second)
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
	eventually(t, 10*time.Second, "a health restart for the watchdog timeout", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && strings.HasPrefix(ent.LastRestart, "watchdog timeout"), ent.LastRestart
	})
	wantCode(t, e.Run(svc, "stop"), 0)
	noProcs(t, e, "after stop")
}

// READY=fd:N: a newline on fd N is ready; the fd closed first fails start at
// once.
func TestNotifyFd(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-notify-fd", "5", "-notify-after", "300ms")+"\nREADY=fd:5\nSTART_WAIT=0\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	notifiedBefore(t, ev, pid)
	wantCode(t, e.Run(svc, "stop"), 0)
	e.Script("closer", "DAEMON=\"/bin/sh -c 'exec 4>&-; exec /bin/sleep 1000'\"\nREADY=fd:4\nSTART_WAIT=0\nSTART_TIMEOUT=1h\n", svcMarker("closer"))
	r := e.ExecWith(ExecOpts{Timeout: 20 * time.Second}, e.InitScript("closer"), "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "closed its notification fd 4 before it was ready") {
		t.Errorf("a daemon that closes its notification fd: %s", r)
	}
	noProcs(t, e, "after stop")
}

// envOf is the initial environment of pid, as a map.
func envOf(t *testing.T, pid int) map[string]string {
	t.Helper()
	env, err := procEnviron(pid)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// procRSSKiB is VmRSS of pid.
func procRSSKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}
