package integration_test

// Adoption: a daemon whose watchdog died keeps running, is reported
// `unsupervised`, and the next start adopts it (a new watchdog watches the
// same PID through a pidfd); nothing is ever started twice. Also a RUNDIR that
// vanished under a running service, and FORKS=yes daemons.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killWatchdog SIGKILLs the service's watchdog and waits until it is gone.
func killWatchdog(t *testing.T, e *Env, wd int) {
	t.Helper()
	if err := syscall.Kill(wd, syscall.SIGKILL); err != nil {
		t.Fatalf("kill watchdog %d: %v", wd, err)
	}
	waitExit(t, wd, 10*time.Second)
}

// wantUnsupervised checks status and list for a daemon pid without a watchdog.
func wantUnsupervised(t *testing.T, e *Env, name string, pid int) {
	t.Helper()
	r := e.Run(name, "status")
	checkCode(t, r, 0)
	if !strings.Contains(r.Stdout, "unsupervised") {
		t.Errorf("status of a daemon without watchdog: %q; want it to say unsupervised", r.Stdout)
	}
	ent := e.Entry(t, name)
	if ent.State != "unsupervised" || ent.Pid != pid || ent.WatchdogPid != 0 {
		t.Errorf("list --json %+v; want unsupervised, pid %d, no watchdog_pid", ent, pid)
	}
}

// noNewStart fails if a daemon other than those in pids started.
func noNewStart(t *testing.T, ev *Events, pids ...int) {
	t.Helper()
	for _, got := range ev.Drain() {
		if got.Ev == "start" && !containsInt(pids, got.Pid) {
			t.Errorf("a daemon was started again: %s", got.Raw)
		}
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestAdoptAfterWatchdogKill(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		sock, ev := e.Reporter(t)
		m.define(e, svc, e.Daemon("-report", sock), svcMarker(svc))
		wantCode(t, e.Run(svc, "start"), 0)
		pid, wd := supervised(t, e, svc)
		ev.WaitFor(t, 10*time.Second, isStart)

		killWatchdog(t, e, wd)
		if !alive(pid) {
			t.Fatalf("the daemon %d died with its watchdog", pid)
		}
		wantUnsupervised(t, e, svc, pid)

		// start adopts: same daemon, new watchdog holding a pidfd on it.
		wantCode(t, e.Run(svc, "start"), 0)
		ent := e.Entry(t, svc)
		if ent.State != "running" || ent.Pid != pid || ent.WatchdogPid == 0 || ent.WatchdogPid == wd {
			t.Fatalf("after adoption: %+v; want running, pid %d, a new watchdog", ent, pid)
		}
		wd2 := ent.WatchdogPid
		if fds, _ := procFds(wd2); !strings.Contains(fdList(fds), "anon_inode:[pidfd]") {
			t.Errorf("adopting watchdog %d holds no pidfd: %s", wd2, fdList(fds))
		}
		noNewStart(t, ev, pid)
		e.checkInvariants(t, svc, "running", "after adoption")
		// A second start changes nothing.
		wantCode(t, e.Run(svc, "start"), 0)
		if got := e.Entry(t, svc); got.WatchdogPid != wd2 || got.Pid != pid {
			t.Errorf("second start changed %+v", got)
		}

		// The adopted daemon dies: the new watchdog respawns it as its child.
		syscall.Kill(pid, syscall.SIGKILL)
		st := ev.WaitFor(t, 15*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
		if st.Ppid != wd2 {
			t.Errorf("respawned daemon %s; want ppid %d (the adopting watchdog)", st.Raw, wd2)
		}
		eventually(t, 10*time.Second, "list to show the respawned daemon", func() (bool, string) {
			ent, err := e.EntryE(svc)
			return err == nil && ent.Pid == st.Pid && ent.State == "running", fmt.Sprintf("%+v %v", ent, err)
		})
		e.checkInvariants(t, svc, "running", "after respawn of the adopted daemon")

		// stop of an unsupervised daemon.
		killWatchdog(t, e, wd2)
		wantUnsupervised(t, e, svc, st.Pid)
		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, st.Pid, 10*time.Second)
		e.checkInvariants(t, svc, "stopped", "after stop of an unsupervised daemon")
		wantCode(t, e.Run(svc, "status"), 3)

		// restart of an unsupervised daemon: a new supervised daemon, the old gone.
		wantCode(t, e.Run(svc, "start"), 0)
		pid3, wd3 := supervised(t, e, svc)
		killWatchdog(t, e, wd3)
		wantCode(t, e.Run(svc, "restart"), 0)
		waitExit(t, pid3, 10*time.Second)
		pid4, _ := supervised(t, e, svc)
		if pid4 == pid3 {
			t.Errorf("restart kept the old daemon %d", pid3)
		}
		e.checkInvariants(t, svc, "running", "after restart of an unsupervised daemon")
	})
}

// RUNDIR vanishes (rm -rf, or a tmpfs /run remounted) while a service runs:
// with the watchdog alive, nothing is started twice and start/SIGHUP rebuild
// the state; with the watchdog dead, the daemon is found through its pidfile
// and adopted.
func TestRunDirVanished(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock), svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, wd := supervised(t, e, svc)
	ev.WaitFor(t, 10*time.Second, isStart)

	// Watchdog alive.
	if err := os.RemoveAll(e.RunDir); err != nil {
		t.Fatal(err)
	}
	r := e.Run(svc, "status")
	checkCode(t, r, 0)
	if ent := e.Entry(t, svc); ent.Pid != pid || ent.WatchdogPid != wd || ent.State != "running" {
		t.Errorf("status without RUNDIR: %+v; want running, pid %d, watchdog %d", ent, pid, wd)
	}
	wantCode(t, e.Run(svc, "start"), 0)
	if _, err := os.Stat(filepath.Join(e.RunDir, svc+".state")); err != nil {
		t.Errorf("start did not have the watchdog rewrite its state: %v", err)
	}
	noNewStart(t, ev, pid)
	e.checkInvariants(t, svc, "running", "after start with RUNDIR removed")
	// The watchdog still respawns, once.
	syscall.Kill(pid, syscall.SIGKILL)
	st := ev.WaitFor(t, 15*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
	if st.Ppid != wd {
		t.Errorf("respawn %s; want ppid %d", st.Raw, wd)
	}
	eventually(t, 10*time.Second, "the respawned daemon in list", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.Pid == st.Pid, fmt.Sprintf("%+v %v", ent, err)
	})
	e.checkInvariants(t, svc, "running", "after respawn")

	// RUNDIR removed again and stop: the watchdog is found and stopped first, so
	// nothing respawns.
	os.RemoveAll(e.RunDir)
	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, st.Pid, 10*time.Second)
	waitExit(t, wd, 10*time.Second)
	e.checkInvariants(t, svc, "stopped", "after stop with RUNDIR removed")
	noNewStart(t, ev)

	// Watchdog dead and RUNDIR gone: adopted through the pidfile.
	wantCode(t, e.Run(svc, "start"), 0)
	pid, wd = supervised(t, e, svc)
	ev.WaitFor(t, 10*time.Second, isStart)
	killWatchdog(t, e, wd)
	os.RemoveAll(e.RunDir)
	wantUnsupervised(t, e, svc, pid)
	wantCode(t, e.Run(svc, "start"), 0)
	ent := e.Entry(t, svc)
	if ent.Pid != pid || ent.WatchdogPid == 0 || ent.State != "running" {
		t.Fatalf("after adoption through the pidfile: %+v; want running pid %d with a watchdog", ent, pid)
	}
	noNewStart(t, ev, pid)
	e.checkInvariants(t, svc, "running", "after adoption through the pidfile")
}

func TestForksYes(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	pidfile := e.PidfilePath(svc)
	e.Script(svc, e.Daemon("-fork", "-pidfile", pidfile, "-report", sock)+
		"\nFORKS=yes\nPIDFILE="+pidfile+"\nSTART_WAIT=100ms\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	st := ev.WaitFor(t, 10*time.Second, isStart)
	pid := e.Pid(t, svc)
	ent := e.Entry(t, svc)
	if st.Pid != pid || ent.Pid != pid || ent.State != "running" || ent.WatchdogPid == 0 {
		t.Fatalf("FORKS=yes start: event %s, pidfile %d, list %+v; want one running daemon", st.Raw, pid, ent)
	}
	if st.Sid != pid {
		t.Errorf("the forked daemon %s is not the session leader it made itself", st.Raw)
	}
	e.checkInvariants(t, svc, "running", "after FORKS=yes start")

	syscall.Kill(pid, syscall.SIGKILL)
	st2 := ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
	eventually(t, 20*time.Second, "the respawned forking daemon in list and pidfile", func() (bool, string) {
		ent, err := e.EntryE(svc)
		p, _ := e.PidE(svc)
		return err == nil && ent.Pid == st2.Pid && p == st2.Pid && ent.State == "running" && ent.Respawns == 1,
			fmt.Sprintf("%+v pidfile %d %v", ent, p, err)
	})
	if e.Entry(t, svc).WatchdogPid != ent.WatchdogPid {
		t.Errorf("the watchdog changed across a respawn")
	}
	e.checkInvariants(t, svc, "running", "after the forking daemon was respawned")

	// Its watchdog killed: unsupervised; start adopts it; a death is respawned by
	// running DAEMON again.
	killWatchdog(t, e, ent.WatchdogPid)
	wantUnsupervised(t, e, svc, st2.Pid)
	wantCode(t, e.Run(svc, "start"), 0)
	if got := e.Entry(t, svc); got.Pid != st2.Pid || got.WatchdogPid == 0 || got.State != "running" {
		t.Fatalf("after adopting the forking daemon: %+v", got)
	}
	noNewStart(t, ev, st2.Pid)
	killPid(t, st2.Pid)
	st3 := ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != st2.Pid })
	eventually(t, 20*time.Second, "the adopted forking daemon to be respawned", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.Pid == st3.Pid && ent.State == "running", fmt.Sprintf("%+v %v", ent, err)
	})
	e.checkInvariants(t, svc, "running", "after the adopted forking daemon was respawned")

	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, st3.Pid, 10*time.Second)
	e.checkInvariants(t, svc, "stopped", "after stop")
	wantCode(t, e.Run(svc, "status"), 3)
}

// waitRespawnedServing waits (bounded) until svc runs a daemon other than old and
// 127.0.0.1:port accepts again; it returns the new daemon's PID.
func waitRespawnedServing(t *testing.T, e *Env, old, port int, what string) int {
	t.Helper()
	var pid int
	eventually(t, 30*time.Second, what+" to be respawned", func() (bool, string) {
		ent, err := e.EntryE(svc)
		pid = ent.Pid
		return err == nil && ent.Pid != 0 && ent.Pid != old && ent.State == "running", fmt.Sprintf("%+v %v", ent, err)
	})
	eventually(t, 20*time.Second, "the respawned "+what+" to accept", func() (bool, string) {
		err := dialOnce("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		return err == nil, fmt.Sprint(err)
	})
	return pid
}

// A real self-daemonizing program from Debian: memcached -d.
func TestForksYesMemcached(t *testing.T) {
	requireRoot(t, "memcached -u root needs root")
	bin, err := exec.LookPath("memcached")
	if err != nil {
		t.Skip("memcached is not installed (scripts/install-test-deps.sh installs it)")
	}
	e := newEnv(t)
	port := freePort(t)
	pidfile := e.PidfilePath(svc)
	e.Script(svc, fmt.Sprintf("DAEMON=\"%s -d -P %s -p %d -U 0 -l 127.0.0.1 -u root\"\nFORKS=yes\nPIDFILE=%s\nREADY=\"tcp 127.0.0.1:%d\"\nSTART_WAIT=100ms\n",
		bin, pidfile, port, pidfile, port), svcMarker(svc))
	r := e.Run(svc, "start")
	wantCode(t, r, 0)
	dial := func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatalf("memcached does not accept when start returned: %v", err)
	}
	pid := e.Pid(t, svc)
	if exe := procExe(pid); exe != bin {
		t.Fatalf("pidfile names %d running %q, want %s", pid, exe, bin)
	}
	e.checkInvariants(t, svc, "running", "after start")

	syscall.Kill(pid, syscall.SIGKILL)
	waitExit(t, pid, 10*time.Second)
	pid2 := waitRespawnedServing(t, e, pid, port, "memcached")
	e.checkInvariants(t, svc, "running", "after respawn")

	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, pid2, 10*time.Second)
	e.checkInvariants(t, svc, "stopped", "after stop")
}

// A FORKS=yes DAEMON that never writes PIDFILE: start fails once START_TIMEOUT
// passes, with the reason, and the daemon it left running is stopped.
func TestForksYesPidfileNeverWritten(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	other := filepath.Join(e.Root, "elsewhere.pid")
	e.Script(svc, e.Daemon("-fork", "-pidfile", other, "-report", sock)+
		"\nFORKS=yes\nPIDFILE="+e.PidfilePath(svc)+"\nSTART_TIMEOUT=2s\nSTART_WAIT=100ms\n", svcMarker(svc))
	r := e.Run(svc, "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "PIDFILE") {
		t.Errorf("start failure does not name PIDFILE: %s", r)
	}
	st := ev.WaitFor(t, 10*time.Second, isStart)
	waitExit(t, st.Pid, 10*time.Second)
	e.checkInvariants(t, svc, "stopped", "after the failed start")
	checkCode(t, e.Run(svc, "status"), 3)
}

// A real self-daemonizing program from Debian with worker processes: nginx
// with `daemon on`. svcwrap watches the master (PIDFILE); stop takes down its
// whole process group.
func TestForksYesNginx(t *testing.T) {
	requireRoot(t, "nginx's master runs as root and its workers as nobody")
	bin, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed (scripts/install-test-deps.sh installs nginx-light)")
	}
	e := newEnv(t)
	port := freePort(t)
	pidfile := e.PidfilePath(svc)
	dir := filepath.Join(e.Root, "nginx")
	os.MkdirAll(dir, 0o755)
	conf := filepath.Join(dir, "nginx.conf")
	e.writeFile(conf, fmt.Sprintf(`daemon on;
pid %[1]s;
error_log %[2]s/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    server { listen 127.0.0.1:%[3]d; location / { return 200 "ok\n"; } }
}
`, pidfile, dir, port), 0o644)
	e.Script(svc, fmt.Sprintf("DAEMON=\"%s -c %s -p %s/ -e %s/error.log\"\nFORKS=yes\nPIDFILE=%s\nREADY=\"http http://127.0.0.1:%d/\"\nSTART_WAIT=100ms\n",
		bin, conf, dir, dir, pidfile, port), svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	if err := dialOnce("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Fatalf("nginx does not accept when start returned: %v", err)
	}
	master := e.Pid(t, svc)
	if ent := e.Entry(t, svc); ent.Pid != master || ent.State != "running" || ent.WatchdogPid == 0 {
		t.Fatalf("list %+v; want running with pid %d (the master)", ent, master)
	}
	// nginx overwrites its environment with its process title, so its processes
	// are found by the session its master made (setsid).
	session := func(sid int) []int {
		var out []int
		for _, pid := range allPids() {
			if st, err := procStat(pid); err == nil && !st.Dead() && st.Session == sid {
				out = append(out, pid)
			}
		}
		return out
	}
	if len(session(master)) < 2 {
		t.Errorf("nginx master %d has no worker in its session: %v", master, session(master))
	}

	killPid(t, master) // the workers notice and exit; svcwrap runs DAEMON again
	master2 := waitRespawnedServing(t, e, master, port, "nginx")
	if left := session(master); len(left) > 0 {
		t.Errorf("processes of the killed nginx master %d left running next to the new one: %v", master, left)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, master2, 10*time.Second)
	eventually(t, 10*time.Second, "every nginx process to exit", func() (bool, string) {
		left := session(master2)
		return len(left) == 0, fmt.Sprint(left)
	})
	e.checkInvariants(t, svc, "stopped", "after stop")
}

// The watchdog of a FORKS=yes service died after the daemon wrote PIDFILE but
// before the watchdog recorded it: the daemon is found through PIDFILE,
// reported unsupervised, adopted by start (not started twice), stopped by stop.
func TestForksYesWatchdogDiedBeforeRecording(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	pidfile := e.PidfilePath(svc)
	e.Script(svc, e.Daemon("-fork", "-pidfile", pidfile, "-report", sock)+
		"\nFORKS=yes\nPIDFILE="+pidfile+"\nSTART_WAIT=100ms\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid := ev.WaitFor(t, 10*time.Second, isStart).Pid
	ent := e.Entry(t, svc)
	killWatchdog(t, e, ent.WatchdogPid)
	// What the state file held while the watchdog waited for PIDFILE.
	state := filepath.Join(e.RunDir, svc+".state")
	e.writeFile(state, fmt.Sprintf(`{"name":%q,"phase":"starting","watchdog":{"pid":%d,"start":1},"daemon":{"pid":0,"start":0}}`+"\n", svc, ent.WatchdogPid), 0o644)
	wantUnsupervised(t, e, svc, pid)
	wantCode(t, e.Run(svc, "start"), 0)
	if got := e.Entry(t, svc); got.Pid != pid || got.WatchdogPid == 0 || got.State != "running" {
		t.Fatalf("after start: %+v; want pid %d adopted", got, pid)
	}
	noNewStart(t, ev, pid)
	e.checkInvariants(t, svc, "running", "after adoption")

	killWatchdog(t, e, e.Entry(t, svc).WatchdogPid)
	e.writeFile(state, fmt.Sprintf(`{"name":%q,"phase":"starting","watchdog":{"pid":%d,"start":1},"daemon":{"pid":0,"start":0}}`+"\n", svc, ent.WatchdogPid), 0o644)
	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, pid, 10*time.Second)
	e.checkInvariants(t, svc, "stopped", "after stop")
}

// stateDaemon is the daemon PID and the phase the state file records.
func stateDaemon(t *testing.T, e *Env, name string) (int, string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(e.RunDir, name+".state"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Phase  string `json:"phase"`
		Daemon struct {
			PID int `json:"pid"`
		} `json:"daemon"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return st.Daemon.PID, st.Phase
}

// TestStatusDuringForksRespawn: while a FORKS=yes daemon is being respawned,
// status never says dead: `respawning` (exit 1) until a new daemon runs, and
// `running` (exit 0) as soon as the pidfile names the new live daemon, also
// before the watchdog's next look at the pidfile. The daemon backgrounds itself
// at once and writes its pidfile only on SIGUSR2, and the watchdog is frozen
// (SIGSTOP) before the pidfile is written, so the window is held open.
func TestStatusDuringForksRespawn(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	pidfile := e.PidfilePath(svc)
	e.Script(svc, e.Daemon("-fork", "-pidfile", pidfile, "-pidfile-on", "USR2", "-report", sock)+
		"\nFORKS=yes\nPIDFILE="+pidfile+"\nSTART_WAIT=0\n", svcMarker(svc))
	started := make(chan Result, 1)
	go func() { started <- e.Run(svc, "start") }()
	first := ev.WaitFor(t, 10*time.Second, isStart)
	syscall.Kill(first.Pid, syscall.SIGUSR2)
	wantCode(t, <-started, 0)
	pid, wd := e.Pid(t, svc), e.Entry(t, svc).WatchdogPid
	if pid != first.Pid || wd == 0 {
		t.Fatalf("pidfile %d, daemon %d", pid, first.Pid)
	}

	syscall.Kill(pid, syscall.SIGKILL)
	second := ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
	// The new daemon runs; its pidfile does not exist yet: respawning.
	r := e.Run(svc, "status")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "respawning") {
		t.Errorf("status before the new daemon wrote its pidfile: %q; want respawning", r.Stdout)
	}
	if err := syscall.Kill(wd, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(wd, syscall.SIGCONT)
	syscall.Kill(second.Pid, syscall.SIGUSR2)
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "pidfile" && x.Pid == second.Pid })
	if got, phase := stateDaemon(t, e, svc); got != 0 || phase != "respawning" {
		t.Fatalf("the frozen watchdog recorded daemon %d (%s): the window under test is closed", got, phase)
	}
	r = e.Run(svc, "status")
	wantCode(t, r, 0)
	if want := fmt.Sprintf("running (pid %d", second.Pid); !strings.Contains(r.Stdout, want) {
		t.Errorf("status once the pidfile names the new daemon: %q; want %q", r.Stdout, want)
	}
	syscall.Kill(wd, syscall.SIGCONT)
	eventually(t, 20*time.Second, "the watchdog to record the respawned daemon", func() (bool, string) {
		got, phase := stateDaemon(t, e, svc)
		return got == second.Pid && phase == "running", fmt.Sprintf("daemon %d, phase %s", got, phase)
	})
	e.checkInvariants(t, svc, "running", "after the FORKS=yes respawn")
}

// TestStatusDuringRespawnNeverDead: status of a service whose daemon dies again
// and again, sampled without pause, says running or respawning, never dead or
// stopped, until stop.
func TestStatusDuringRespawnNeverDead(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon("-exit-after", "30ms")+"\nSTART_WAIT=0\nRESPAWN_DELAY=0\nRESPAWN_LIMIT=1000/60s\n")
	wantCode(t, e.Run(svc, "start"), 0)
	seen := map[string]int{}
	for i := 0; i < 150; i++ {
		r := e.Run(svc, "status")
		state, _, _ := strings.Cut(strings.TrimPrefix(r.Stdout, svc+": "), " ")
		state = strings.TrimSuffix(strings.TrimSpace(state), ":")
		seen[state]++
		switch {
		case state == "running" && r.Code == 0, state == "respawning" && r.Code == 1:
		default:
			t.Fatalf("sample %d during respawns: %s", i, r)
		}
	}
	t.Logf("states seen: %v", seen)
	wantCode(t, e.Run(svc, "stop"), 0)
}
