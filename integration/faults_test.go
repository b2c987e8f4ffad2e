package integration_test

// Fault injection: SIGKILL of the watchdog, the daemon and the CLI at random
// moments, damaged or missing run-time files, a reused PID and a full log
// disk. After each fault: exactly one daemon or none as expected, no stray
// watchdog, no stale lock, and the next command recovers. Random choices come
// from a seeded source; the seed is logged and SWTEST_SEED=N replays a run.

import (
	"bytes"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// seededRand returns a random source seeded from SWTEST_SEED or the clock, and
// makes a failing test print the seed.
func seededRand(t *testing.T) *rand.Rand {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv("SWTEST_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("SWTEST_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("random seed %d", seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("failed with random seed %d: rerun with SWTEST_SEED=%d", seed, seed)
		}
	})
	return rand.New(rand.NewSource(seed))
}

// asyncCmd is a CLI command running in the background.
type asyncCmd struct {
	cmd    *exec.Cmd
	done   chan struct{}
	res    Result
	cancel context.CancelFunc
}

// runAsync starts INITDIR/NAME VERB under the Env's timeout; wait() returns its Result.
func (e *Env) runAsync(t testing.TB, name, verb string) *asyncCmd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e.Timeout)
	cmd := exec.CommandContext(ctx, e.InitScript(name), verb)
	cmd.Env, cmd.Dir, cmd.WaitDelay = e.CLIEnv(), "/", waitDelay
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	a := &asyncCmd{cmd: cmd, done: make(chan struct{}), cancel: cancel}
	a.res.Cmd = shortPath(e.InitScript(name)) + " " + verb
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		err := cmd.Wait()
		a.res.Dur = time.Since(begin)
		a.res.Stdout, a.res.Stderr = stdout.String(), stderr.String()
		a.res.Code = -1
		if ps := cmd.ProcessState; ps != nil {
			a.res.Code = ps.ExitCode()
			if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				a.res.Code = 128 + int(ws.Signal())
			}
		}
		if ctx.Err() != nil {
			a.res.Err = fmt.Errorf("timed out after %v and was killed", e.Timeout)
		} else if err != nil && cmd.ProcessState == nil {
			a.res.Err = err
		}
		cancel()
		close(a.done)
	}()
	return a
}

func (a *asyncCmd) wait(t testing.TB) Result {
	t.Helper()
	select {
	case <-a.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not finish", a.res.Cmd)
	}
	return a.res
}

// randomDelay waits a random time below max: the moment of an injected fault.
func randomDelay(rng *rand.Rand, max time.Duration) {
	if d := time.Duration(rng.Int63n(int64(max))); d > 0 {
		t := time.NewTimer(d)
		<-t.C
	}
}

// settle waits until no watchdog of name is still starting (a start whose CLI
// was killed goes on alone) and returns the status exit code.
func settle(t *testing.T, e *Env, name string) int {
	t.Helper()
	code := -1
	eventually(t, 60*time.Second, name+" to leave the starting state", func() (bool, string) {
		r := e.Run(name, "status")
		code = r.Code
		return r.Err == nil && !strings.Contains(r.Stdout, "starting"), r.String()
	})
	return code
}

// recovers checks that start and stop work after a fault.
func recovers(t *testing.T, e *Env, name, when string) {
	t.Helper()
	if !checkCode(t, e.Run(name, "start"), 0) {
		return
	}
	e.checkInvariants(t, name, "running", when+", then start")
	checkCode(t, e.Run(name, "status"), 0)
	checkCode(t, e.Run(name, "stop"), 0)
	e.checkInvariants(t, name, "stopped", when+", then start and stop")
}

func TestFaultKillWatchdog(t *testing.T) {
	e := newEnv(t)
	rng := seededRand(t)
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=300ms\nRESPAWN_DELAY=10ms\n", svcMarker(svc))
	for round := 0; round < 9; round++ {
		switch phase := round % 3; phase {
		case 0: // during start
			a := e.runAsync(t, svc, "start")
			var wd int
			eventually(t, 30*time.Second, "the watchdog to appear", func() (bool, string) {
				p := e.serviceProcs(svc)
				if len(p.Watchdogs) > 0 {
					wd = p.Watchdogs[0]
				}
				return wd != 0 || isDone(a), p.String()
			})
			randomDelay(rng, 400*time.Millisecond)
			if wd != 0 {
				syscall.Kill(wd, syscall.SIGKILL)
				waitExit(t, wd, 10*time.Second)
			}
			r := a.wait(t)
			switch {
			case r.Err == nil && r.Code == 0: // reported before it died: an unsupervised daemon
				e.checkInvariants(t, svc, "", fmt.Sprintf("round %d: watchdog killed after start reported", round))
			case r.Err == nil && r.Code == 1: // died before reporting: nothing left
				e.checkInvariants(t, svc, "stopped", fmt.Sprintf("round %d: watchdog killed during start (%s)", round, r))
			default:
				t.Errorf("round %d: start whose watchdog was killed: %s", round, r)
			}
		case 1: // steady state
			wantCode(t, e.Run(svc, "start"), 0)
			pid, wd := supervised(t, e, svc)
			randomDelay(rng, 300*time.Millisecond)
			killPid(t, wd)
			if !alive(pid) {
				t.Errorf("round %d: daemon died with its watchdog", round)
			}
			checkCode(t, e.Run(svc, "status"), 0)
			e.checkInvariants(t, svc, "", fmt.Sprintf("round %d: watchdog killed in steady state", round))
		case 2: // during stop
			wantCode(t, e.Run(svc, "start"), 0)
			_, wd := supervised(t, e, svc)
			a := e.runAsync(t, svc, "stop")
			randomDelay(rng, 30*time.Millisecond)
			syscall.Kill(wd, syscall.SIGKILL)
			checkCode(t, a.wait(t), 0)
			e.checkInvariants(t, svc, "stopped", fmt.Sprintf("round %d: watchdog killed during stop", round))
		}
		recovers(t, e, svc, fmt.Sprintf("round %d", round))
		if t.Failed() {
			return
		}
	}
}

func isDone(a *asyncCmd) bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

func TestFaultKillDaemonLoop(t *testing.T) {
	e := newEnv(t)
	rng := seededRand(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock)+"\nSTART_WAIT=0\nRESPAWN_DELAY=10ms\nRESPAWN_LIMIT=100/60s\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	_, wd := supervised(t, e, svc)
	pid := ev.WaitFor(t, 10*time.Second, isStart).Pid
	for i := 0; i < 8; i++ { // quick deaths: the backoff doubles from 10 ms to 1.28 s
		randomDelay(rng, 100*time.Millisecond)
		killPid(t, pid)
		st := ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
		if st.Ppid != wd {
			t.Fatalf("kill %d: respawn %s not by the watchdog %d", i, st.Raw, wd)
		}
		pid = st.Pid
		if p := e.serviceProcs(svc); len(p.Daemons) > 1 || len(p.Watchdogs) != 1 {
			t.Fatalf("kill %d: %v", i, p)
		}
	}
	eventually(t, 20*time.Second, "list to settle on the last daemon", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.Pid == pid && ent.State == "running", fmt.Sprintf("%+v %v", ent, err)
	})
	e.checkInvariants(t, svc, "running", "after 8 kills of the daemon")
	wantCode(t, e.Run(svc, "stop"), 0)
	e.checkInvariants(t, svc, "stopped", "after stop")
}

func TestFaultKillCLI(t *testing.T) {
	e := newEnv(t)
	rng := seededRand(t)
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=300ms\n", svcMarker(svc))
	for round := 0; round < 8; round++ {
		verb := "start"
		if round%2 == 1 {
			verb = "stop"
			wantCode(t, e.Run(svc, "start"), 0)
		}
		a := e.runAsync(t, svc, verb)
		randomDelay(rng, 400*time.Millisecond)
		a.cmd.Process.Kill()
		r := a.wait(t)
		code := settle(t, e, svc)
		// A stop whose CLI was killed after it asked the watchdog to stop everything
		// (SIGUSR1) goes on without it: status reads "running" until the watchdog has
		// stopped the daemon and exited. Wait, bounded, for a moment at which status
		// and /proc agree; the checks below then judge that quiet state.
		var p svcProcs
		eventually(t, 30*time.Second, "status and /proc to agree after the killed "+verb, func() (bool, string) {
			code = e.Run(svc, "status").Code
			p = e.serviceProcs(svc)
			agree := (code == 0 && len(p.Daemons) == 1) || (code != 0 && len(p.Daemons)+len(p.Watchdogs) == 0)
			return agree, fmt.Sprintf("status exit %d, %v", code, p)
		})
		when := fmt.Sprintf("round %d: CLI %s killed (%s, status exit %d)", round, verb, r, code)
		switch code {
		case 0:
			e.checkInvariants(t, svc, "", when)
			if len(p.Daemons) != 1 {
				t.Errorf("%s: status says running but %v", when, p)
			}
		case 1, 3:
			e.checkInvariants(t, svc, "", when)
			if len(p.Daemons)+len(p.Watchdogs) != 0 {
				t.Errorf("%s: status says not running but %v", when, p)
			}
		default:
			t.Errorf("%s: status exit %d", when, code)
		}
		recovers(t, e, svc, when)
		if t.Failed() {
			return
		}
	}
}

// Damaged run-time files: a deleted or corrupt pidfile or state file, and a
// PID reused by an unrelated process. Each ends in a state status explains,
// and the next command recovers.
func TestFaultRunFiles(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=100ms\n", svcMarker(svc))
	state := filepath.Join(e.RunDir, svc+".state")
	pidfile := e.PidfilePath(svc)

	t.Run("pidfile deleted", func(t *testing.T) {
		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		os.Remove(pidfile)
		checkCode(t, e.Run(svc, "status"), 0)
		wantCode(t, e.Run(svc, "start"), 0) // already running: rewrites the pidfile
		if got, err := e.PidE(svc); got != pid {
			t.Errorf("start did not rewrite the deleted pidfile: %d %v", got, err)
		}
		wantCode(t, e.Run(svc, "stop"), 0)
		e.checkInvariants(t, svc, "stopped", "stop after the pidfile was deleted")
	})
	t.Run("pidfile corrupt", func(t *testing.T) {
		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		e.writeFile(pidfile, "garbage\n", 0o644)
		checkCode(t, e.Run(svc, "status"), 0)
		wantCode(t, e.Run(svc, "start"), 0)
		if got, err := e.PidE(svc); got != pid {
			t.Errorf("start did not rewrite the corrupt pidfile: %d %v", got, err)
		}
		e.writeFile(pidfile, "garbage\n", 0o644)
		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid, 10*time.Second)
		e.checkInvariants(t, svc, "stopped", "stop with a corrupt pidfile")
	})
	t.Run("state deleted", func(t *testing.T) {
		wantCode(t, e.Run(svc, "start"), 0)
		pid, wd := supervised(t, e, svc)
		os.Remove(state)
		if ent := e.Entry(t, svc); ent.State != "running" || ent.Pid != pid || ent.WatchdogPid != wd {
			t.Errorf("list without the state file: %+v", ent)
		}
		checkCode(t, e.Run(svc, "status"), 0)
		wantCode(t, e.Run(svc, "start"), 0)
		if _, err := os.Stat(state); err != nil {
			t.Errorf("start did not have the watchdog rewrite the state: %v", err)
		}
		e.checkInvariants(t, svc, "running", "start after the state was deleted")
		os.Remove(state)
		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, wd, 10*time.Second)
		e.checkInvariants(t, svc, "stopped", "stop without a state file")
	})
	t.Run("state corrupt", func(t *testing.T) {
		wantCode(t, e.Run(svc, "start"), 0)
		pid, wd := supervised(t, e, svc)
		e.writeFile(state, "{not json", 0o644)
		r := e.Run(svc, "status")
		checkCode(t, r, 0)
		if !strings.Contains(r.Stdout, "corrupt") && !strings.Contains(r.Stdout, "lost") {
			t.Errorf("status with a corrupt state file should say so: %q", r.Stdout)
		}
		wantCode(t, e.Run(svc, "start"), 0)
		if ent := e.Entry(t, svc); ent.State != "running" || ent.Pid != pid || ent.WatchdogPid != wd {
			t.Errorf("after start repaired the state: %+v", ent)
		}
		e.writeFile(state, "{not json", 0o644)
		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid, 10*time.Second)
		e.checkInvariants(t, svc, "stopped", "stop with a corrupt state file")
		// Corrupt with nothing running: unknown (4), and start recovers.
		e.writeFile(state, "\x00\x01", 0o644)
		checkCode(t, e.Run(svc, "status"), 4)
		recovers(t, e, svc, "corrupt state, nothing running")
	})
	t.Run("pid reused", func(t *testing.T) {
		wantCode(t, e.Run(svc, "start"), 0)
		pid, wd := supervised(t, e, svc)
		killPid(t, wd)
		killPid(t, pid)
		// An unrelated process now holds the PID the state file and pidfile name.
		other := startProc(t, nil, "/bin/sleep", "300")
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		e.writeFile(state, strings.Replace(string(b), fmt.Sprintf(`"pid":%d,`, pid), fmt.Sprintf(`"pid":%d,`, other.Pid), 1), 0o644)
		e.writeFile(pidfile, fmt.Sprintf("%d\n", other.Pid), 0o644)
		r := e.Run(svc, "status")
		checkCode(t, r, 1, 3)
		checkCode(t, e.Run(svc, "stop"), 0)
		if !alive(other.Pid) {
			t.Fatalf("stop killed the unrelated process %d", other.Pid)
		}
		e.checkInvariants(t, svc, "stopped", "stop with a reused PID")
		wantCode(t, e.Run(svc, "start"), 0)
		if p, _ := supervised(t, e, svc); p == other.Pid {
			t.Errorf("start took the unrelated process for the daemon")
		}
		wantCode(t, e.Run(svc, "stop"), 0)
		if !alive(other.Pid) {
			t.Errorf("the unrelated process %d died", other.Pid)
		}
	})
}

// A full disk under LOGDIR (a tiny tmpfs in a private mount namespace): with
// room for the log file the daemon starts and its writes fail quietly; with no
// inode left, start fails at once, naming LOG and the cause. Nothing hangs.
func TestFaultFullLogDisk(t *testing.T) {
	requireRoot(t, "mounts a tmpfs in a private mount namespace")
	e := newEnv(t)
	e.Script(svc, e.Daemon("-lines", "2000")+"\nSTART_WAIT=200ms\n", svcMarker(svc))
	inNS := func(opts string) Result {
		// The mount lives as long as the namespace, i.e. as long as the watchdog.
		script := `mount -t tmpfs -o ` + opts + ` svcwrap-full "$1" && dd if=/dev/zero of="$1/fill" bs=4k count=64 2>/dev/null; exec "$2" start`
		return e.Exec("/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, "sh", e.LogDir, e.InitScript(svc))
	}
	r := inNS("size=16k,nr_inodes=16")
	wantCode(t, r, 0)
	e.checkInvariants(t, svc, "running", "start with a full log disk")
	wantCode(t, e.Run(svc, "stop"), 0)
	e.checkInvariants(t, svc, "stopped", "stop")

	r = inNS("size=16k,nr_inodes=2") // the root and the fill file: no inode for the log
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "LOG") || !strings.Contains(r.Stderr, "no space left") {
		t.Errorf("start without room for the log should name LOG and the cause: %s", r)
	}
	e.checkInvariants(t, svc, "stopped", "failed start on a full disk")
	recovers(t, e, svc, "after the full disk")
}

// The daemon's leader is killed but its children live on in its process group:
// they are stopped before the respawn, so the service never runs twice.
func TestFaultLeaderKilledGroupStopped(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-children", "2")+"\nSTART_WAIT=100ms\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, wd := supervised(t, e, svc)
	st := ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid == pid })
	killPid(t, pid)
	for _, c := range st.Children {
		waitExit(t, c, 15*time.Second)
	}
	st2 := ev.WaitFor(t, 15*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != pid })
	if st2.Ppid != wd || len(st2.Children) != 2 {
		t.Errorf("respawn %s; want 2 children under watchdog %d", st2.Raw, wd)
	}
	if p := e.serviceProcs(svc); len(p.Daemons) != 3 {
		t.Errorf("after the respawn: %v; want the new leader and its 2 children only", p)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	e.checkInvariants(t, svc, "stopped", "after stop")
}

// The CLI of a start is killed while READY is pending; a second start waits for
// the first one's outcome instead of failing or returning early: when it
// returns, the port accepts.
func TestFaultKillCLIThenStart(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	e.Script(svc, e.Daemon("-report", sock, "-listen", addr, "-listen-delay", "1500ms")+
		"\nREADY=\"tcp "+addr+"\"\nSTART_WAIT=0\n", svcMarker(svc))
	a := e.runAsync(t, svc, "start")
	st := ev.WaitFor(t, 20*time.Second, isStart) // the daemon runs, not ready yet
	a.cmd.Process.Kill()
	a.wait(t)
	r := e.Run(svc, "start")
	if err := dialOnce("tcp", addr); err != nil {
		t.Errorf("second start returned before READY passed: %v", err)
	}
	wantCode(t, r, 0)
	pid, _ := supervised(t, e, svc)
	if pid != st.Pid {
		t.Errorf("the second start replaced the daemon %d with %d", st.Pid, pid)
	}
	e.checkInvariants(t, svc, "running", "after the second start")
}

// TestFaultAllRecordsLost: a daemon whose watchdog was killed and whose records
// are gone too is never started twice. With the state file corrupt and the
// pidfile deleted, the watchdog lock file still names the killed watchdog: status
// finds the daemon in its session. With RUNDIR removed as well, start finds it
// by its program, command line and environment, and adopts it; stop stops it.
func TestFaultAllRecordsLost(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock)+"\nSTART_WAIT=0\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	st := ev.WaitFor(t, 10*time.Second, isStart)
	killWatchdog(t, e, e.Entry(t, svc).WatchdogPid)
	os.WriteFile(filepath.Join(e.RunDir, svc+".state"), []byte("{\"name\":"), 0o644)
	os.Remove(e.PidfilePath(svc))
	r := e.Run(svc, "status")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, fmt.Sprintf("unsupervised (pid %d", st.Pid)) {
		t.Errorf("status after the records were lost: %s", r)
	}

	os.RemoveAll(e.RunDir)
	os.Remove(e.PidfilePath(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	ent := e.Entry(t, svc)
	if ent.Pid != st.Pid || ent.WatchdogPid == 0 || ent.State != "running" {
		t.Errorf("start did not adopt the daemon no record named: %+v (daemon %d)", ent, st.Pid)
	}
	noNewStart(t, ev, st.Pid)
	e.checkInvariants(t, svc, "running", "after adopting a daemon without records")

	// The same without a watchdog to adopt it: stop still stops it.
	killWatchdog(t, e, ent.WatchdogPid)
	os.RemoveAll(e.RunDir)
	os.Remove(e.PidfilePath(svc))
	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, st.Pid, 10*time.Second)
	noProcs(t, e, "after stop")
}

// TestTwinServicesNotAdopted: two services with the same DAEMON and the same
// environment are two daemons: start of the second never takes the first's
// daemon for a stray of its own (it runs under the first's watchdog).
func TestTwinServicesNotAdopted(t *testing.T) {
	e := newEnv(t)
	e.Script("one", e.Daemon())
	e.Script("two", e.Daemon())
	wantCode(t, e.Run("one", "start"), 0)
	one, _ := supervised(t, e, "one")
	wantCode(t, e.Run("two", "start"), 0)
	two, _ := supervised(t, e, "two")
	if one == two {
		t.Fatalf("two adopted one's daemon %d", one)
	}
	wantCode(t, e.Run("two", "stop"), 0)
	if !alive(one) {
		t.Errorf("stop of two stopped one's daemon %d", one)
	}
	wantCode(t, e.Run("one", "stop"), 0)
	noProcs(t, e, "after stop")
}
