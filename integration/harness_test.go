package integration_test

// The integration harness: TestMain builds the real svcwrap binary and the
// helper programs once, and runs the tests under a child subreaper that reaps
// every orphan and fails the run on leftover processes. Each test gets an Env:
// a private root (init.d/, svcwrap/, run/svcwrap/, run/, log/, default/,
// rc2.d/) exposed to svcwrap through SVCWRAP_* variables set only in each
// child's environment, and a cleanup that stops the test's services and then
// kills (and fails the test on) every process still carrying the test's
// SVCWRAP_TEST_ID.
//
// Rules (docs/design.md, "Tests"): no fixed sleeps (wait on pidfds, process waits
// and socket reads with deadlines; eventually() is the only poller), every
// wait is bounded, assertions come from /proc.
//
// Run: go test -count=1 ./integration/ [-v] [-run REGEXP]
//
//	SVCWRAP_RACE=1  build svcwrap with -race
//	SWTEST_KEEP=1   keep the temp root of a failed test (its path is logged)
//
// Root is needed for the tests that call requireRoot; the rest run as any
// user. A failed test logs the tail of its service logs and state files.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// innerEnv marks the re-executed test process that runs the tests.
	innerEnv = "SWTEST_SUBREAPER_INNER"
	// fixedPath is the PATH svcwrap gives every daemon (svcwrap(5), "THE SERVICE ENVIRONMENT").
	fixedPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// defaultCmdTimeout bounds every CLI command.
	defaultCmdTimeout = 60 * time.Second
	// waitDelay bounds how long a command's stdout/stderr may stay open after
	// it exited (a descendant that inherited them is a bug: it would hang
	// callers like Ansible).
	waitDelay = 5 * time.Second
)

var (
	binDir      string // $BIN: short temp dir holding the built programs
	svcwrapBin  string
	tdaemonBin  string
	godaemonBin string

	svcwrapBuildErr  error // compiler output when svcwrap/cmd/svcwrap did not build
	tdaemonBuildErr  error // ... testdata/tdaemon
	godaemonBuildErr error // ... testdata/godaemon

	runID string // unique per run; SVCWRAP_TEST_ID = runID/TestName

	sourcesOnce sync.Once
)

// ---------------------------------------------------------------------------
// TestMain: subreaper (outer) and build + m.Run (inner).

func TestMain(m *testing.M) {
	if os.Getenv(innerEnv) != "1" {
		os.Exit(subreaperMain())
	}
	os.Exit(innerMain(m))
}

// subreaperMain is the outer process: a child subreaper whose only direct
// child is the test binary itself (re-executed with innerEnv=1). Orphans of
// the tests reparent to it and are reaped here; when the inner process exits,
// every process still parented to us is a leftover: it is reported, killed,
// and the run fails.
func subreaperMain() int {
	// Pdeathsig is tied to the forking thread: keep this goroutine on it.
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "integration: PR_SET_CHILD_SUBREAPER: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	// Whatever fds the test binary inherited (a shell's, a CI runner's) must
	// not reach the tests' processes: they would show up in /proc/PID/fd.
	// Tests that want an inherited fd pass one explicitly (ExecOpts.ExtraFiles).
	closeOnExecFrom3()
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	pid, err := syscall.ForkExec(exe, os.Args, &syscall.ProcAttr{
		Env:   append(cleanEnviron(), innerEnv+"=1"),
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: re-exec test binary: %v\n", err)
		return 1
	}
	go func() {
		for s := range sigc {
			syscall.Kill(pid, s.(syscall.Signal))
		}
	}()

	var status unix.WaitStatus
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "integration: subreaper: wait4: %v\n", err)
			return 1
		}
		if wpid == pid {
			status = ws
			break
		}
	}

	code := 0
	switch {
	case status.Exited():
		code = status.ExitStatus()
	case status.Signaled():
		fmt.Fprintf(os.Stderr, "integration: test process killed by signal %v\n", status.Signal())
		code = 2
	default:
		code = 2
	}
	if left := killLeftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "integration: subreaper: %d leftover process(es) outlived the tests (killed with SIGKILL):\n", len(left))
		for _, l := range left {
			fmt.Fprintf(os.Stderr, "integration:   %s\n", l)
		}
		fmt.Fprintln(os.Stderr, "FAIL: leftover processes")
		if code == 0 {
			code = 1
		}
	}
	return code
}

// closeOnExecFrom3 marks every fd >= 3 of this process close-on-exec.
func closeOnExecFrom3() {
	if unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return
	}
	ents, _ := os.ReadDir("/proc/self/fd")
	for _, ent := range ents {
		if fd, err := strconv.Atoi(ent.Name()); err == nil && fd >= 3 {
			syscall.CloseOnExec(fd)
		}
	}
}

// killLeftovers reaps our zombies, then SIGKILLs and reaps every live process
// still parented to us, round after round (killing a parent reparents its
// children to us), and returns a description of each.
func killLeftovers() []string {
	me := os.Getpid()
	var found []string
	for round := 0; round < 50; round++ {
		reapZombies()
		kids := childrenOf(me)
		if len(kids) == 0 {
			break
		}
		for _, k := range kids {
			found = append(found, fmt.Sprintf("pid %d: %s", k, procCmdline(k)))
			syscall.Kill(k, syscall.SIGKILL)
		}
		for _, k := range kids {
			var ws unix.WaitStatus
			for {
				_, err := unix.Wait4(k, &ws, 0, nil)
				if err != unix.EINTR {
					break
				}
			}
		}
	}
	reapZombies()
	return found
}

func reapZombies() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
	}
}

// childrenOf lists the live (non-zombie) processes whose parent is ppid.
func childrenOf(ppid int) []int {
	var kids []int
	for _, pid := range allPids() {
		st, err := procStat(pid)
		if err == nil && st.Ppid == ppid && !st.Dead() {
			kids = append(kids, pid)
		}
	}
	return kids
}

// innerMain builds the binaries and runs the tests.
func innerMain(m *testing.M) int {
	flag.Parse()
	if f := flag.Lookup("test.list"); f != nil && f.Value.String() != "" {
		return m.Run()
	}
	var rnd [4]byte
	if f, err := os.Open("/dev/urandom"); err == nil {
		f.Read(rnd[:])
		f.Close()
	}
	runID = fmt.Sprintf("%d-%x", os.Getpid(), rnd)

	dir, err := os.MkdirTemp("", "sw")
	if err != nil {
		fmt.Fprintf(os.Stderr, "integration: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755) // a daemon running as another USER must reach tdaemon
	binDir = dir
	svcwrapBin = filepath.Join(dir, "svcwrap")
	tdaemonBin = filepath.Join(dir, "tdaemon")
	godaemonBin = filepath.Join(dir, "godaemon")

	// Helpers are static (no cgo): no dynamic loader holding fds while they
	// start. Each builds on its own, so one failing fails only its tests.
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		tdaemonBuildErr = goTool([]string{"CGO_ENABLED=0"}, "build", "-o", tdaemonBin, "./testdata/tdaemon")
	}()
	go func() {
		defer wg.Done()
		godaemonBuildErr = goTool([]string{"CGO_ENABLED=0"}, "build", "-o", godaemonBin, "./testdata/godaemon")
	}()
	go func() {
		defer wg.Done()
		args := []string{"build"}
		if os.Getenv("SVCWRAP_RACE") == "1" {
			args = append(args, "-race")
		}
		args = append(args, "-o", svcwrapBin, "svcwrap/cmd/svcwrap")
		svcwrapBuildErr = goTool(nil, args...)
	}()
	wg.Wait()
	if svcwrapBuildErr != nil {
		fmt.Fprintf(os.Stderr, "integration: svcwrap did not build; every test that needs it fails:\n%v\n", svcwrapBuildErr)
	}
	for _, err := range []error{tdaemonBuildErr, godaemonBuildErr} {
		if err != nil {
			fmt.Fprintf(os.Stderr, "integration: a test helper did not build:\n%v\n", err)
		}
	}
	// A race-enabled svcwrap writes its race reports to files (svcwrap keeps
	// GORACE): the watchdog's stderr is /dev/null, so this is the only way to see
	// a race in it. Any report fails the run.
	raceDir := filepath.Join(dir, "race")
	if os.Getenv("SVCWRAP_RACE") == "1" {
		os.MkdirAll(raceDir, 0o755)
		os.Setenv("GORACE", "log_path="+filepath.Join(raceDir, "svcwrap"))
	}
	code := m.Run()
	if reports, _ := filepath.Glob(filepath.Join(raceDir, "svcwrap*")); len(reports) > 0 {
		for _, r := range reports {
			b, _ := os.ReadFile(r)
			fmt.Fprintf(os.Stderr, "integration: race report of svcwrap process %s:\n%s\n", filepath.Ext(r), b)
		}
		fmt.Fprintf(os.Stderr, "integration: FAIL: %d svcwrap process(es) reported data races (see above)\n", len(reports))
		code = 1
	}
	return code
}

func goTool(env []string, args ...string) error {
	goBin, err := exec.LookPath("go") // go test puts GOROOT/bin first in PATH
	if err != nil {
		return fmt.Errorf("go tool not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Env = append(cleanEnviron(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// recordSourceDeps opens every source file of the module (once per run,
// inside m.Run) so that go test's result cache depends on them: the test
// binary does not import the product, it builds and runs it.
func recordSourceDeps() {
	sourcesOnce.Do(func() {
		os.Getenv("SVCWRAP_RACE")
		wd, err := os.Getwd()
		if err != nil {
			return
		}
		root := filepath.Dir(wd) // integration/ is at the module root
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if d.IsDir() {
				if strings.HasPrefix(d.Name(), ".") && path != root {
					return filepath.SkipDir
				}
				return nil
			}
			if n := d.Name(); strings.HasSuffix(n, ".go") || n == "go.mod" || n == "go.sum" {
				if f, err := os.Open(path); err == nil {
					f.Close()
				}
			}
			return nil
		})
	})
}

// cleanEnviron is os.Environ without the harness's and svcwrap's own markers.
func cleanEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == innerEnv || k == "_GO_DAEMON" || strings.HasPrefix(k, "SVCWRAP_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func requireSvcwrap(t testing.TB) {
	t.Helper()
	if svcwrapBuildErr != nil {
		t.Fatalf("svcwrap did not build:\n%v", svcwrapBuildErr)
	}
	if binDir == "" {
		t.Fatal("binaries were not built (TestMain did not run the build)")
	}
}

func requireHelpers(t testing.TB) {
	t.Helper()
	if tdaemonBuildErr != nil {
		t.Fatalf("tdaemon did not build:\n%v", tdaemonBuildErr)
	}
	if binDir == "" {
		t.Fatal("binaries were not built (TestMain did not run the build)")
	}
}

// requireRoot skips the test, with the reason, when not running as root.
func requireRoot(t testing.TB, reason string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("requires root: %s", reason)
	}
}

// ---------------------------------------------------------------------------
// Env: one test's private root.

// Env is a test's private svcwrap world. Its fields are absolute paths.
type Env struct {
	t *testing.T

	Root       string // temp root (short: /tmp/swtNNN)
	Bin        string // $BIN: svcwrap, tdaemon, godaemon
	Svcwrap    string // $BIN/svcwrap
	TDaemon    string // $BIN/tdaemon
	InitDir    string // SVCWRAP_INITDIR  = ROOT/init.d
	ConfDir    string // SVCWRAP_CONFDIR  = ROOT/svcwrap
	RunDir     string // SVCWRAP_RUNDIR   = ROOT/run/svcwrap
	PidDir     string // SVCWRAP_PIDDIR   = ROOT/run
	LogDir     string // SVCWRAP_LOGDIR   = ROOT/log
	DefaultDir string // SVCWRAP_DEFAULTS = ROOT/default
	RcDir      string // ROOT/rc2.d
	TestID     string // SVCWRAP_TEST_ID  = runID/TestName

	// Timeout bounds each command run through this Env (default 60 s).
	Timeout time.Duration

	mu       sync.Mutex
	services []string
	nsock    int
}

// newEnv returns an Env for a test that drives svcwrap; it fails the test
// at once (with the compiler output) if svcwrap did not build.
func newEnv(t *testing.T) *Env {
	t.Helper()
	requireSvcwrap(t)
	return newBareEnv(t)
}

// newBareEnv returns an Env that needs only tdaemon (harness self-tests,
// go-daemon demonstration). Its cleanup stops every service the
// test defined, checks that no service lock is still held, then kills every
// process carrying the test's SVCWRAP_TEST_ID and fails the test if there
// was any.
func newBareEnv(t *testing.T) *Env {
	t.Helper()
	requireHelpers(t)
	recordSourceDeps()
	root, err := os.MkdirTemp("", "swt")
	if err != nil {
		t.Fatal(err)
	}
	e := &Env{
		t:          t,
		Root:       root,
		Bin:        binDir,
		Svcwrap:    svcwrapBin,
		TDaemon:    tdaemonBin,
		InitDir:    filepath.Join(root, "init.d"),
		ConfDir:    filepath.Join(root, "svcwrap"),
		RunDir:     filepath.Join(root, "run", "svcwrap"),
		PidDir:     filepath.Join(root, "run"),
		LogDir:     filepath.Join(root, "log"),
		DefaultDir: filepath.Join(root, "default"),
		RcDir:      filepath.Join(root, "rc2.d"),
		TestID:     runID + "/" + t.Name(),
		Timeout:    defaultCmdTimeout,
	}
	for _, d := range []string{root, e.InitDir, e.ConfDir, e.PidDir, e.RunDir, e.LogDir, e.DefaultDir, e.RcDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(e.cleanup)
	return e
}

func (e *Env) cleanup() {
	t := e.t
	e.mu.Lock()
	services := append([]string(nil), e.services...)
	e.mu.Unlock()
	for i := len(services) - 1; i >= 0; i-- {
		name := services[i]
		if r := e.Run(name, "stop"); r.Code != 0 || r.Err != nil {
			t.Logf("cleanup: %s", r)
		}
	}
	for _, name := range services {
		if holder := lockHeld(filepath.Join(e.RunDir, name+".lock")); holder != "" {
			t.Errorf("cleanup: %s still locked after stop: %s", filepath.Join(e.RunDir, name+".lock"), holder)
		}
	}
	if leaks := sweepTestID(e.TestID); len(leaks) > 0 {
		t.Errorf("cleanup: %d process(es) carrying SVCWRAP_TEST_ID=%s outlived the test (killed with SIGKILL):\n  %s",
			len(leaks), e.TestID, strings.Join(leaks, "\n  "))
	}
	if t.Failed() {
		e.dumpFiles()
	}
	if os.Getenv("SWTEST_KEEP") != "" && t.Failed() {
		t.Logf("keeping %s (SWTEST_KEEP)", e.Root)
		return
	}
	os.RemoveAll(e.Root)
}

// dumpFiles logs the tail of every log and state file, for failed tests.
func (e *Env) dumpFiles() {
	for _, dir := range []string{e.LogDir, e.RunDir} {
		ents, _ := os.ReadDir(dir)
		for _, ent := range ents {
			if ent.IsDir() || strings.HasSuffix(ent.Name(), ".lock") {
				continue
			}
			p := filepath.Join(dir, ent.Name())
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if len(b) > 4096 {
				b = append([]byte("...\n"), b[len(b)-4096:]...)
			}
			e.t.Logf("%s:\n%s", p, b)
		}
	}
}

// lockHeld reports who holds path's flock ("" when free or absent).
func lockHeld(path string) string {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err == unix.EWOULDBLOCK {
		return "flock held by another open file description"
	}
	unix.Flock(fd, unix.LOCK_UN)
	return ""
}

// sweepTestID kills (SIGKILL) every process whose initial environment holds
// SVCWRAP_TEST_ID=id, waits for each to die, and describes what it found.
func sweepTestID(id string) []string {
	var found []string
	for round := 0; round < 10; round++ {
		procs := procsWithTestID(id)
		if len(procs) == 0 {
			break
		}
		for _, p := range procs {
			found = append(found, fmt.Sprintf("pid %d (ppid %d): %s", p.Pid, p.Ppid, p.Cmdline))
			syscall.Kill(p.Pid, syscall.SIGKILL)
		}
		for _, p := range procs {
			waitExitErr(p.Pid, 10*time.Second)
		}
	}
	return found
}

// ProcInfo describes a live process found in /proc.
type ProcInfo struct {
	Pid, Ppid int
	Exe       string
	Cmdline   string
}

// procsWithTestID lists the live processes (not zombies, not this process)
// whose /proc/PID/environ holds exactly SVCWRAP_TEST_ID=id.
func procsWithTestID(id string) []ProcInfo {
	want := []byte("SVCWRAP_TEST_ID=" + id)
	me := os.Getpid()
	var out []ProcInfo
	for _, pid := range allPids() {
		if pid == me {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		match := false
		for _, kv := range bytes.Split(b, []byte{0}) {
			if bytes.Equal(kv, want) {
				match = true
				break
			}
		}
		if !match {
			continue
		}
		st, err := procStat(pid)
		if err != nil || st.Dead() {
			continue
		}
		out = append(out, ProcInfo{Pid: pid, Ppid: st.Ppid, Exe: procExe(pid), Cmdline: procCmdline(pid)})
	}
	return out
}

// Procs lists the live processes of this test (by SVCWRAP_TEST_ID).
func (e *Env) Procs() []ProcInfo { return procsWithTestID(e.TestID) }

func (e *Env) addService(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.services {
		if s == name {
			return
		}
	}
	e.services = append(e.services, name)
}

// writeFile writes a root-owned file with exactly mode perm.
func (e *Env) writeFile(path, content string, perm os.FileMode) {
	e.t.Helper()
	if err := os.WriteFile(path, []byte(content), perm); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil {
		e.t.Fatal(err)
	}
}

// lsbHeader is the LSB comment block Script writes for name.
func lsbHeader(name string) string {
	return "### BEGIN INIT INFO\n" +
		"# Provides:          " + name + "\n" +
		"# Required-Start:    $remote_fs $syslog\n" +
		"# Required-Stop:     $remote_fs $syslog\n" +
		"# Default-Start:     2 3 4 5\n" +
		"# Default-Stop:      0 1 6\n" +
		"# Short-Description: svcwrap test service " + name + "\n" +
		"### END INIT INFO\n"
}

// Script defines name in script mode: INITDIR/NAME = "#!$BIN/svcwrap", an LSB
// header and body, mode 0755. It also writes the env file DEFAULTDIR/NAME
// (SVCWRAP_TEST_ID plus extraEnv lines). It returns the definition's path.
func (e *Env) Script(name, body string, extraEnv ...string) string {
	e.t.Helper()
	path := filepath.Join(e.InitDir, name)
	e.writeFile(path, "#!"+e.Svcwrap+"\n"+lsbHeader(name)+withNewline(body), 0o755)
	e.WriteEnvFile(name, extraEnv...)
	e.addService(name)
	return path
}

// Symlink defines name in symlink mode: INITDIR/NAME -> $BIN/svcwrap and the
// definition CONFDIR/NAME (mode 0644), plus the env file as Script does. It
// returns the definition's path.
func (e *Env) Symlink(name, body string, extraEnv ...string) string {
	e.t.Helper()
	def := filepath.Join(e.ConfDir, name)
	e.writeFile(def, withNewline(body), 0o644)
	link := filepath.Join(e.InitDir, name)
	os.Remove(link)
	if err := os.Symlink(e.Svcwrap, link); err != nil {
		e.t.Fatal(err)
	}
	e.WriteEnvFile(name, extraEnv...)
	e.addService(name)
	return def
}

// WriteEnvFile writes DEFAULTDIR/NAME (0644): SVCWRAP_TEST_ID, which lets
// the leak sweep find the daemon, then the given lines.
func (e *Env) WriteEnvFile(name string, lines ...string) string {
	e.t.Helper()
	path := filepath.Join(e.DefaultDir, name)
	content := "SVCWRAP_TEST_ID='" + e.TestID + "'\n"
	for _, l := range lines {
		content += withNewline(l)
	}
	e.writeFile(path, content, 0o644)
	return path
}

// RcLink creates ROOT/rc2.d/PREFIX+NAME -> ../init.d/NAME and returns it.
func (e *Env) RcLink(name, prefix string) string {
	e.t.Helper()
	link := filepath.Join(e.RcDir, prefix+name)
	if err := os.Symlink(filepath.Join("..", "init.d", name), link); err != nil {
		e.t.Fatal(err)
	}
	return link
}

// InitScript is INITDIR/NAME.
func (e *Env) InitScript(name string) string { return filepath.Join(e.InitDir, name) }

// PidfilePath is the default pidfile PIDDIR/NAME.pid.
func (e *Env) PidfilePath(name string) string { return filepath.Join(e.PidDir, name+".pid") }

// LogPath is the default log LOGDIR/NAME.log.
func (e *Env) LogPath(name string) string { return filepath.Join(e.LogDir, name+".log") }

// Daemon returns a DAEMON= line running tdaemon with args (no spaces or
// quotes in args).
func (e *Env) Daemon(args ...string) string {
	return `DAEMON="` + strings.Join(append([]string{e.TDaemon}, args...), " ") + `"`
}

func withNewline(s string) string {
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}

// ---------------------------------------------------------------------------
// Running commands.

// Result is what one command did.
type Result struct {
	Cmd    string
	Code   int // exit code; 128+N when killed by signal N; -1 when it did not run
	Stdout string
	Stderr string
	Dur    time.Duration
	Err    error // did not run, timed out, killed by a signal, or output held open
}

func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: exit %d in %v", r.Cmd, r.Code, r.Dur.Round(time.Millisecond))
	if r.Err != nil {
		fmt.Fprintf(&b, " (%v)", r.Err)
	}
	if r.Stdout != "" {
		fmt.Fprintf(&b, "\n  stdout: %s", strings.ReplaceAll(strings.TrimRight(r.Stdout, "\n"), "\n", "\n          "))
	}
	if r.Stderr != "" {
		fmt.Fprintf(&b, "\n  stderr: %s", strings.ReplaceAll(strings.TrimRight(r.Stderr, "\n"), "\n", "\n          "))
	}
	return b.String()
}

// Output is stdout and stderr together.
func (r Result) Output() string { return r.Stdout + r.Stderr }

// ExecOpts changes how Env.ExecWith runs a command.
type ExecOpts struct {
	Env     []string      // whole environment; nil: Env.CLIEnv()
	Stdout  *os.File      // nil: captured in Result.Stdout
	Stderr  *os.File      // nil: captured in Result.Stderr
	Timeout time.Duration // 0: Env.Timeout
	// ExtraFiles are inherited as fds 3, 4, ... (like debconf's fd 3).
	ExtraFiles []*os.File
}

// SvcwrapEnv is the variables that point svcwrap at this Env's root, plus
// SVCWRAP_TEST_ID and SYSTEMCTL_SKIP_REDIRECT (never hand a command to a
// host's systemctl).
func (e *Env) SvcwrapEnv() []string {
	return []string{
		"SVCWRAP_INITDIR=" + e.InitDir,
		"SVCWRAP_CONFDIR=" + e.ConfDir,
		"SVCWRAP_RUNDIR=" + e.RunDir,
		"SVCWRAP_PIDDIR=" + e.PidDir,
		"SVCWRAP_LOGDIR=" + e.LogDir,
		"SVCWRAP_DEFAULTS=" + e.DefaultDir,
		"SVCWRAP_TEST_ID=" + e.TestID,
		"SYSTEMCTL_SKIP_REDIRECT=1",
	}
}

// CLIEnv is the default environment of a command: the test's environment
// (without SVCWRAP_* and harness markers), SvcwrapEnv and extra.
func (e *Env) CLIEnv(extra ...string) []string {
	env := append(cleanEnviron(), e.SvcwrapEnv()...)
	return append(env, extra...)
}

// Run runs INITDIR/NAME VERB ARGS...
func (e *Env) Run(name, verb string, args ...string) Result {
	return e.Exec(e.InitScript(name), append([]string{verb}, args...)...)
}

// Admin runs $BIN/svcwrap ARGS...
func (e *Env) Admin(args ...string) Result {
	return e.Exec(e.Svcwrap, args...)
}

// Exec runs path ARGS... with the default options.
func (e *Env) Exec(path string, args ...string) Result {
	return e.ExecWith(ExecOpts{}, path, args...)
}

// ExecWith runs path ARGS... under a deadline, with stdin /dev/null and cwd
// "/". It is safe to call from several goroutines; it never fails the test.
func (e *Env) ExecWith(o ExecOpts, path string, args ...string) Result {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = e.Timeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = o.Env
	if cmd.Env == nil {
		cmd.Env = e.CLIEnv()
	}
	cmd.Dir = "/"
	cmd.ExtraFiles = o.ExtraFiles
	cmd.WaitDelay = waitDelay
	var stdout, stderr bytes.Buffer
	if o.Stdout != nil {
		cmd.Stdout = o.Stdout
	} else {
		cmd.Stdout = &stdout
	}
	if o.Stderr != nil {
		cmd.Stderr = o.Stderr
	} else {
		cmd.Stderr = &stderr
	}
	r := Result{Cmd: strings.Join(append([]string{shortPath(path)}, args...), " ")}
	start := time.Now()
	err := cmd.Run()
	r.Dur = time.Since(start)
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	r.Code = -1
	if ps := cmd.ProcessState; ps != nil {
		r.Code = ps.ExitCode()
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Code = 128 + int(ws.Signal())
			r.Err = fmt.Errorf("killed by signal %v", ws.Signal())
		}
	}
	switch {
	case ctx.Err() != nil:
		r.Err = fmt.Errorf("timed out after %v and was killed", timeout)
	case errors.Is(err, exec.ErrWaitDelay):
		r.Err = fmt.Errorf("stdout/stderr still held open by a descendant %v after it exited", waitDelay)
	case err != nil && cmd.ProcessState == nil:
		r.Err = err
	}
	return r
}

func shortPath(p string) string {
	if binDir != "" && strings.HasPrefix(p, binDir+"/") {
		return "$BIN/" + p[len(binDir)+1:]
	}
	return p
}

// wantCode fails the test unless r ran cleanly and exited with one of codes.
func wantCode(t testing.TB, r Result, codes ...int) {
	t.Helper()
	if r.Err == nil {
		for _, c := range codes {
			if r.Code == c {
				return
			}
		}
	}
	t.Fatalf("want exit %v, got:\n%s", codes, r)
}

// checkCode is wantCode that lets the test go on.
func checkCode(t testing.TB, r Result, codes ...int) bool {
	t.Helper()
	if r.Err == nil {
		for _, c := range codes {
			if r.Code == c {
				return true
			}
		}
	}
	t.Errorf("want exit %v, got:\n%s", codes, r)
	return false
}

// ListEntry is one object of `svcwrap list --json`.
type ListEntry struct {
	Name        string `json:"name"`
	State       string `json:"state"`
	Pid         int    `json:"pid"`
	WatchdogPid int    `json:"watchdog_pid"`
	Started     string `json:"started"`
	Respawns    int    `json:"respawns"`
	LastExit    string `json:"last_exit"`
	Definition  string `json:"definition"`
	Template    string `json:"template"`
	Instance    string `json:"instance"`
	StatusText  string `json:"status_text"`
	LastRestart string `json:"last_restart"`
	OOMKills    int    `json:"oom_kills"`
}

// ListE runs `svcwrap list --json` and decodes it.
func (e *Env) ListE() ([]ListEntry, error) {
	r := e.Admin("list", "--json")
	if r.Err != nil || r.Code != 0 {
		return nil, fmt.Errorf("%s", r)
	}
	var out []ListEntry
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		return nil, fmt.Errorf("list --json: %v in %q", err, r.Stdout)
	}
	return out, nil
}

// List is ListE that fails the test on error.
func (e *Env) List(t testing.TB) []ListEntry {
	t.Helper()
	l, err := e.ListE()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// EntryE is name's entry in `list --json`.
func (e *Env) EntryE(name string) (ListEntry, error) {
	l, err := e.ListE()
	if err != nil {
		return ListEntry{}, err
	}
	for _, ent := range l {
		if ent.Name == name {
			return ent, nil
		}
	}
	return ListEntry{}, fmt.Errorf("no %q in list --json: %+v", name, l)
}

// Entry is EntryE that fails the test on error.
func (e *Env) Entry(t testing.TB, name string) ListEntry {
	t.Helper()
	ent, err := e.EntryE(name)
	if err != nil {
		t.Fatal(err)
	}
	return ent
}

// PidE reads the default pidfile PIDDIR/NAME.pid.
func (e *Env) PidE(name string) (int, error) {
	b, err := os.ReadFile(e.PidfilePath(name))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("%s: bad content %q", e.PidfilePath(name), b)
	}
	return pid, nil
}

// Pid is PidE that fails the test on error.
func (e *Env) Pid(t testing.TB, name string) int {
	t.Helper()
	pid, err := e.PidE(name)
	if err != nil {
		t.Fatalf("pidfile: %v", err)
	}
	return pid
}

// ---------------------------------------------------------------------------
// Report socket: tdaemon's events.

// Event is one datagram from tdaemon.
type Event struct {
	Ev       string `json:"ev"` // start, signal, listening, child
	Pid      int    `json:"pid"`
	Ppid     int    `json:"ppid"`
	Pgid     int    `json:"pgid"`
	Sid      int    `json:"sid"`
	T        int64  `json:"t"` // unix nanoseconds at tdaemon's main
	Sig      string `json:"sig"`
	Addr     string `json:"addr"`
	Children []int  `json:"children"`
	Raw      string `json:"-"`
}

// Events reads a report socket.
type Events struct {
	Path    string
	conn    *net.UnixConn
	backlog []Event
}

// Reporter opens a report socket under the Env's root.
func (e *Env) Reporter(t testing.TB) (string, *Events) {
	t.Helper()
	e.mu.Lock()
	e.nsock++
	n := e.nsock
	e.mu.Unlock()
	return newReporter(t, filepath.Join(e.Root, fmt.Sprintf("r%d.sock", n)))
}

func newReporter(t testing.TB, path string) (string, *Events) {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o666) // a daemon running as another USER may report too
	t.Cleanup(func() { conn.Close() })
	return path, &Events{Path: path, conn: conn}
}

func (ev *Events) read(timeout time.Duration) (Event, error) {
	if len(ev.backlog) > 0 {
		e := ev.backlog[0]
		ev.backlog = ev.backlog[1:]
		return e, nil
	}
	ev.conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 65536)
	n, _, err := ev.conn.ReadFrom(buf)
	if err != nil {
		return Event{}, err
	}
	return decodeEvent(buf[:n]), nil
}

func decodeEvent(b []byte) Event {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		e.Ev = "undecodable"
	}
	e.Raw = string(b)
	return e
}

// Next returns the next event, failing the test if none comes in timeout.
func (ev *Events) Next(t testing.TB, timeout time.Duration) Event {
	t.Helper()
	e, err := ev.read(timeout)
	if err != nil {
		t.Fatalf("no event on %s within %v: %v", ev.Path, timeout, err)
	}
	return e
}

// WaitFor returns the first event (queued or new) for which pred is true;
// the others stay queued for later calls. It fails the test after timeout.
func (ev *Events) WaitFor(t testing.TB, timeout time.Duration, pred func(Event) bool) Event {
	t.Helper()
	for i, e := range ev.backlog {
		if pred(e) {
			ev.backlog = append(ev.backlog[:i:i], ev.backlog[i+1:]...)
			return e
		}
	}
	deadline := time.Now().Add(timeout)
	var skipped []Event
	defer func() { ev.backlog = append(ev.backlog, skipped...) }()
	buf := make([]byte, 65536)
	for {
		ev.conn.SetReadDeadline(deadline)
		n, _, err := ev.conn.ReadFrom(buf)
		if err != nil {
			var seen []string
			for _, s := range append(append([]Event(nil), ev.backlog...), skipped...) {
				seen = append(seen, s.Raw)
			}
			t.Fatalf("no matching event on %s within %v (%v); other events: %v", ev.Path, timeout, err, seen)
		}
		e := decodeEvent(buf[:n])
		if pred(e) {
			return e
		}
		skipped = append(skipped, e)
	}
}

// Drain returns every event queued now (the backlog and every datagram
// already in the socket), without waiting.
func (ev *Events) Drain() []Event {
	out := ev.backlog
	ev.backlog = nil
	ev.conn.SetReadDeadline(time.Time{})
	rc, err := ev.conn.SyscallConn()
	if err != nil {
		return out
	}
	buf := make([]byte, 65536)
	for {
		var n int
		var rerr error
		rc.Read(func(fd uintptr) bool {
			n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
			return true
		})
		if rerr != nil || n <= 0 {
			return out
		}
		out = append(out, decodeEvent(buf[:n]))
	}
}

// isStart matches tdaemon's start event.
func isStart(e Event) bool { return e.Ev == "start" }

// ---------------------------------------------------------------------------
// Waiting.

// eventually polls cond with growing backoff (1 ms doubling to 200 ms) until
// it reports ok, and fails the test after timeout with what and the last
// observed value. It is the harness's only poller: use it only where the
// kernel has no event (a file appearing, a group becoming empty, a state
// file changing).
func eventually(t testing.TB, timeout time.Duration, what string, cond func() (ok bool, observed string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	delay := time.Millisecond
	for {
		ok, observed := cond()
		if ok {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("timed out after %v waiting for %s; last observed: %s", timeout, what, observed)
		}
		timer := time.NewTimer(min(delay, left))
		<-timer.C
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// waitExit waits (pidfd + poll) until pid has exited, failing the test after
// timeout. It works for processes that are not our children; a zombie counts
// as exited.
func waitExit(t testing.TB, pid int, timeout time.Duration) {
	t.Helper()
	if err := waitExitErr(pid, timeout); err != nil {
		t.Fatal(err)
	}
}

// waitExitErr is waitExit returning an error instead of failing.
func waitExitErr(pid int, timeout time.Duration) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err == unix.ESRCH {
		return nil // gone and reaped
	}
	if err != nil {
		return fmt.Errorf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms < 0 {
			ms = 0
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll pidfd of %d: %v", pid, err)
		}
		if n > 0 {
			return nil
		}
		if ms == 0 {
			st, _ := procStat(pid)
			return fmt.Errorf("pid %d still alive after %v: %s (state %s, ppid %d)", pid, timeout, procCmdline(pid), st.State, st.Ppid)
		}
	}
}

// ---------------------------------------------------------------------------
// /proc.

// ProcStat is the part of /proc/PID/stat the tests use.
type ProcStat struct {
	Pid       int
	Comm      string
	State     string // R, S, D, Z, T, ...
	Ppid      int
	Pgrp      int
	Session   int
	TtyNr     int
	Nice      int
	StartTime uint64 // field 22, clock ticks since boot
}

// Dead reports a zombie (or dead) process.
func (s ProcStat) Dead() bool { return s.State == "Z" || s.State == "X" }

// procStat parses /proc/PID/stat; comm is taken up to the LAST ')'.
func procStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcStat{}, err
	}
	return parseStat(string(b))
}

func parseStat(s string) (ProcStat, error) {
	open := strings.IndexByte(s, '(')
	closing := strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return ProcStat{}, fmt.Errorf("malformed stat %q", s)
	}
	var st ProcStat
	var err error
	if st.Pid, err = strconv.Atoi(strings.TrimSpace(s[:open])); err != nil {
		return ProcStat{}, fmt.Errorf("malformed stat %q", s)
	}
	st.Comm = s[open+1 : closing]
	f := strings.Fields(s[closing+1:])
	// f[0] is field 3 (state); field N is f[N-3].
	if len(f) < 20 {
		return ProcStat{}, fmt.Errorf("short stat %q", s)
	}
	atoi := func(i int) int {
		v, e := strconv.Atoi(f[i])
		if e != nil && err == nil {
			err = fmt.Errorf("stat field %d: %v", i+3, e)
		}
		return v
	}
	st.State = f[0]
	st.Ppid = atoi(1)
	st.Pgrp = atoi(2)
	st.Session = atoi(3)
	st.TtyNr = atoi(4)
	st.Nice = atoi(16)
	st.StartTime, err = strconv.ParseUint(f[19], 10, 64)
	return st, err
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st, err := procStat(pid)
	return err == nil && !st.Dead()
}

// procEnviron is /proc/PID/environ (the initial environment).
func procEnviron(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil, err
	}
	var env []string
	for _, kv := range strings.Split(string(b), "\x00") {
		if kv != "" {
			env = append(env, kv)
		}
	}
	return env, nil
}

// procStatus is /proc/PID/status as key → value (e.g. "Uid", "SigIgn").
func procStatus(pid int) (map[string]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m, nil
}

// procFds maps each open fd of pid to its /proc/PID/fd link target.
func procFds(pid int) (map[int]string, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	m := map[int]string{}
	for _, ent := range ents {
		fd, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		target, err := os.Readlink(filepath.Join(dir, ent.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		m[fd] = target
	}
	return m, nil
}

// fdList renders procFds sorted, for messages.
func fdList(m map[int]string) string {
	var fds []int
	for fd := range m {
		fds = append(fds, fd)
	}
	sort.Ints(fds)
	var parts []string
	for _, fd := range fds {
		parts = append(parts, fmt.Sprintf("%d->%s", fd, m[fd]))
	}
	return strings.Join(parts, " ")
}

// Limit is one line of /proc/PID/limits.
type Limit struct{ Soft, Hard string }

// procLimits is /proc/PID/limits keyed by the limit's name ("Max open files").
func procLimits(pid int) (map[string]Limit, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return nil, err
	}
	m := map[string]Limit{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if len(line) < 26 {
			continue
		}
		f := strings.Fields(line[26:])
		if len(f) >= 2 {
			m[strings.TrimSpace(line[:26])] = Limit{Soft: f[0], Hard: f[1]}
		}
	}
	return m, nil
}

func procExe(pid int) string {
	s, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return s
}

func procCmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

func allPids() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, ent := range ents {
		if pid, err := strconv.Atoi(ent.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// ---------------------------------------------------------------------------
// Processes the tests start themselves.

// Proc is a helper process that the test started itself (a direct child).
type Proc struct {
	Cmd  *exec.Cmd
	Pid  int
	done chan struct{}
	err  error
}

// startProc starts path ARGS... as a direct child of the test (stdin, stdout
// and stderr /dev/null), with a cleanup that kills and reaps it. env nil
// means cleanEnviron(). Use startProcCmd to set up the Cmd yourself.
func startProc(t testing.TB, env []string, path string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	if env == nil {
		cmd.Env = cleanEnviron()
	}
	return startProcCmd(t, cmd)
}

// startProcCmd starts cmd and registers a cleanup that kills and reaps it.
func startProcCmd(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, Pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			t.Errorf("helper pid %d did not exit 10s after SIGKILL", p.Pid)
		}
	})
	return p
}

// Wait waits (bounded) for the process to exit and returns its state.
func (p *Proc) Wait(t testing.TB, timeout time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-p.done:
		return p.Cmd.ProcessState
	case <-time.After(timeout):
		t.Fatalf("pid %d (%s) did not exit within %v", p.Pid, procCmdline(p.Pid), timeout)
		return nil
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
