package integration_test

// svcwrap boot, shutdown and init (svcwrap(8), BOOT AND INIT): the rc links of a
// runlevel run in dependency order from their headers, svcwrap services and
// classic scripts alike, independent ones in parallel, each bounded; a cycle and
// a hanging script are reported and the rest goes on; shutdown stops each
// service before what it needs; init, as PID 1 of a PID namespace, reaps every
// orphan, boots, and on SIGTERM shuts down within its bound.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// classic writes a classic init script INITDIR/NAME with a header (Provides
// NAME, then hdr lines) whose start and stop append "VERB NAME" to ROOT/order,
// then run body with $1 the verb. It returns its path.
func (e *Env) classic(name string, hdr []string, body string) string {
	e.t.Helper()
	h := "### BEGIN INIT INFO\n# Provides: " + name + "\n"
	for _, l := range hdr {
		h += "# " + l + "\n"
	}
	h += "### END INIT INFO\n"
	path := filepath.Join(e.InitDir, name)
	e.writeFile(path, "#!/bin/sh\n"+h+"echo \"$1 "+name+"\" >> "+filepath.Join(e.Root, "order")+"\n"+withNewline(body)+"exit 0\n", 0o755)
	return path
}

// rcLink links ROOT/rcLVL.d/PREFIX+NAME to ../init.d/NAME.
func (e *Env) rcLink(lvl, prefix, name string) {
	e.t.Helper()
	dir := filepath.Join(e.Root, "rc"+lvl+".d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..", "init.d", name), filepath.Join(dir, prefix+name)); err != nil {
		e.t.Fatal(err)
	}
}

// bootEnv is CLIEnv with the rc dirs under ROOT.
func (e *Env) bootEnv() []string { return e.CLIEnv("SVCWRAP_RCROOT=" + e.Root) }

// waitFor is a shell loop that waits, bounded (10 s), for a file; exit 1 on timeout.
func waitFor(path string) string {
	return "i=0; while [ ! -e " + path + " ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 1; sleep 0.01; done"
}

func lineIndex(t *testing.T, out, line string) int {
	t.Helper()
	i := strings.Index(out, line)
	if i < 0 {
		t.Errorf("no line %q in:\n%s", line, out)
	}
	return i
}

func TestBootOrderParallelAndBadInput(t *testing.T) {
	e := newEnv(t)
	ready := filepath.Join(e.Root, "a.ready")
	e.ScriptHdr("a", "", []string{"Required-Start: $remote_fs"}, e.Daemon()+"\nREADY=\"exec /bin/sh -c 'touch "+ready+"'\"\n")
	e.ScriptHdr("b", "bee", []string{"Required-Start: a"}, e.Daemon()+"\nPRE_START=\"/bin/test -e "+ready+"\"\n")
	// c (classic) needs b: b's pidfile must be there when c starts.
	e.classic("c", []string{"Required-Start: bee"}, `[ "$1" = start ] && { test -s `+e.PidfilePath("b")+` || exit 1; }`)
	// p1 and p2 need nothing: each waits for the other to have begun.
	for _, p := range [][2]string{{"p1", "p2"}, {"p2", "p1"}} {
		e.classic(p[0], nil, `[ "$1" = start ] && { touch `+filepath.Join(e.Root, p[0]+".go")+"; "+waitFor(filepath.Join(e.Root, p[1]+".go"))+"; }")
	}
	// h hangs; x and y are a cycle; z needs x; w only Should-Start x.
	e.classic("h", nil, `[ "$1" = start ] && exec sleep 1000`)
	e.classic("x", []string{"Required-Start: y"}, "")
	e.classic("y", []string{"Required-Start: x"}, "")
	e.classic("z", []string{"Required-Start: x"}, "")
	e.classic("w", []string{"Should-Start: x", "Required-Start: $all"}, "")
	// The link numbers say the opposite of the headers: the headers win.
	for i, n := range []string{"w", "c", "b", "a", "p1", "p2", "h", "x", "y", "z"} {
		e.rcLink("2", fmt.Sprintf("S%02d", i+1), n)
	}
	for i, n := range []string{"a", "b", "c"} {
		e.rcLink("0", fmt.Sprintf("K%02d", i+1), n)
	}

	r := e.ExecWith(ExecOpts{Env: e.bootEnv()}, e.Svcwrap, "boot", "--timeout", "3s")
	wantCode(t, r, 1)
	out := r.Stdout
	for _, l := range []string{"boot: a: started", "boot: b: started", "boot: c: started", "boot: p1: started", "boot: p2: started",
		"boot: h: timed out after 3s (killed)", "boot: x: not started: dependency cycle: x -> y -> x",
		"boot: y: not started: dependency cycle: y -> x -> y", "boot: z: not started: requires x, which did not start",
		"boot: w: started", "boot: runlevel 2: 6 started, 4 failed or not run"} {
		lineIndex(t, out, l)
	}
	if ia, ib, ic := lineIndex(t, out, "boot: a: started"), lineIndex(t, out, "boot: b: started"), lineIndex(t, out, "boot: c: started"); !(ia < ib && ib < ic) {
		t.Errorf("want a, b, c in that order:\n%s", out)
	}
	if lineIndex(t, out, "boot: w: started") < lineIndex(t, out, "boot: h: timed out") {
		t.Errorf("w ($all) started before the hanging h ended:\n%s", out)
	}
	if r.Dur > 15*time.Second {
		t.Errorf("boot took %v; the hang is bounded by 3s", r.Dur)
	}
	order, _ := os.ReadFile(filepath.Join(e.Root, "order"))
	if strings.Contains(string(order), "start x") || strings.Contains(string(order), "start z") {
		t.Errorf("a script of the cycle ran:\n%s", order)
	}
	e.wantStatus(t, "a", 0)
	e.wantStatus(t, "b", 0)

	// Shutdown: c before b before a (each before what it needs).
	r = e.ExecWith(ExecOpts{Env: e.bootEnv()}, e.Svcwrap, "shutdown")
	wantCode(t, r, 0)
	out = r.Stdout
	if ic, ib, ia := lineIndex(t, out, "shutdown: c: stopped"), lineIndex(t, out, "shutdown: b: stopped"), lineIndex(t, out, "shutdown: a: stopped"); !(ic < ib && ib < ia) {
		t.Errorf("want c, b, a stopped in that order:\n%s", out)
	}
	lineIndex(t, out, "shutdown: runlevel 0: 3 stopped, 0 failed or not run")
	e.wantStatus(t, "a", 3)
	e.wantStatus(t, "b", 3)

	// Bad arguments.
	wantCode(t, e.ExecWith(ExecOpts{Env: e.bootEnv()}, e.Svcwrap, "boot", "9"), 2)
	wantCode(t, e.ExecWith(ExecOpts{Env: e.bootEnv()}, e.Svcwrap, "boot", "--timeout", "0s"), 2)
	r = e.ExecWith(ExecOpts{Env: e.bootEnv()}, e.Svcwrap, "shutdown", "6")
	wantCode(t, r, 1) // no rc6.d here
}

// initNS is `svcwrap init ARGS` as PID 1 of a new PID namespace (with its own
// /proc, in a mount namespace of its own).
type initNS struct {
	cmd     *exec.Cmd
	pid     int // init's PID on the host
	nsLink  string
	mu      sync.Mutex
	out     strings.Builder
	lines   chan string
	done    chan struct{}
	waitErr error
}

func startInit(t *testing.T, e *Env, args ...string) *initNS {
	t.Helper()
	requireRoot(t, "a PID namespace (unshare -fp --mount-proc)")
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	return startInitCmd(t, e.bootEnv(), append([]string{"unshare", "-fp", "--mount-proc", e.Svcwrap, "init"}, args...))
}

// startInitCmd runs argv, whose child is init (unshare -fp ... svcwrap init, or
// nsenter in front of that: nsenter without a PID namespace execs in place).
func startInitCmd(t *testing.T, env, argv []string) *initNS {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Dir = "/"
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	ns := &initNS{cmd: cmd, lines: make(chan string, 1000), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			ns.mu.Lock()
			ns.out.WriteString(sc.Text() + "\n")
			ns.mu.Unlock()
			select {
			case ns.lines <- sc.Text():
			default:
			}
		}
		io.Copy(io.Discard, pr)
		pr.Close()
	}()
	go func() { ns.waitErr = cmd.Wait(); close(ns.done) }()
	t.Cleanup(func() {
		select {
		case <-ns.done:
		default:
			if ns.pid != 0 { // init is alive (its parent, unshare, is): its PID is its own
				syscall.Kill(ns.pid, syscall.SIGKILL) // and with it its whole PID namespace
			}
		}
		cmd.Process.Kill()
		select {
		case <-ns.done:
		case <-time.After(10 * time.Second):
			t.Errorf("unshare did not exit 10s after SIGKILL")
		}
	})
	eventually(t, 10*time.Second, "init, the child of unshare", func() (bool, string) {
		for _, pid := range allPids() {
			if st, err := procStat(pid); err == nil && st.Ppid == cmd.Process.Pid {
				ns.pid = pid
				ns.nsLink, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid))
				return ns.nsLink != "", ""
			}
		}
		return false, "no child"
	})
	return ns
}

func (ns *initNS) output() string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.out.String()
}

// waitLine waits (bounded) for a line of init's output that starts with prefix.
func (ns *initNS) waitLine(t *testing.T, prefix string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l := <-ns.lines:
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-deadline:
			t.Fatalf("no line %q from init within %v; output:\n%s", prefix, timeout, ns.output())
		case <-ns.done:
			t.Fatalf("init exited (%v) before a line %q; output:\n%s", ns.waitErr, prefix, ns.output())
		}
	}
}

// procs are the processes of init's PID namespace other than init (host PIDs)
// with their state.
func (ns *initNS) procs() map[int]string {
	out := map[int]string{}
	for _, pid := range allPids() {
		if pid == ns.pid {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); err == nil && l == ns.nsLink {
			if st, err := procStat(pid); err == nil {
				out[pid] = st.State + " " + procCmdline(pid)
			}
		}
	}
	return out
}

// exit waits (bounded) for init's end and returns its exit code.
func (ns *initNS) exit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-ns.done:
	case <-time.After(timeout):
		t.Fatalf("init did not exit within %v; output:\n%s", timeout, ns.output())
	}
	return ns.cmd.ProcessState.ExitCode()
}

func TestInitBootReapShutdown(t *testing.T) {
	e := newEnv(t)
	ready := filepath.Join(e.Root, "a.ready")
	e.ScriptHdr("a", "", nil, e.Daemon()+"\nREADY=\"exec /bin/sh -c 'touch "+ready+"'\"\n")
	e.ScriptHdr("b", "", []string{"Required-Start: a"}, e.Daemon()+"\nPRE_START=\"/bin/test -e "+ready+"\"\n")
	// zm makes orphans: 20 short-lived ones, and a daemon of its own in the
	// background that no stop ends (init's SIGTERM to what is left does).
	e.classic("zm", nil, `[ "$1" = start ] && { for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do (sleep 0.01 &); done; sleep 1000 </dev/null >/dev/null 2>&1 & }`)
	e.rcLink("2", "S01", "b")
	e.rcLink("2", "S02", "a")
	e.rcLink("2", "S03", "zm")
	e.rcLink("0", "K01", "a")

	ns := startInit(t, e, "--shutdown-timeout", "10s")
	ns.waitLine(t, "boot: runlevel 2:", 60*time.Second)
	out := ns.output()
	if ia, ib := lineIndex(t, out, "boot: a: started"), lineIndex(t, out, "boot: b: started"); ia > ib {
		t.Errorf("b started before a:\n%s", out)
	}
	lineIndex(t, out, "boot: zm: started")
	lineIndex(t, out, "boot: runlevel 2: 3 started, 0 failed")
	// Every orphan is reaped: the short-lived ones end, and no zombie stays in
	// the namespace (a zombie has no command line: it would stay "Z").
	eventually(t, 10*time.Second, "no zombie under init", func() (bool, string) {
		var z []string
		live := 0
		for pid, s := range ns.procs() {
			if strings.HasPrefix(s, "Z") || strings.Contains(s, "sleep 0.01") {
				z = append(z, fmt.Sprintf("%d %s", pid, s))
			} else {
				live++
			}
		}
		return len(z) == 0 && live > 0, strings.Join(z, "; ")
	})
	procs := ns.procs()
	if len(procs) < 5 { // a, b: watchdog and daemon each; zm's sleep
		t.Errorf("want the services' processes in the namespace, got %v", procs)
	}

	// SIGTERM: every service stops within the bound, nothing is left.
	start := time.Now()
	syscall.Kill(ns.pid, syscall.SIGTERM)
	if code := ns.exit(t, 20*time.Second); code != 0 {
		t.Errorf("init exited %d, want 0:\n%s", code, ns.output())
	}
	if d := time.Since(start); d > 12*time.Second {
		t.Errorf("shutdown took %v, bound 10s", d)
	}
	out = ns.output()
	for _, l := range []string{"init: terminated: shutting down", "shutdown: a: stopped", "shutdown: b: stopped", "shutdown: zm: stopped",
		"shutdown: runlevel 0: 3 stopped, 0 failed"} {
		lineIndex(t, out, l)
	}
	if lineIndex(t, out, "shutdown: b: stopped") > lineIndex(t, out, "shutdown: a: stopped") {
		t.Errorf("a stopped before b, which needs it:\n%s", out)
	}
	if strings.Contains(out, "processes left") {
		t.Errorf("SIGTERM did not end what was left:\n%s", out)
	}
	if !strings.Contains(out, "init: done: ") || strings.Contains(out, "init: done: 0 orphans") {
		t.Errorf("want the orphans counted:\n%s", out)
	}
	if left := ns.procs(); len(left) > 0 {
		t.Errorf("processes left in the namespace: %v", left)
	}
}

func TestInitMainCommand(t *testing.T) {
	e := newEnv(t)
	e.ScriptHdr("a", "", nil, e.Daemon())
	e.rcLink("2", "S01", "a")
	// CMD's exit ends init, after the shutdown, with CMD's code.
	ns := startInit(t, e, "--", "sh", "-c", "test -n \"$SVCWRAP_TEST_ID\" && exit 7")
	if code := ns.exit(t, 30*time.Second); code != 7 {
		t.Errorf("init exited %d, want 7 (the main process's):\n%s", code, ns.output())
	}
	out := ns.output()
	if lineIndex(t, out, "init: main process exited: exit 7") > lineIndex(t, out, "shutdown: a: stopped") {
		t.Errorf("the shutdown came before the main process's end:\n%s", out)
	}
	lineIndex(t, out, "boot: a: started")

	// SIGTERM reaches the main process too; init exits with its status.
	ns = startInit(t, e, "--shutdown-timeout", "5s", "--", "sleep", "1000")
	ns.waitLine(t, "init: main process sleep", 60*time.Second)
	syscall.Kill(ns.pid, syscall.SIGTERM)
	if code := ns.exit(t, 15*time.Second); code != 128+15 {
		t.Errorf("init exited %d, want 143 (sleep killed by SIGTERM):\n%s", code, ns.output())
	}
	lineIndex(t, ns.output(), "shutdown: a: stopped")
}

func TestInitSIGPWRCountsFailedStops(t *testing.T) {
	e := newEnv(t)
	e.ScriptHdr("a", "", nil, e.Daemon())
	// Two classic scripts whose stop fails: init's exit status counts them.
	e.classic("bad1", nil, `[ "$1" = stop ] && exit 1`)
	e.classic("bad2", nil, `[ "$1" = stop ] && exit 1`)
	e.rcLink("2", "S01", "a")
	e.rcLink("2", "S02", "bad1")
	e.rcLink("2", "S02", "bad2")
	ns := startInit(t, e)
	ns.waitLine(t, "boot: runlevel 2: 3 started", 60*time.Second)
	syscall.Kill(ns.pid, syscall.SIGPWR)
	if code := ns.exit(t, 20*time.Second); code != 2 {
		t.Errorf("init exited %d, want 2 (two stops failed):\n%s", code, ns.output())
	}
	out := ns.output()
	for _, l := range []string{"init: power failure: shutting down", "shutdown: a: stopped", "shutdown: bad1: failed (exit 1)", "init: done: "} {
		lineIndex(t, out, l)
	}
}
