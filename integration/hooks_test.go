package integration_test

// What Debian's init scripts do around their daemons, as keys: the hooks
// (PRE_START before every spawn, POST_START, PRE_STOP, STOP_COMMAND, POST_STOP
// after every end), best-effort limits, reload that notices the daemon died from
// it, and the messages (usage names the script as called, DESC from a header
// that says "starts ...", RELOAD_COMMAND's output after the status line).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hookLog is a file the hooks of a test append their names to.
func hookLog(e *Env) string { return filepath.Join(e.Root, "hooks.log") }

func hookLines(t *testing.T, e *Env) []string {
	t.Helper()
	b, err := os.ReadFile(hookLog(e))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

func hook(e *Env, key, word string) string {
	return fmt.Sprintf("%s=\"/bin/sh -c 'echo %s >> %s'\"\n", key, word, hookLog(e))
}

// TestHooksAroundEveryLife: PRE_START before every spawn, the respawn included;
// POST_STOP after every end, the crash included; PRE_STOP and STOP_COMMAND only
// when a running daemon is stopped, in that order, before STOP_SCHEDULE.
func TestHooksAroundEveryLife(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock)+"\nSTART_WAIT=0\nRESPAWN_DELAY=0\n"+
		hook(e, "PRE_START", "pre-start")+hook(e, "POST_START", "post-start")+hook(e, "PRE_STOP", "pre-stop")+
		hook(e, "STOP_COMMAND", "stop-command")+hook(e, "POST_STOP", "post-stop"), svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	first := ev.WaitFor(t, 10*time.Second, isStart)
	if got := strings.Join(hookLines(t, e), " "); got != "pre-start post-start" {
		t.Fatalf("after start: %q", got)
	}
	syscall.Kill(first.Pid, syscall.SIGKILL)
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != first.Pid })
	eventually(t, 10*time.Second, "POST_START after the respawn", func() (bool, string) {
		got := strings.Join(hookLines(t, e), " ")
		return got == "pre-start post-start post-stop pre-start post-start", got
	})
	wantCode(t, e.Run(svc, "stop"), 0)
	want := "pre-start post-start post-stop pre-start post-start pre-stop stop-command post-stop"
	if got := strings.Join(hookLines(t, e), " "); got != want {
		t.Errorf("hooks ran %q, want %q", got, want)
	}
	noProcs(t, e, "after stop")
}

// TestPreStartFailure: a PRE_START that fails fails the start with its output,
// and nothing runs.
func TestPreStartFailure(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nPRE_START=\"/bin/sh -c 'echo no host keys >&2; exit 3'\"\n", svcMarker(svc))
	r := e.Run(svc, "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "PRE_START /bin/sh: exit status 3") || !strings.Contains(r.Stderr, "no host keys") {
		t.Errorf("the failure should name PRE_START and show its output: %s", r)
	}
	noProcs(t, e, "after a failed PRE_START")
	wantCode(t, e.Run(svc, "status"), 3)
}

// TestStopCommandFirst: STOP_COMMAND runs before STOP_SCHEDULE; a daemon that it
// makes exit never sees the schedule's signal.
func TestStopCommandFirst(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	pidfile := e.PidfilePath(svc)
	e.Script(svc, e.Daemon("-report", sock, "-exit-on", "USR1", "-exit-code", "0")+"\nSTART_WAIT=0\n"+
		"STOP_COMMAND=\"/bin/sh -c 'kill -USR1 \\$(cat "+pidfile+")'\"\nSTOP_SCHEDULE=TERM/10/KILL/5\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	st := ev.WaitFor(t, 10*time.Second, isStart)
	r := e.Run(svc, "stop")
	wantCode(t, r, 0)
	waitExit(t, st.Pid, 10*time.Second)
	for _, got := range ev.Drain() {
		if got.Ev == "signal" && got.Sig != "USR1" {
			t.Errorf("the daemon got %s after STOP_COMMAND made it exit: %s", got.Sig, got.Raw)
		}
	}
	if r.Dur > 5*time.Second {
		t.Errorf("stop took %v: STOP_SCHEDULE waited for a daemon that had exited", r.Dur)
	}
}

// TestReloadThatKillsTheDaemon: a reload after which the daemon dies (a broken
// configuration) exits 1 and says so; the watchdog respawns it.
func TestReloadThatKillsTheDaemon(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-exit-on", "HUP", "-exit-code", "78", "-stderr", "bad pool definition")+
		"\nSTART_WAIT=0\nRELOAD_SIGNAL=HUP\nRESPAWN_DELAY=0\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	st := ev.WaitFor(t, 10*time.Second, isStart)
	r := e.Run(svc, "reload")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, fmt.Sprintf("the daemon (pid %d) died from the reload", st.Pid)) {
		t.Errorf("reload should say the daemon died: %s", r)
	}
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != st.Pid })
	eventually(t, 10*time.Second, "status running after the respawn", func() (bool, string) {
		r := e.Run(svc, "status")
		return r.Code == 0, r.Stdout
	})

	// A daemon that survives: reload exits 0. START_WAIT=0 and no READY: start
	// returns before tdaemon catches HUP, which would kill it; its start report
	// comes once it does.
	e.Script("calm", e.Daemon("-report", sock)+"\nSTART_WAIT=0\nRELOAD_SIGNAL=HUP\n", svcMarker("calm"))
	wantCode(t, e.Run("calm", "start"), 0)
	calm := e.Pid(t, "calm")
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid == calm })
	wantCode(t, e.Run("calm", "reload"), 0)
	if !alive(calm) {
		t.Errorf("the calm daemon (pid %d) died from the reload", calm)
	}
}

// TestReloadCommandOutput: RELOAD_COMMAND's output comes on its own lines after
// the status line.
func TestReloadCommandOutput(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=0\nRELOAD_COMMAND=\"/bin/echo server reloaded\"\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	r := e.Run(svc, "reload")
	wantCode(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "Reloading ") || !strings.HasSuffix(lines[0], svc+".") || lines[1] != "server reloaded" {
		t.Errorf("reload output %q: want the status line, then the command's output", r.Stdout)
	}
}

// TestMessages: usage names the script as it was called; a Short-Description that
// says "starts ..." does not read "Starting starts ...".
func TestMessages(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=0\n", svcMarker(svc))
	if r := e.Run(svc, "help"); !strings.HasPrefix(r.Stdout, "Usage: "+e.InitScript(svc)+" {start|") {
		t.Errorf("help: %q", r.Stdout)
	}
	if r := e.Admin("run", svc, "help"); !strings.HasPrefix(r.Stdout, "Usage: svcwrap run "+svc+" {start|") {
		t.Errorf("svcwrap run help: %q", r.Stdout)
	}
	e.Symlink("linked", e.Daemon()+"\n", svcMarker("linked"))
	if r := e.Run("linked", "help"); !strings.HasPrefix(r.Stdout, "Usage: "+e.InitScript("linked")+" {start|") {
		t.Errorf("symlink mode help: %q", r.Stdout)
	}

	path := e.InitScript("webby")
	header := strings.Replace(lsbHeader("webby"), "svcwrap test service webby", "starts the webby web server", 1)
	e.writeFile(path, "#!"+e.Svcwrap+"\n"+header+e.Daemon()+"\nSTART_WAIT=0\n", 0o755)
	e.WriteEnvFile("webby", svcMarker("webby"))
	e.addService("webby")
	r := e.Run("webby", "start")
	wantCode(t, r, 0)
	if strings.TrimSpace(r.Stdout) != "Starting the webby web server: webby." {
		t.Errorf("start said %q", r.Stdout)
	}
}

// TestStatusRespawningWhileGroupStopped: a dead daemon's group that ignores TERM
// is being stopped before the respawn: status says respawning (exit 1), never
// dead or stopped, and then running with a new daemon.
func TestStatusRespawningWhileGroupStopped(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-children", "1", "-ignore", "TERM")+"\nSTART_WAIT=0\nSTOP_SCHEDULE=TERM/2/KILL/5\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	st := ev.WaitFor(t, 10*time.Second, isStart)
	syscall.Kill(st.Pid, syscall.SIGKILL)
	waitExit(t, st.Pid, 10*time.Second)
	sawRespawning := false
	eventually(t, 30*time.Second, "a respawned daemon", func() (bool, string) {
		r := e.Run(svc, "status")
		switch {
		case r.Code == 1 && strings.Contains(r.Stdout, "respawning"):
			sawRespawning = true
			return false, r.Stdout
		case r.Code == 0 && strings.Contains(r.Stdout, "running (pid "):
			return !strings.Contains(r.Stdout, fmt.Sprintf("pid %d,", st.Pid)), r.Stdout
		}
		t.Fatalf("status while the dead daemon's group is stopped: %s", r)
		return false, ""
	})
	if !sawRespawning {
		t.Errorf("status never said respawning while the group (TERM ignored, 2 s) was stopped")
	}
	for _, c := range st.Children {
		waitExit(t, c, 10*time.Second)
	}
}

// TestBestEffortLimit: a limit above the hard limit, which CAP_SYS_RESOURCE
// alone may raise, starts lowered to it when it ends with "?", and fails the
// start with what the host allows otherwise.
func TestBestEffortLimit(t *testing.T) {
	requireRoot(t, "drops CAP_SYS_RESOURCE with setpriv, which only root can run with a smaller bounding set")
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skipf("setpriv not found (util-linux): %v", err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	over := strconv.FormatUint(lim.Max+1000, 10)
	e := newEnv(t)
	run := func(name, verb string) Result {
		return e.ExecWith(ExecOpts{}, setpriv, "--bounding-set=-sys_resource", "--", e.InitScript(name), verb)
	}
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=0\nLIMIT_NOFILE="+over+"?\n", svcMarker(svc))
	wantCode(t, run(svc, "start"), 0)
	pid := e.Pid(t, svc)
	limits, _ := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	want := fmt.Sprintf("Max open files            %-21d%-21d", lim.Max, lim.Max)
	if !strings.Contains(string(limits), want) {
		t.Errorf("/proc/%d/limits does not show %q:\n%s", pid, want, limits)
	}
	if b, _ := os.ReadFile(e.LogPath(svc)); !strings.Contains(string(b), "LIMIT_NOFILE: "+over+" is above this host's hard limit; lowered to "+strconv.FormatUint(lim.Max, 10)+" (best effort)") {
		t.Errorf("no warning in the log:\n%s", b)
	}

	e.Script("strict", e.Daemon()+"\nSTART_WAIT=0\nLIMIT_NOFILE="+over+"\n", svcMarker("strict"))
	r := run("strict", "start")
	wantCode(t, r, 4)
	if !strings.Contains(r.Stderr, "hard limit "+strconv.FormatUint(lim.Max, 10)) || !strings.Contains(r.Stderr, "CAP_SYS_RESOURCE") {
		t.Errorf("the failure should name the hard limit and the capability: %s", r)
	}
}

// TestForkedPidfileInDirs: a FORKS=yes daemon running as its own user writes
// its own pidfile in the directory DIRS made for it (Debian's layout:
// /run/NAME owned by NAME). svcwrap trusts that file, for that daemon only:
// start, status and stop work on the forked daemon.
func TestForkedPidfileInDirs(t *testing.T) {
	requireRoot(t, "the daemon runs as nobody in a directory given to nobody")
	e := newEnv(t)
	dir := filepath.Join(e.Root, "run", "fk")
	pf := filepath.Join(dir, "fk.pid")
	e.Script(svc, e.Daemon("-fork", "-pidfile", pf)+"\nUSER=nobody\nFORKS=yes\nPIDFILE="+pf+
		"\nDIRS=\""+dir+":0755:nobody:nogroup\"\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid := pidFromFile(t, pf)
	if exe := procExe(pid); exe != e.TDaemon {
		t.Fatalf("pidfile names %d, which runs %s", pid, exe)
	}
	if r := e.Run(svc, "status"); r.Code != 0 || !strings.Contains(r.Stdout, "running (pid "+strconv.Itoa(pid)) {
		t.Errorf("status: %s", r)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, pid, 10*time.Second)
	noProcs(t, e, "after stop")
}
