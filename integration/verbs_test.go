package integration_test

// The contract of the init-script verbs (svcwrap(8), "VERBS"), through the real binary, in script
// mode and in symlink mode. Assertions use exit codes and /proc; svcwrap's
// messages are not part of the contract except the "svcwrap: NAME:" prefix of
// errors on stderr.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// svc is the service name most tests define.
const svc = "tsvc"

// defMode is a way to define a service.
type defMode struct {
	name   string
	define func(e *Env, name, body string, extraEnv ...string) string
}

var defModes = []defMode{
	{"script", (*Env).Script},
	{"symlink", (*Env).Symlink},
}

// forEachMode runs f once per definition mode, as subtests with their own Env.
func forEachMode(t *testing.T, f func(t *testing.T, e *Env, m defMode)) {
	for _, m := range defModes {
		t.Run(m.name, func(t *testing.T) {
			f(t, newEnv(t), m)
		})
	}
}

// supervised checks the running service name from the kernel's point of view
// and returns the daemon's and the watchdog's pids: the pidfile names a live
// daemon, list --json agrees, and the daemon is the watchdog's child, leader
// of its own process group in the watchdog's session.
func supervised(t *testing.T, e *Env, name string) (pid, wd int) {
	t.Helper()
	pid = e.Pid(t, name)
	ent := e.Entry(t, name)
	if ent.State != "running" || ent.Pid != pid || ent.WatchdogPid <= 0 {
		t.Fatalf("list --json entry %+v; want state running, pid %d (pidfile), a watchdog_pid", ent, pid)
	}
	wd = ent.WatchdogPid
	ds, err := procStat(pid)
	if err != nil || ds.Dead() {
		t.Fatalf("daemon %d: %+v %v", pid, ds, err)
	}
	ws, err := procStat(wd)
	if err != nil || ws.Dead() {
		t.Fatalf("watchdog %d: %+v %v", wd, ws, err)
	}
	if ds.Ppid != wd {
		t.Errorf("daemon %d has ppid %d, want the watchdog %d", pid, ds.Ppid, wd)
	}
	if ds.Pgrp != pid {
		t.Errorf("daemon %d is in process group %d, want its own", pid, ds.Pgrp)
	}
	if ds.Session != ws.Session || ds.Session == pid {
		t.Errorf("daemon session %d, watchdog session %d: want the watchdog's, daemon not a session leader", ds.Session, ws.Session)
	}
	if ws.Session != wd {
		t.Errorf("watchdog %d is not a session leader (session %d)", wd, ws.Session)
	}
	if ws.TtyNr != 0 {
		t.Errorf("watchdog %d has a controlling tty (tty_nr %d)", wd, ws.TtyNr)
	}
	if exe := procExe(wd); exe != e.Svcwrap {
		t.Errorf("watchdog %d runs %q, want %s", wd, exe, e.Svcwrap)
	}
	return pid, wd
}

// hasErrLine reports whether some line of stderr starts with "svcwrap: NAME:".
func hasErrLine(stderr, name string) bool {
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "svcwrap: "+name+":") {
			return true
		}
	}
	return false
}

func noPidfile(t *testing.T, e *Env, name string) {
	t.Helper()
	if _, err := os.Stat(e.PidfilePath(name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pidfile %s: want it absent, got %v", e.PidfilePath(name), err)
	}
}

// noProcs fails if any process of this test (by SVCWRAP_TEST_ID) is alive.
func noProcs(t *testing.T, e *Env, when string) {
	t.Helper()
	if ps := e.Procs(); len(ps) > 0 {
		t.Errorf("%s: processes still alive: %+v", when, ps)
	}
}

func TestStartStopStatus(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon()) // no -report: tdaemon then holds only the fds it inherited
		wantCode(t, e.Run(svc, "status"), 3)

		// The CLI's stdout/stderr are files, and it inherits a pipe as fd 3
		// (as debconf does): neither may reach the watchdog or the daemon.
		cliOut, _ := os.Create(filepath.Join(e.Root, "cli.out"))
		cliErr, _ := os.Create(filepath.Join(e.Root, "cli.err"))
		defer cliOut.Close()
		defer cliErr.Close()
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		var pst syscall.Stat_t
		syscall.Fstat(int(pw.Fd()), &pst)
		pipeLink := fmt.Sprintf("pipe:[%d]", pst.Ino)
		r := e.ExecWith(ExecOpts{Stdout: cliOut, Stderr: cliErr, ExtraFiles: []*os.File{pw}}, e.InitScript(svc), "start")
		pw.Close()
		if r.Err != nil || r.Code != 0 {
			out, _ := os.ReadFile(cliOut.Name())
			errb, _ := os.ReadFile(cliErr.Name())
			t.Fatalf("start: %s\nstdout: %s\nstderr: %s", r, out, errb)
		}
		pr.SetReadDeadline(time.Now().Add(5 * time.Second))
		if n, err := pr.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("the CLI's inherited fd 3 (a pipe) is still open in a descendant after start returned (read %d, %v): debconf would hang", n, err)
		}

		pid, wd := supervised(t, e, svc)
		if exe := procExe(pid); exe != e.TDaemon {
			t.Errorf("daemon %d runs %q, want %s", pid, exe, e.TDaemon)
		}
		fds, err := procFds(pid)
		if err != nil {
			t.Fatal(err)
		}
		if len(fds) != 3 || fds[0] != "/dev/null" || fds[1] != e.LogPath(svc) || fds[2] != e.LogPath(svc) {
			t.Errorf("daemon fds: %s; want exactly 0->/dev/null 1,2->%s", fdList(fds), e.LogPath(svc))
		}
		wfds, err := procFds(wd)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("watchdog %d fds: %s", wd, fdList(wfds))
		if wfds[0] != "/dev/null" {
			t.Errorf("watchdog fd 0 is %q, want /dev/null", wfds[0])
		}
		for fd, target := range wfds {
			if target == cliOut.Name() || target == cliErr.Name() || target == pipeLink {
				t.Errorf("watchdog holds the CLI's %s as fd %d (fds: %s)", target, fd, fdList(wfds))
			}
		}
		ent := e.Entry(t, svc)
		started, err := time.Parse(time.RFC3339, ent.Started)
		if err != nil || time.Since(started) > time.Minute || time.Until(started) > time.Minute {
			t.Errorf("list --json started = %q (%v); want RFC 3339 close to now", ent.Started, err)
		}
		if ent.Respawns != 0 || ent.LastExit != "" {
			t.Errorf("fresh service: respawns %d, last_exit %q", ent.Respawns, ent.LastExit)
		}
		before, _ := procStat(pid)

		// start again: 0, same daemon.
		wantCode(t, e.Run(svc, "start"), 0)
		if again := e.Pid(t, svc); again != pid {
			t.Errorf("second start changed the pid %d -> %d", pid, again)
		}
		if after, _ := procStat(pid); after.StartTime != before.StartTime {
			t.Errorf("second start restarted the daemon (start time %d -> %d)", before.StartTime, after.StartTime)
		}
		wantCode(t, e.Run(svc, "status"), 0)
		wantCode(t, e.Admin("run", svc, "status"), 0)

		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid, 10*time.Second)
		waitExit(t, wd, 10*time.Second)
		noPidfile(t, e, svc)
		noProcs(t, e, "after stop")

		wantCode(t, e.Run(svc, "stop"), 0)
		wantCode(t, e.Run(svc, "status"), 3)
		if ent := e.Entry(t, svc); ent.State != "stopped" || ent.Pid != 0 {
			t.Errorf("after stop, list --json entry %+v; want state stopped, pid 0", ent)
		}
	})
}

func TestRestartAndTryRestart(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon())

		wantCode(t, e.Run(svc, "restart"), 0) // starts a stopped service
		pid1, _ := supervised(t, e, svc)

		wantCode(t, e.Run(svc, "restart"), 0)
		pid2, _ := supervised(t, e, svc)
		if pid2 == pid1 {
			t.Errorf("restart kept pid %d", pid1)
		}
		waitExit(t, pid1, 10*time.Second)

		wantCode(t, e.Run(svc, "try-restart"), 0)
		pid3, _ := supervised(t, e, svc)
		if pid3 == pid2 {
			t.Errorf("try-restart of a running service kept pid %d", pid2)
		}
		waitExit(t, pid2, 10*time.Second)

		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid3, 10*time.Second)
		for _, verb := range []string{"try-restart", "condrestart"} {
			wantCode(t, e.Run(svc, verb), 0)
			wantCode(t, e.Run(svc, "status"), 3)
			noPidfile(t, e, svc)
			noProcs(t, e, verb+" of a stopped service")
		}
	})
}

func TestReloadWithoutReloadSignal(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon())
		wantCode(t, e.Run(svc, "reload"), 3) // stopped
		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		wantCode(t, e.Run(svc, "reload"), 3) // running
		if !alive(pid) || e.Pid(t, svc) != pid {
			t.Errorf("reload without RELOAD_SIGNAL touched the daemon %d", pid)
		}
		// force-reload restarts when reload is not configured.
		wantCode(t, e.Run(svc, "force-reload"), 0)
		pid2, _ := supervised(t, e, svc)
		if pid2 == pid {
			t.Errorf("force-reload without RELOAD_SIGNAL did not restart (pid %d)", pid)
		}
	})
}

func TestUnknownVerbAndHelp(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon())
		wantCode(t, e.Run(svc, "frobnicate"), 3)
		r := e.Run(svc, "help")
		wantCode(t, r, 0)
		for _, verb := range []string{"start", "stop", "restart", "status", "reload"} {
			if !strings.Contains(r.Output(), verb) {
				t.Errorf("help does not mention %q:\n%s", verb, r)
			}
		}
		noProcs(t, e, "after help")
	})
}

func TestBadDefinitionUnknownKey(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		def := m.define(e, svc, e.Daemon()+"\nFROBNICATE=yes\n")
		b, _ := os.ReadFile(def)
		line := slices.IndexFunc(strings.Split(string(b), "\n"), func(l string) bool {
			return strings.HasPrefix(l, "FROBNICATE=")
		}) + 1
		where := fmt.Sprintf("%s:%d:", def, line)

		r := e.Run(svc, "start")
		wantCode(t, r, 6)
		if !hasErrLine(r.Stderr, svc) {
			t.Errorf("start: no stderr line starting with %q:\n%s", "svcwrap: "+svc+":", r)
		}
		noPidfile(t, e, svc)
		noProcs(t, e, "after a refused start")

		for _, arg := range []string{def, svc} {
			r := e.Admin("check", arg)
			wantCode(t, r, 6)
			if !strings.Contains(r.Output(), where) {
				t.Errorf("check %s: output lacks %q:\n%s", arg, where, r)
			}
		}

		good := m.define(e, "good", e.Daemon())
		wantCode(t, e.Admin("check", good), 0)
		wantCode(t, e.Admin("check", "good"), 0)
	})
}

func TestProgramNotInstalled(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		for name, daemon := range map[string]string{
			"abs":  `DAEMON="` + filepath.Join(e.Root, "nonexistent", "prog") + ` -x"`,
			"bare": `DAEMON="svcwrap-test-no-such-program -x"`,
		} {
			m.define(e, name, daemon)
			r := e.Run(name, "start")
			checkCode(t, r, 5)
			if !hasErrLine(r.Stderr, name) {
				t.Errorf("start: no stderr line starting with %q:\n%s", "svcwrap: "+name+":", r)
			}
			checkCode(t, e.Run(name, "status"), 3)
			noPidfile(t, e, name)
		}
		noProcs(t, e, "after starts of missing programs")
	})
}

func TestRespawnAfterKill(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		sock, ev := e.Reporter(t)
		m.define(e, svc, e.Daemon("-report", sock))
		wantCode(t, e.Run(svc, "start"), 0)
		pid1, wd := supervised(t, e, svc)
		st1 := ev.WaitFor(t, 10*time.Second, isStart)
		if st1.Pid != pid1 || st1.Ppid != wd {
			t.Fatalf("start event %s; want pid %d ppid %d", st1.Raw, pid1, wd)
		}

		syscall.Kill(pid1, syscall.SIGKILL)
		st2 := ev.WaitFor(t, 10*time.Second, func(e Event) bool { return e.Ev == "start" && e.Pid != pid1 })
		if st2.Ppid != wd || st2.Pgid != st2.Pid {
			t.Errorf("respawned daemon %s; want ppid %d (same watchdog), own process group", st2.Raw, wd)
		}
		waitExit(t, pid1, 5*time.Second)
		var ent ListEntry
		eventually(t, 10*time.Second, "list --json to show the respawned daemon", func() (bool, string) {
			var err error
			ent, err = e.EntryE(svc)
			return err == nil && ent.Pid == st2.Pid && ent.Respawns == 1, fmt.Sprintf("%+v %v", ent, err)
		})
		if ent.State != "running" || ent.WatchdogPid != wd || ent.LastExit != "signal KILL" {
			t.Errorf("after respawn: %+v; want running, watchdog_pid %d, last_exit %q", ent, wd, "signal KILL")
		}
		eventually(t, 10*time.Second, "the pidfile to name the respawned daemon", func() (bool, string) {
			pid, err := e.PidE(svc)
			return pid == st2.Pid, fmt.Sprint(pid, err)
		})
		if !alive(wd) {
			t.Errorf("watchdog %d died", wd)
		}
		wantCode(t, e.Run(svc, "status"), 0)
	})
}

func TestNoRespawnAfterStop(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		sock, ev := e.Reporter(t)
		m.define(e, svc, e.Daemon("-report", sock))
		wantCode(t, e.Run(svc, "start"), 0)
		pid, wd := supervised(t, e, svc)
		ev.WaitFor(t, 10*time.Second, isStart)

		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid, 10*time.Second)
		waitExit(t, wd, 10*time.Second) // nothing left that could respawn
		noProcs(t, e, "after stop")
		for _, got := range ev.Drain() {
			if got.Ev == "start" {
				t.Errorf("a daemon started after stop: %s", got.Raw)
			}
		}
		wantCode(t, e.Run(svc, "status"), 3)
	})
}

func TestDaemonEnvironment(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon(),
			`GREETING="hello world"`, `export EXPORTED=yes`, `REF="${GREETING}!"`)
		fromFiles := []string{"SVCWRAP_TEST_ID=" + e.TestID, "GREETING=hello world", "EXPORTED=yes", "REF=hello world!"}

		cases := []struct {
			name string
			cli  []string // the CLI's whole environment
			want []string // the daemon's whole environment
		}{{
			name: "caller_env",
			cli: append(e.SvcwrapEnv(), "PATH=/opt/bogus/bin:/usr/bin", "HOME=/root", "FOO=leak",
				"GREETING=from-caller", "TERM=dumb", "LANG=C.UTF-8", "LANGUAGE=en_US:en", "LC_TIME=C", "LC_ALL=C.UTF-8"),
			want: append([]string{"PATH=" + fixedPath, "LANG=C.UTF-8", "LANGUAGE=en_US:en", "LC_TIME=C", "LC_ALL=C.UTF-8"}, fromFiles...),
		}, {
			name: "env_-i",
			cli:  e.SvcwrapEnv(),
			want: append([]string{"PATH=" + fixedPath}, fromFiles...),
		}}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantCode(t, e.ExecWith(ExecOpts{Env: c.cli}, e.InitScript(svc), "start"), 0)
				pid, _ := supervised(t, e, svc)
				got, err := procEnviron(pid)
				if err != nil {
					t.Fatal(err)
				}
				sort.Strings(got)
				want := slices.Clone(c.want)
				sort.Strings(want)
				if !slices.Equal(got, want) {
					t.Errorf("daemon environment:\n got %q\nwant %q", got, want)
				}
				wantCode(t, e.ExecWith(ExecOpts{Env: c.cli}, e.InitScript(svc), "stop"), 0)
				waitExit(t, pid, 10*time.Second)
			})
		}
	})
}

func TestRcLink(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon())
		link := e.RcLink(svc, "S01")
		wantCode(t, e.Exec(link, "start"), 0)
		pid, _ := supervised(t, e, svc) // pidfile and list entry are tsvc's
		for _, ent := range e.List(t) {
			if ent.Name != svc {
				t.Errorf("unexpected service in list --json: %+v", ent)
			}
		}
		wantCode(t, e.Exec(link, "status"), 0)
		wantCode(t, e.Exec(link, "stop"), 0)
		waitExit(t, pid, 10*time.Second)
		wantCode(t, e.Run(svc, "status"), 3)
	})
}

// A pidfile naming a live process that is not our daemon (PID reuse) is
// stale: status says not running, and neither stop nor signal touches it.
func TestStalePidfileOfUnrelatedProcess(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		// A different executable (a copy of tdaemon), started by the test.
		other := filepath.Join(e.Root, "other", "sleeper")
		os.Mkdir(filepath.Dir(other), 0o755)
		b, err := os.ReadFile(e.TDaemon)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(other, b, 0o755); err != nil {
			t.Fatal(err)
		}
		sock, ev := e.Reporter(t)
		p := startProc(t, nil, other, "-report", sock)
		ev.WaitFor(t, 10*time.Second, isStart)
		noSignals := func(when string) {
			t.Helper()
			if !alive(p.Pid) {
				t.Fatalf("%s: the unrelated process %d died", when, p.Pid)
			}
			for _, got := range ev.Drain() {
				if got.Ev == "signal" {
					t.Errorf("%s: the unrelated process got a signal: %s", when, got.Raw)
				}
			}
		}

		m.define(e, svc, e.Daemon())
		e.writeFile(e.PidfilePath(svc), fmt.Sprintf("%d\n", p.Pid), 0o644)

		checkCode(t, e.Run(svc, "status"), 1, 3)
		checkCode(t, e.Run(svc, "signal", "HUP"), 7)
		checkCode(t, e.Run(svc, "stop"), 0)
		noSignals("after status, signal HUP and stop")

		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		if pid == p.Pid {
			t.Fatalf("start adopted the unrelated process %d", pid)
		}
		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid, 10*time.Second)
		noSignals("after start and stop")
	})
}

func TestStopKillsProcessGroup(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		sock, ev := e.Reporter(t)
		m.define(e, svc, e.Daemon("-report", sock, "-children", "2"))
		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		st := ev.WaitFor(t, 10*time.Second, isStart)
		if st.Pid != pid || len(st.Children) != 2 {
			t.Fatalf("start event %s; want pid %d with 2 children", st.Raw, pid)
		}
		for _, c := range st.Children {
			if cs, err := procStat(c); err != nil || cs.Pgrp != pid {
				t.Errorf("child %d: %+v %v; want process group %d", c, cs, err, pid)
			}
		}
		wantCode(t, e.Run(svc, "stop"), 0)
		for _, p := range append([]int{pid}, st.Children...) {
			waitExit(t, p, 10*time.Second)
		}
		noProcs(t, e, "after stop")
	})
}

func TestStopScheduleEscalatesToKill(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		sock, ev := e.Reporter(t)
		m.define(e, svc, e.Daemon("-report", sock, "-ignore", "TERM")+"\nSTOP_SCHEDULE=TERM/1/KILL/5\n")
		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		ev.WaitFor(t, 10*time.Second, isStart)

		r := e.Run(svc, "stop")
		wantCode(t, r, 0)
		if r.Dur < 900*time.Millisecond || r.Dur > 20*time.Second {
			t.Errorf("stop of a TERM-ignoring daemon took %v; want the 1 s TERM step, then KILL", r.Dur)
		}
		waitExit(t, pid, 5*time.Second)
		noPidfile(t, e, svc)
	})
}

func TestRespawnLimitGivesUp(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		sock, ev := e.Reporter(t)
		m.define(e, svc, e.Daemon("-report", sock, "-exit-after", "700ms", "-exit-code", "4")+
			"\nSTART_WAIT=200ms\nRESPAWN_DELAY=0\nRESPAWN_LIMIT=2/60s\n")
		wantCode(t, e.Run(svc, "start"), 0)

		seen := map[int]bool{}
		for i := 0; i < 3; i++ { // the first daemon and 2 respawns
			st := ev.WaitFor(t, 15*time.Second, func(e Event) bool { return e.Ev == "start" && !seen[e.Pid] })
			seen[st.Pid] = true
		}
		var ent ListEntry
		eventually(t, 30*time.Second, "list --json state failed", func() (bool, string) {
			var err error
			ent, err = e.EntryE(svc)
			return err == nil && ent.State == "failed", fmt.Sprintf("%+v %v", ent, err)
		})
		if ent.Respawns != 2 || ent.LastExit != "exit 4" {
			t.Errorf("failed entry %+v; want respawns 2, last_exit %q", ent, "exit 4")
		}
		wantCode(t, e.Run(svc, "status"), 1)
		for pid := range seen {
			waitExit(t, pid, 10*time.Second)
		}
		for _, got := range ev.Drain() {
			if got.Ev == "start" {
				t.Errorf("a daemon started after the give-up: %s", got.Raw)
			}
		}
	})
}

func TestConcurrentStart(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon())
		const n = 8
		results := make([]Result, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.Run(svc, "start")
			}()
		}
		wg.Wait()
		for _, r := range results {
			checkCode(t, r, 0)
		}
		pid, wd := supervised(t, e, svc)
		var daemons, watchdogs []ProcInfo
		for _, p := range e.Procs() {
			switch p.Exe {
			case e.TDaemon:
				daemons = append(daemons, p)
			case e.Svcwrap:
				watchdogs = append(watchdogs, p)
			default:
				t.Errorf("unexpected process %+v", p)
			}
		}
		if len(daemons) != 1 || daemons[0].Pid != pid || len(watchdogs) != 1 || watchdogs[0].Pid != wd {
			t.Errorf("after %d concurrent starts: daemons %+v, watchdogs %+v; want only %d and %d", n, daemons, watchdogs, pid, wd)
		}
		wantCode(t, e.Run(svc, "status"), 0)
	})
}

// `restart | head -0`: stdout is a pipe nobody reads; whatever happens to
// the CLI, the service ends up running, supervised, with one daemon.
func TestRestartWithClosedStdout(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon())
		wantCode(t, e.Run(svc, "start"), 0)
		pid1, _ := supervised(t, e, svc)

		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		pr.Close()
		r := e.ExecWith(ExecOpts{Stdout: pw}, e.InitScript(svc), "restart")
		pw.Close()
		t.Logf("restart with a closed stdout: %s", r)

		eventually(t, 20*time.Second, "the service to be running and supervised", func() (bool, string) {
			r := e.Run(svc, "status")
			ent, err := e.EntryE(svc)
			if err != nil || r.Code != 0 || ent.State != "running" || !alive(ent.Pid) {
				return false, fmt.Sprintf("status %d, entry %+v %v", r.Code, ent, err)
			}
			st, _ := procStat(ent.Pid)
			return st.Ppid == ent.WatchdogPid, fmt.Sprintf("entry %+v, daemon ppid %d", ent, st.Ppid)
		})
		pid, _ := supervised(t, e, svc)
		if pid != pid1 {
			waitExit(t, pid1, 10*time.Second)
		}
		var daemons []int
		for _, p := range e.Procs() {
			if p.Exe == e.TDaemon {
				daemons = append(daemons, p.Pid)
			}
		}
		if len(daemons) != 1 {
			t.Errorf("daemons alive: %v; want exactly %d", daemons, pid)
		}
	})
}
