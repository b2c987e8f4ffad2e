package integration_test

// Tests of the harness itself; none of them needs svcwrap.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tdaemon reports start, listening and signal events; answers HTTP; exits 0
// on TERM.
func TestHarnessTDaemonEvents(t *testing.T) {
	e := newBareEnv(t)
	sock, ev := e.Reporter(t)
	p := startProc(t, nil, e.TDaemon, "-report", sock, "-listen", "127.0.0.1:0")

	st := ev.WaitFor(t, 10*time.Second, isStart)
	if st.Pid != p.Pid || st.Ppid != os.Getpid() || st.Pgid != syscall.Getpgrp() {
		t.Errorf("start event %s: want pid %d ppid %d pgid %d", st.Raw, p.Pid, os.Getpid(), syscall.Getpgrp())
	}
	if st.T <= 0 || st.T > time.Now().UnixNano() {
		t.Errorf("start event t=%d is not a past unix time in ns", st.T)
	}
	lst := ev.WaitFor(t, 10*time.Second, func(e Event) bool { return e.Ev == "listening" })
	if lst.Addr == "" {
		t.Fatalf("listening event without addr: %s", lst.Raw)
	}

	c, err := net.DialTimeout("tcp", lst.Addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.0\r\n\r\n")
	status, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Errorf("GET / answered %q, %v; want a 200 status line", status, err)
	}

	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGQUIT} {
		name := strings.TrimPrefix(sigName(sig), "SIG")
		syscall.Kill(p.Pid, sig)
		got := ev.WaitFor(t, 10*time.Second, func(e Event) bool { return e.Ev == "signal" })
		if got.Sig != name || got.Pid != p.Pid {
			t.Errorf("after %v: event %s, want sig %q pid %d", sig, got.Raw, name, p.Pid)
		}
	}
	if !alive(p.Pid) {
		t.Fatal("tdaemon died on a non-terminating signal")
	}
	syscall.Kill(p.Pid, syscall.SIGTERM)
	got := ev.WaitFor(t, 10*time.Second, func(e Event) bool { return e.Ev == "signal" })
	if got.Sig != "TERM" {
		t.Errorf("after TERM: event %s", got.Raw)
	}
	ps := p.Wait(t, 10*time.Second)
	if ps.ExitCode() != 0 {
		t.Errorf("tdaemon exited %v after TERM, want 0", ps)
	}
}

func sigName(s syscall.Signal) string {
	return map[syscall.Signal]string{syscall.SIGHUP: "HUP", syscall.SIGUSR1: "USR1",
		syscall.SIGUSR2: "USR2", syscall.SIGQUIT: "QUIT", syscall.SIGTERM: "TERM", syscall.SIGINT: "INT"}[s]
}

// -ignore TERM: TERM is neither reported nor fatal; -exit-after/-exit-code;
// -die-at-start; -lines and -stderr; -children in the same process group.
func TestHarnessTDaemonFlags(t *testing.T) {
	e := newBareEnv(t)

	t.Run("ignore_TERM", func(t *testing.T) {
		sock, ev := e.Reporter(t)
		p := startProc(t, nil, e.TDaemon, "-report", sock, "-ignore", "TERM")
		ev.WaitFor(t, 10*time.Second, isStart)
		st, _ := procStatus(p.Pid)
		if !sigSet(st["SigIgn"], syscall.SIGTERM) {
			t.Errorf("SigIgn %s lacks TERM", st["SigIgn"])
		}
		syscall.Kill(p.Pid, syscall.SIGTERM) // SIG_IGN: discarded when sent
		syscall.Kill(p.Pid, syscall.SIGHUP)
		got := ev.WaitFor(t, 10*time.Second, func(e Event) bool { return e.Ev == "signal" })
		if got.Sig != "HUP" || !alive(p.Pid) {
			t.Errorf("first signal event %s (alive %v); want HUP with TERM ignored", got.Raw, alive(p.Pid))
		}
	})

	t.Run("exit_after", func(t *testing.T) {
		p := startProc(t, nil, e.TDaemon, "-exit-after", "50ms", "-exit-code", "7")
		if ps := p.Wait(t, 10*time.Second); ps.ExitCode() != 7 {
			t.Errorf("exit %v, want 7", ps)
		}
	})

	t.Run("die_at_start", func(t *testing.T) {
		var stderr strings.Builder
		cmd := exec.Command(e.TDaemon, "-die-at-start", "cannot bind")
		cmd.Stderr = &stderr
		p := startProcCmd(t, cmd)
		if ps := p.Wait(t, 10*time.Second); ps.ExitCode() != 3 || stderr.String() != "cannot bind\n" {
			t.Errorf("exit %v stderr %q, want 3 and the message", ps, stderr.String())
		}
	})

	t.Run("lines_and_stderr", func(t *testing.T) {
		var out strings.Builder
		cmd := exec.Command(e.TDaemon, "-lines", "3", "-stderr", "hello", "-exit-after", "1ms", "-exit-code", "0")
		cmd.Stdout, cmd.Stderr = &out, &out
		p := startProcCmd(t, cmd)
		p.Wait(t, 10*time.Second)
		if out.String() != "hello\nline 1\nline 2\nline 3\n" {
			t.Errorf("output %q", out.String())
		}
	})

	t.Run("children", func(t *testing.T) {
		sock, ev := e.Reporter(t)
		cmd := exec.Command(e.TDaemon, "-report", sock, "-children", "2")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // as svcwrap starts a daemon
		p := startProcCmd(t, cmd)
		st := ev.WaitFor(t, 10*time.Second, isStart)
		if st.Pgid != p.Pid {
			t.Fatalf("start event %s: want pgid %d", st.Raw, p.Pid)
		}
		if len(st.Children) != 2 {
			t.Fatalf("start event %s: want 2 children", st.Raw)
		}
		for _, c := range st.Children {
			cs, err := procStat(c)
			if err != nil || cs.Ppid != p.Pid || cs.Pgrp != st.Pgid {
				t.Errorf("child %d: %+v %v; want ppid %d pgrp %d", c, cs, err, p.Pid, st.Pgid)
			}
		}
		// Kill the group, as svcwrap's stop does.
		syscall.Kill(-st.Pgid, syscall.SIGKILL)
		for _, c := range append(st.Children, p.Pid) {
			waitExit(t, c, 10*time.Second)
		}
	})
}

// sigSet reports whether a /proc/PID/status signal mask (hex) holds sig.
func sigSet(mask string, sig syscall.Signal) bool {
	var m uint64
	fmt.Sscanf(mask, "%x", &m)
	return m&(1<<(uint(sig)-1)) != 0
}

// A -fork tdaemon leaves an orphan: it is reparented to the subreaper (our
// parent), waitExit works on it although it is not our child, and the
// subreaper reaps it (its /proc entry disappears, no zombie stays).
func TestHarnessSubreaperReapsOrphan(t *testing.T) {
	e := newBareEnv(t)
	sock, ev := e.Reporter(t)
	pidfile := filepath.Join(e.PidDir, "orphan.pid")
	env := append(cleanEnviron(), "SVCWRAP_TEST_ID="+e.TestID)
	p := startProc(t, env, e.TDaemon, "-fork", "-pidfile", pidfile, "-report", sock)
	if ps := p.Wait(t, 20*time.Second); ps.ExitCode() != 0 {
		t.Fatalf("tdaemon -fork exited %v", ps)
	}
	st := ev.WaitFor(t, 10*time.Second, isStart)
	b, err := os.ReadFile(pidfile)
	if err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(st.Pid) {
		t.Fatalf("pidfile %q %v, start event %s", b, err, st.Raw)
	}
	if st.Sid != st.Pid {
		t.Errorf("forked tdaemon is not a session leader: %s", st.Raw)
	}
	ps, err := procStat(st.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if ps.Ppid != os.Getppid() {
		t.Errorf("orphan %d has ppid %d, want the subreaper %d", st.Pid, ps.Ppid, os.Getppid())
	}
	if got := e.Procs(); len(got) != 1 || got[0].Pid != st.Pid {
		t.Errorf("Procs() = %+v, want only %d", got, st.Pid)
	}

	syscall.Kill(st.Pid, syscall.SIGTERM)
	waitExit(t, st.Pid, 10*time.Second) // not our child: pidfd
	eventually(t, 10*time.Second, "the subreaper to reap the orphan", func() (bool, string) {
		st, err := procStat(st.Pid)
		return os.IsNotExist(err), fmt.Sprintf("state %q err %v", st.State, err)
	})
}

// waitExit returns at once for a zombie (our own child, not yet waited) and
// for a pid that no longer exists; it fails on a live process.
func TestHarnessWaitExit(t *testing.T) {
	e := newBareEnv(t)
	cmd := exec.Command(e.TDaemon)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if err := waitExitErr(pid, 50*time.Millisecond); err == nil {
		t.Error("waitExitErr returned nil for a live process")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitExit(t, pid, 10*time.Second) // a zombie: we have not waited yet
	if st, err := procStat(pid); err != nil || st.State != "Z" || alive(pid) {
		t.Errorf("want a zombie, got %+v %v alive=%v", st, err, alive(pid))
	}
	cmd.Wait()
	waitExit(t, pid, time.Second) // reaped: ESRCH
}

// procStat takes comm up to the last ')', so a comm with ") (" and digits
// does not shift the fields.
func TestHarnessProcStatOddComm(t *testing.T) {
	e := newBareEnv(t)
	dir := filepath.Join(e.Root, "odd")
	os.Mkdir(dir, 0o755)
	odd := filepath.Join(dir, "x) (Z 1 2) y")
	b, err := os.ReadFile(e.TDaemon)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(odd, b, 0o755); err != nil {
		t.Fatal(err)
	}
	sock, ev := e.Reporter(t)
	p := startProc(t, nil, odd, "-report", sock)
	ev.WaitFor(t, 10*time.Second, isStart)
	st, err := procStat(p.Pid)
	if err != nil {
		t.Fatal(err)
	}
	me, _ := procStat(os.Getpid())
	if st.Comm != "x) (Z 1 2) y" || st.Pid != p.Pid || st.Ppid != os.Getpid() || st.Pgrp != me.Pgrp ||
		st.Session != me.Session || (st.State != "S" && st.State != "R") || st.StartTime < me.StartTime {
		t.Errorf("procStat = %+v; me = %+v", st, me)
	}

	// And the parser on its own.
	got, err := parseStat("42 (a) (b) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -5 1 0 12345 0 0")
	if err != nil || got.Comm != "a) (b" || got.State != "R" || got.Ppid != 1 || got.Pgrp != 2 ||
		got.Session != 3 || got.TtyNr != 4 || got.Nice != -5 || got.StartTime != 12345 {
		t.Errorf("parseStat = %+v, %v", got, err)
	}
}

// The leak sweep finds a process by its SVCWRAP_TEST_ID, kills it and
// reports it; a process with another id is left alone.
func TestHarnessSweep(t *testing.T) {
	e := newBareEnv(t)
	fake := e.TestID + "/fake"
	mine := startProc(t, append(cleanEnviron(), "SVCWRAP_TEST_ID="+fake), e.TDaemon)
	other := startProc(t, append(cleanEnviron(), "SVCWRAP_TEST_ID="+fake+"x"), e.TDaemon)
	eventually(t, 10*time.Second, "both helpers to have exec'd", func() (bool, string) {
		return execDone(mine.Pid, e.TDaemon) && execDone(other.Pid, e.TDaemon),
			procExe(mine.Pid) + " " + procExe(other.Pid)
	})
	leaks := sweepTestID(fake)
	if len(leaks) != 1 || !strings.Contains(leaks[0], fmt.Sprintf("pid %d ", mine.Pid)) {
		t.Errorf("sweep found %q, want only pid %d", leaks, mine.Pid)
	}
	mine.Wait(t, 10*time.Second)
	if !alive(other.Pid) {
		t.Error("sweep killed a process with another test id")
	}
}

// procFds, procEnviron, procStatus and procLimits read a process we set up.
func TestHarnessProcReaders(t *testing.T) {
	e := newBareEnv(t)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	cmd := exec.Command(e.TDaemon)
	cmd.Env = []string{"A=1", "B=two words"}
	cmd.Stdin = devnull
	cmd.ExtraFiles = []*os.File{devnull}
	p := startProcCmd(t, cmd)
	eventually(t, 10*time.Second, "tdaemon to exec", func() (bool, string) {
		return execDone(p.Pid, e.TDaemon), procExe(p.Pid)
	})
	// The runtime may hold a file open for a moment while it starts.
	eventually(t, 10*time.Second, "tdaemon's fds to be 0..3 with 0 and 3 /dev/null", func() (bool, string) {
		fds, err := procFds(p.Pid)
		return err == nil && len(fds) == 4 && fds[0] == "/dev/null" && fds[3] == "/dev/null", fdList(fds)
	})
	env, err := procEnviron(p.Pid)
	if err != nil || strings.Join(env, "|") != "A=1|B=two words" {
		t.Errorf("procEnviron = %q, %v", env, err)
	}
	st, err := procStatus(p.Pid)
	if err != nil || st["Pid"] != fmt.Sprint(p.Pid) || !strings.HasPrefix(st["Uid"], fmt.Sprint(os.Getuid())) {
		t.Errorf("procStatus Pid=%q Uid=%q, %v", st["Pid"], st["Uid"], err)
	}
	lim, err := procLimits(p.Pid)
	if err != nil || lim["Max open files"].Soft == "" || lim["Max open files"].Hard == "" {
		t.Errorf("procLimits = %+v, %v", lim, err)
	}
}

// execDone reports whether pid has finished exec'ing exe: /proc/PID/exe
// switches to the new program before the kernel has set up its environment
// (an empty /proc/PID/environ), so wait for both. Only for processes started
// with a non-empty environment.
func execDone(pid int, exe string) bool {
	env, err := procEnviron(pid)
	return procExe(pid) == exe && err == nil && len(env) > 0
}
