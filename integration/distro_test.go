package integration_test

// Distro integration: what Debian's own tools see of a svcwrap service.
// Inherited file descriptors (debconf's fd 3), `svcwrap new`, the systemd
// redirect, `svcwrap unit` and systemd-sysv-generator. The tests that drive
// service, invoke-rc.d, update-rc.d and insserv against the real /etc are in
// distro_ns_test.go; they run in private mount namespaces.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pipeName is how /proc/PID/fd shows the pipe behind f.
func pipeName(t *testing.T, f *os.File) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pipe:[%d]", st.Ino)
}

// holdsNone fails when pid has any of the named files open.
func holdsNone(t *testing.T, who string, pid int, names ...string) {
	t.Helper()
	fds, err := procFds(pid)
	if err != nil {
		t.Errorf("%s %d: %v", who, pid, err)
		return
	}
	for fd, target := range fds {
		for _, n := range names {
			if target == n {
				t.Errorf("%s %d holds %s as fd %d (fds: %s): a maintainer script running it would hang", who, pid, n, fd, fdList(fds))
			}
		}
	}
}

// inheritedPipes returns ExtraFiles that put the write ends of two fresh pipes
// on fds 3 and 9 of the child (4 to 8 closed), and their read ends.
func inheritedPipes(t *testing.T) (extra []*os.File, readers []*os.File, names []string) {
	t.Helper()
	var writers []*os.File
	for i := 0; i < 2; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		readers, writers = append(readers, r), append(writers, w)
		names = append(names, pipeName(t, w))
	}
	extra = []*os.File{writers[0], nil, nil, nil, nil, nil, writers[1]}
	return extra, readers, names
}

// expectEOF reads each pipe until EOF with a deadline: only EOF proves that no
// process holds the write end any more.
func expectEOF(t *testing.T, what string, readers []*os.File) {
	t.Helper()
	for i, r := range readers {
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			t.Errorf("%s: inherited fd %d (a pipe) still open in a descendant after the CLI exited (read %d bytes, %v): dpkg and Ansible would hang", what, []int{3, 9}[i], n, err)
		}
	}
}

// TestInheritedFdsClosed is debconf's fd 3 (and any other inherited fd):
// start, restart and a custom verb run with pipes on fds 3 and 9; the pipes
// reach EOF as soon as the CLI has exited, and neither the watchdog nor the
// daemon holds them.
func TestInheritedFdsClosed(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon()+"\nCOMMAND_hello=\"/bin/echo hello\"")
		for _, verb := range []string{"start", "restart", "hello", "status"} {
			extra, readers, names := inheritedPipes(t)
			r := e.ExecWith(ExecOpts{ExtraFiles: extra}, e.InitScript(svc), verb)
			for _, f := range extra {
				if f != nil {
					f.Close()
				}
			}
			wantCode(t, r, 0)
			expectEOF(t, verb, readers)
			pid, wd := supervised(t, e, svc)
			holdsNone(t, "daemon", pid, names...)
			holdsNone(t, "watchdog", wd, names...)
			for _, fd := range []int{3, 9} {
				for _, p := range []int{pid, wd} {
					if fds, _ := procFds(p); strings.HasPrefix(fds[fd], "pipe:") {
						t.Errorf("after %s: pid %d has a pipe on fd %d (%s)", verb, p, fd, fds[fd])
					}
				}
			}
		}
		wantCode(t, e.Run(svc, "stop"), 0)
	})
}

// writeExe writes an executable file (a fake program for a test).
func writeExe(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}

// readLines returns the lines of a file, failing the test if it cannot.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func hasLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// wantLink fails unless link is a symlink to target.
func wantLink(t *testing.T, link, target string) {
	t.Helper()
	got, err := os.Readlink(link)
	if err != nil || got != target {
		t.Errorf("%s: want a symlink to %s, got %q (%v)", link, target, got, err)
	}
}

// newService runs `svcwrap new` for a tdaemon service reporting to sock, and
// registers it (env file with the test id, cleanup stop).
func newService(t *testing.T, e *Env, name, sock string, flags ...string) Result {
	t.Helper()
	e.WriteEnvFile(name)
	e.addService(name)
	args := append([]string{"new", name, "--exec", e.TDaemon + " -report " + sock, "--desc", "Test " + name}, flags...)
	return e.Admin(args...)
}

// TestNewScriptMode: `svcwrap new` writes a script-mode init script with a full
// LSB header, chkconfig and pidfile lines; it validates, refuses to overwrite,
// is idempotent, and --enable (INITDIR is not /etc/init.d here) makes rc links
// through which the service starts.
func TestNewScriptMode(t *testing.T) {
	e := newEnv(t)
	sock, events := e.Reporter(t)
	r := newService(t, e, "web", sock, "--enable")
	wantCode(t, r, 0)
	path := e.InitScript("web")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o755 || !fi.Mode().IsRegular() {
		t.Fatalf("%s: %v %v; want a 0755 file", path, fi, err)
	}
	lines := readLines(t, path)
	if lines[0] != "#!"+e.Svcwrap {
		t.Errorf("first line %q, want #!%s", lines[0], e.Svcwrap)
	}
	for _, want := range []string{
		"### BEGIN INIT INFO",
		"# Provides:          web",
		"# Required-Start:    $remote_fs $syslog",
		"# Required-Stop:     $remote_fs $syslog",
		"# Default-Start:     2 3 4 5",
		"# Default-Stop:      0 1 6",
		"# Short-Description: Test web",
		"# Description:       Test web",
		"### END INIT INFO",
		"# chkconfig: 2345 20 80",
		"# pidfile: " + e.PidfilePath("web"),
	} {
		if !hasLine(lines, want) {
			t.Errorf("%s lacks the line %q:\n%s", path, want, strings.Join(lines, "\n"))
		}
	}
	wantCode(t, e.Admin("check", "web"), 0)
	for _, l := range []string{"2", "3", "4", "5"} {
		wantLink(t, filepath.Join(e.Root, "rc"+l+".d", "S20web"), "../init.d/web")
	}
	for _, l := range []string{"0", "1", "6"} {
		wantLink(t, filepath.Join(e.Root, "rc"+l+".d", "K01web"), "../init.d/web")
	}

	// Boot: the rc link starts it; shutdown: the K link stops it.
	wantCode(t, e.Exec(filepath.Join(e.Root, "rc2.d", "S20web"), "start"), 0)
	events.WaitFor(t, 10*time.Second, isStart)
	pid, _ := supervised(t, e, "web")
	if exe := procExe(pid); exe != e.TDaemon {
		t.Errorf("daemon runs %s, want %s", exe, e.TDaemon)
	}
	wantCode(t, e.Exec(filepath.Join(e.Root, "rc0.d", "K01web"), "stop"), 0)
	waitExit(t, pid, 10*time.Second)

	// The same again: unchanged, exit 0. Different: refused, file untouched.
	before, _ := os.ReadFile(path)
	r = newService(t, e, "web", sock, "--enable")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "unchanged") {
		t.Errorf("identical new: want 'unchanged', got %s", r)
	}
	r = e.Admin("new", "web", "--exec", "/bin/sleep 60")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "--force") {
		t.Errorf("refusal does not mention --force: %s", r)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Errorf("a refused new changed %s", path)
	}
	wantCode(t, e.Admin("new", "web", "--exec", "/bin/sleep 60", "--force"), 0)
	if !hasLine(readLines(t, path), `DAEMON="/bin/sleep 60"`) {
		t.Errorf("--force did not replace %s", path)
	}

	// Bad names and bad input: exit 2, nothing written.
	for _, name := range []string{"a/b", ".hidden", "x.sh", "svcwrap", "two words", "uni@t", "rc"} {
		r := e.Admin("new", name, "--exec", "/bin/true")
		wantCode(t, r, 2)
		if !strings.Contains(r.Stderr, "service name") {
			t.Errorf("new %q: the error does not explain the name: %s", name, r)
		}
	}
	wantCode(t, e.Admin("new", "nox"), 2)
	wantCode(t, e.Admin("new", "nl", "--exec", "/bin/true", "--desc", "two\nlines"), 2)
	// An invalid definition: exit 6, with file:line, nothing left behind.
	r = e.Admin("new", "bad", "--exec", "/bin/sleep 1 ; reboot")
	wantCode(t, r, 6)
	if !strings.Contains(r.Stderr, e.InitScript("bad")+":") {
		t.Errorf("invalid definition: want the problem at %s:LINE, got %s", e.InitScript("bad"), r)
	}
	ents, _ := os.ReadDir(e.InitDir)
	for _, ent := range ents {
		if ent.Name() != "web" && ent.Name() != "forker" {
			t.Errorf("%s holds %s after refused news", e.InitDir, ent.Name())
		}
	}
	// --forks --pidfile: a daemon that backgrounds itself.
	pf := filepath.Join(e.PidDir, "forker-own.pid")
	e.WriteEnvFile("forker")
	e.addService("forker")
	wantCode(t, e.Admin("new", "forker", "--exec", e.TDaemon+" -fork -pidfile "+pf+" -report "+sock, "--forks", "--pidfile", pf), 0)
	if l := readLines(t, e.InitScript("forker")); !hasLine(l, "FORKS=yes") || !hasLine(l, "PIDFILE="+pf) || !hasLine(l, "# pidfile: "+pf) {
		t.Errorf("--forks --pidfile:\n%s", strings.Join(l, "\n"))
	}
	wantCode(t, e.Run("forker", "start"), 0)
	fpid := pidFromFile(t, pf)
	if exe := procExe(fpid); exe != e.TDaemon {
		t.Errorf("forked daemon %d runs %s", fpid, exe)
	}
	wantCode(t, e.Run("forker", "status"), 0)
	wantCode(t, e.Run("forker", "stop"), 0)
	waitExit(t, fpid, 10*time.Second)

	// A program that is not installed yet is a warning, like check.
	r = e.Admin("new", "later", "--exec", "/opt/notyet/bin/daemon")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "warning") {
		t.Errorf("missing program: want a warning, got %s", r)
	}
}

// TestNewSymlinkMode: --symlink writes CONFDIR/NAME (header included) and the
// link INITDIR/NAME -> svcwrap; --enable makes the rc links itself, and
// rc2.d/S20NAME start starts the service.
func TestNewSymlinkMode(t *testing.T) {
	e := newEnv(t)
	sock, events := e.Reporter(t)
	wantCode(t, newService(t, e, "sym", sock, "--symlink", "--enable"), 0)
	def := filepath.Join(e.ConfDir, "sym")
	if fi, err := os.Stat(def); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("%s: %v %v; want a 0644 file", def, fi, err)
	}
	lines := readLines(t, def)
	if strings.HasPrefix(lines[0], "#!") {
		t.Errorf("symlink-mode definition starts with %q; want no #! line", lines[0])
	}
	if !hasLine(lines, "# Provides:          sym") || !hasLine(lines, "# pidfile: "+e.PidfilePath("sym")) {
		t.Errorf("%s lacks the header or the pidfile line:\n%s", def, strings.Join(lines, "\n"))
	}
	wantLink(t, e.InitScript("sym"), e.Svcwrap)
	for _, l := range []string{"2", "3", "4", "5"} {
		wantLink(t, filepath.Join(e.Root, "rc"+l+".d", "S20sym"), "../init.d/sym")
	}
	for _, l := range []string{"0", "1", "6"} {
		wantLink(t, filepath.Join(e.Root, "rc"+l+".d", "K01sym"), "../init.d/sym")
	}
	wantCode(t, e.Exec(filepath.Join(e.Root, "rc2.d", "S20sym"), "start"), 0)
	events.WaitFor(t, 10*time.Second, isStart)
	pid, _ := supervised(t, e, "sym")
	wantCode(t, e.Run("sym", "status"), 0)
	wantCode(t, e.Exec(filepath.Join(e.Root, "rc6.d", "K01sym"), "stop"), 0)
	waitExit(t, pid, 10*time.Second)

	// A script-mode file where the link would go: refused without --force.
	os.Remove(e.InitScript("sym"))
	e.writeFile(e.InitScript("sym"), "#!/bin/sh\necho hand-written\n", 0o755)
	wantCode(t, newService(t, e, "sym", sock, "--symlink"), 1)
	wantCode(t, newService(t, e, "sym", sock, "--symlink", "--force"), 0)
	wantLink(t, e.InitScript("sym"), e.Svcwrap)
}

// orderingScript is a script-mode definition with a header that uses every kind
// of dependency the generator maps.
func orderingScript(e *Env, name, extra string) string {
	path := e.InitScript(name)
	e.writeFile(path, "#!"+e.Svcwrap+"\n"+
		"### BEGIN INIT INFO\n"+
		"# Provides:          "+name+"\n"+
		"# Required-Start:    $local_fs $remote_fs $syslog $network $named db\n"+
		"# Required-Stop:     $remote_fs $syslog\n"+
		"# Should-Start:      $time cache.sh\n"+
		"# X-Start-Before:    proxy\n"+
		"# Default-Start:     2 3 4 5\n"+
		"# Default-Stop:      0 1 6\n"+
		"# Short-Description: Ordered 100% test service\n"+
		"### END INIT INFO\n"+
		"# pidfile: "+e.PidfilePath(name)+"\n"+
		e.Daemon()+"\n"+extra, 0o755)
	e.WriteEnvFile(name)
	e.addService(name)
	return path
}

// unitKeys parses a unit file into key -> values, in order.
func unitKeys(text string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			m[k] = append(m[k], v)
		}
	}
	return m
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// runGenerator runs the real systemd-sysv-generator on INITDIR and the rc
// directories under root, and returns its late output directory.
func runGenerator(t *testing.T, e *Env, rcRoot string) string {
	t.Helper()
	const gen = "/lib/systemd/system-generators/systemd-sysv-generator"
	if _, err := os.Stat(gen); err != nil {
		t.Skipf("%s is not installed (package systemd)", gen)
	}
	out := filepath.Join(e.Root, "gen")
	for _, d := range []string{"normal", "early", "late"} {
		os.MkdirAll(filepath.Join(out, d), 0o755)
	}
	env := append(cleanEnviron(), "SYSTEMD_SYSVINIT_PATH="+e.InitDir, "SYSTEMD_SYSVRCND_PATH="+rcRoot, "SYSTEMD_LOG_LEVEL=warning")
	r := e.ExecWith(ExecOpts{Env: env}, gen, filepath.Join(out, "normal"), filepath.Join(out, "early"), filepath.Join(out, "late"))
	wantCode(t, r, 0)
	return filepath.Join(out, "late")
}

// TestUnit: `svcwrap unit` prints a native unit with the header's Description
// and ordering mapped as systemd-sysv-generator maps them; the real generator,
// run on the same script, agrees on the ordering; systemd-analyze verify
// accepts the unit; --install writes it and refuses to replace a foreign unit.
func TestUnit(t *testing.T) {
	e := newEnv(t)
	orderingScript(e, "ord", "RELOAD_SIGNAL=HUP\n")
	r := e.Admin("unit", "ord")
	wantCode(t, r, 0)
	u := unitKeys(r.Stdout)
	init := e.InitScript("ord")
	wantAfter := []string{"remote-fs.target", "network-online.target", "nss-lookup.target", "db.service", "time-sync.target", "cache.service"}
	for k, want := range map[string][]string{
		"Description":     {"Ordered 100%% test service"},
		"SourcePath":      {init},
		"After":           wantAfter,
		"Wants":           {"network-online.target"},
		"Before":          {"proxy.service"},
		"Type":            {"forking"},
		"GuessMainPID":    {"yes"},
		"RemainAfterExit": {"no"},
		"KillMode":        {"process"},
		"TimeoutSec":      {"5min"},
		"ExecStart":       {init + " start"},
		"ExecStop":        {init + " stop"},
		"ExecReload":      {init + " reload"},
		"WantedBy":        {"multi-user.target"},
	} {
		if !sameSet(u[k], want) {
			t.Errorf("unit %s=%q, want %q\n%s", k, u[k], want, r.Stdout)
		}
	}
	if u["PIDFile"] != nil {
		t.Errorf("supervised service: PIDFile=%q; the watchdog is the main process, not the daemon", u["PIDFile"])
	}

	// The generator on the same script: same ordering, Description "LSB: ...",
	// PIDFile from the "# pidfile:" line.
	late := runGenerator(t, e, e.Root)
	gb, err := os.ReadFile(filepath.Join(late, "ord.service"))
	if err != nil {
		t.Fatalf("the generator made no unit for ord: %v", err)
	}
	g := unitKeys(string(gb))
	for _, k := range []string{"After", "Wants", "Before"} {
		if !sameSet(g[k], u[k]) {
			t.Errorf("%s: generator %q, svcwrap unit %q", k, g[k], u[k])
		}
	}
	if !sameSet(g["Description"], []string{"LSB: Ordered 100%% test service"}) || !sameSet(g["PIDFile"], []string{e.PidfilePath("ord")}) {
		t.Errorf("generator unit: Description %q, PIDFile %q\n%s", g["Description"], g["PIDFile"], gb)
	}

	// --install, then systemd-analyze verify (works without a booted systemd).
	units := filepath.Join(e.Root, "units")
	inst := ExecOpts{Env: e.CLIEnv("SVCWRAP_UNITDIR=" + units)}
	wantCode(t, e.ExecWith(inst, e.Svcwrap, "unit", "ord", "--install"), 0)
	file := filepath.Join(units, "ord.service")
	if b, _ := os.ReadFile(file); string(b) != r.Stdout {
		t.Errorf("--install wrote\n%s\nwant what unit prints\n%s", b, r.Stdout)
	}
	verify(t, e, file)
	r2 := e.ExecWith(inst, e.Svcwrap, "unit", "ord", "--install")
	wantCode(t, r2, 0)
	if !strings.Contains(r2.Stdout, "unchanged") {
		t.Errorf("second --install: %s", r2)
	}
	e.writeFile(file, "[Service]\nExecStart=/bin/true\n", 0o644)
	wantCode(t, e.ExecWith(inst, e.Svcwrap, "unit", "ord", "--install"), 1)
	wantCode(t, e.ExecWith(inst, e.Svcwrap, "unit", "ord", "--install", "--force"), 0)

	// RESPAWN=no: no watchdog, so the daemon's pidfile is the main PID.
	orderingScript(e, "once", "RESPAWN=no\n")
	r = e.Admin("unit", "once")
	wantCode(t, r, 0)
	u = unitKeys(r.Stdout)
	if !sameSet(u["PIDFile"], []string{e.PidfilePath("once")}) || !sameSet(u["GuessMainPID"], []string{"no"}) || u["ExecReload"] != nil {
		t.Errorf("RESPAWN=no unit: PIDFile %q GuessMainPID %q ExecReload %q\n%s", u["PIDFile"], u["GuessMainPID"], u["ExecReload"], r.Stdout)
	}
	wantCode(t, e.Admin("unit", "nosuch"), 6)
}

// verify runs systemd-analyze verify on a unit file and fails on any complaint.
// --man=no: the unit's Documentation=man:svcwrap(8) is installed by the
// package, not by the test.
func verify(t *testing.T, e *Env, file string) {
	t.Helper()
	if _, err := os.Stat("/usr/bin/systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (package systemd)")
	}
	r := e.ExecWith(ExecOpts{Env: cleanEnviron()}, "/usr/bin/systemd-analyze", "verify", "--man=no", file)
	if r.Code != 0 || strings.TrimSpace(r.Stderr) != "" {
		t.Errorf("systemd-analyze verify rejects the unit:\n%s", r)
	}
}

// TestGeneratorReadsNew: the real systemd-sysv-generator turns a `svcwrap new`
// script into a unit with its Description, ordering, PIDFile and ExecStart, and
// enables it from the rc links --enable made. In symlink mode it sees no header
// at all (what the README's table says).
func TestGeneratorReadsNew(t *testing.T) {
	e := newEnv(t)
	wantCode(t, e.Admin("new", "gen", "--exec", "/bin/sleep 60", "--desc", "Generated service", "--enable"), 0)
	wantCode(t, e.Admin("new", "lnk", "--exec", "/bin/sleep 60", "--desc", "Linked service", "--symlink", "--enable"), 0)
	late := runGenerator(t, e, e.Root)
	gb, err := os.ReadFile(filepath.Join(late, "gen.service"))
	if err != nil {
		t.Fatalf("no unit for gen: %v", err)
	}
	g := unitKeys(string(gb))
	init := e.InitScript("gen")
	for k, want := range map[string][]string{
		"Description":     {"LSB: Generated service"},
		"After":           {"remote-fs.target"},
		"PIDFile":         {e.PidfilePath("gen")},
		"RemainAfterExit": {"no"},
		"ExecStart":       {init + " start"},
		"ExecStop":        {init + " stop"},
	} {
		if !sameSet(g[k], want) {
			t.Errorf("generated %s=%q, want %q\n%s", k, g[k], want, gb)
		}
	}
	if _, err := os.Lstat(filepath.Join(late, "multi-user.target.wants", "gen.service")); err != nil {
		t.Errorf("the generator did not enable gen from its rc links: %v", err)
	}
	lb, err := os.ReadFile(filepath.Join(late, "lnk.service"))
	if err != nil {
		t.Fatalf("no unit for lnk: %v", err)
	}
	l := unitKeys(string(lb))
	if l["Description"] != nil || l["After"] != nil || l["PIDFile"] != nil || !sameSet(l["RemainAfterExit"], []string{"yes"}) {
		t.Errorf("symlink mode: the generator is expected to see no header (no Description, After, PIDFile; RemainAfterExit=yes); got\n%s", lb)
	}
	// svcwrap unit reads the header from /etc/svcwrap/NAME instead.
	r := e.Admin("unit", "lnk")
	wantCode(t, r, 0)
	if u := unitKeys(r.Stdout); !sameSet(u["Description"], []string{"Linked service"}) || !sameSet(u["SourcePath"], []string{filepath.Join(e.ConfDir, "lnk")}) {
		t.Errorf("svcwrap unit lnk:\n%s", r.Stdout)
	}
}

// fakeSystemd is a fake systemd host: a directory standing for
// /run/systemd/system and a systemctl that records its argv and the redirect
// guard variable, answers `show -p LoadState|CanReload` from files, and exits
// with the code in its exit file for anything else.
type fakeSystemd struct {
	dir, runDir, systemctl, log string
}

func newFakeSystemd(t *testing.T, e *Env) *fakeSystemd {
	f := &fakeSystemd{dir: filepath.Join(e.Root, "fakesd")}
	f.runDir = filepath.Join(f.dir, "run-systemd-system")
	f.systemctl = filepath.Join(f.dir, "systemctl")
	f.log = filepath.Join(f.dir, "argv")
	os.MkdirAll(f.runDir, 0o755)
	writeExe(t, f.systemctl, `#!/bin/sh
D=`+f.dir+`
printf '%s [skip=%s]\n' "$*" "${_SYSTEMCTL_SKIP_REDIRECT:-}" >> $D/argv
case "$*" in
*"LoadState --value show"*) cat $D/loadstate 2>/dev/null || echo loaded; exit 0 ;;
*"CanReload --value show"*) cat $D/canreload 2>/dev/null || echo yes; exit 0 ;;
*is-system-running*) exit 0 ;;
*daemon-reload*) [ -f $D/loadstate-after-reload ] && mv $D/loadstate-after-reload $D/loadstate; exit 0 ;;
esac
[ -f $D/exit ] && exit $(cat $D/exit)
exit 0
`)
	return f
}

func (f *fakeSystemd) set(t *testing.T, file, value string) {
	t.Helper()
	if value == "" {
		os.Remove(filepath.Join(f.dir, file))
		return
	}
	if err := os.WriteFile(filepath.Join(f.dir, file), []byte(value+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// calls returns the recorded systemctl calls and forgets them.
func (f *fakeSystemd) calls() []string {
	b, _ := os.ReadFile(f.log)
	os.Remove(f.log)
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// env is the CLI environment on the fake host, without the harness's
// SYSTEMCTL_SKIP_REDIRECT, plus extra.
func (f *fakeSystemd) env(e *Env, extra ...string) []string {
	var env []string
	for _, kv := range e.CLIEnv() {
		if !strings.HasPrefix(kv, "SYSTEMCTL_SKIP_REDIRECT=") {
			env = append(env, kv)
		}
	}
	env = append(env, "SVCWRAP_SYSTEMD_DIR="+f.runDir, "SVCWRAP_SYSTEMCTL="+f.systemctl)
	return append(env, extra...)
}

// TestSystemdRedirect mirrors Debian's /lib/lsb/init-functions.d/40-systemd:
// on a systemd host, hand-run state changes go to systemctl; status, custom
// verbs, systemd itself as the caller, SYSTEMCTL_SKIP_REDIRECT and
// _SYSTEMCTL_SKIP_REDIRECT run directly; a masked unit does nothing.
func TestSystemdRedirect(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nCOMMAND_hello=\"/bin/echo hello\"")
	f := newFakeSystemd(t, e)
	run := func(extra []string, path string, args ...string) Result {
		return e.ExecWith(ExecOpts{Env: f.env(e, extra...)}, path, args...)
	}
	unit := svc + ".service"
	show := "-p LoadState --value show " + unit + " [skip=true]"

	// Hand-run start and stop: systemctl, nothing started here.
	for _, verb := range []string{"start", "stop", "restart", "try-restart", "force-reload", "reload"} {
		r := run(nil, e.InitScript(svc), verb)
		wantCode(t, r, 0)
		calls := f.calls()
		want := "--no-pager " + verb + " " + unit + " [skip=true]"
		if len(calls) == 0 || calls[0] != show || !hasLine(calls, want) {
			t.Errorf("%s: systemctl calls %q; want %q then %q", verb, calls, show, want)
		}
		if verb == "start" && !strings.Contains(r.Stdout, "Starting "+svc+" (via systemctl): "+unit+".") {
			t.Errorf("start: want init-functions' message, got %s", r)
		}
	}
	wantCode(t, e.Run(svc, "status"), 3) // nothing was started
	noProcs(t, e, "after redirected verbs")
	// condrestart is try-restart; an rc link and `svcwrap run` redirect too.
	wantCode(t, run(nil, e.InitScript(svc), "condrestart"), 0)
	if c := f.calls(); !hasLine(c, "--no-pager try-restart "+unit+" [skip=true]") {
		t.Errorf("condrestart: %q", c)
	}
	link := e.RcLink(svc, "S01")
	wantCode(t, run(nil, link, "stop"), 0)
	if c := f.calls(); !hasLine(c, "--no-pager stop "+unit+" [skip=true]") {
		t.Errorf("rc link stop: %q", c)
	}
	wantCode(t, run(nil, e.Svcwrap, "run", svc, "stop"), 0)
	if c := f.calls(); !hasLine(c, "--no-pager stop "+unit+" [skip=true]") {
		t.Errorf("svcwrap run stop: %q", c)
	}
	// systemctl's failure is the verb's failure.
	f.set(t, "exit", "5")
	r := run(nil, e.InitScript(svc), "start")
	wantCode(t, r, 5)
	if !strings.Contains(r.Stdout, "failed!") {
		t.Errorf("failed redirect: want 'failed!', got %s", r)
	}
	f.set(t, "exit", "")
	f.calls()

	// status and custom verbs run directly (only the LoadState query).
	wantCode(t, run(nil, e.InitScript(svc), "status"), 3)
	r = run(nil, e.InitScript(svc), "hello")
	wantCode(t, r, 0)
	if r.Stdout != "hello\n" {
		t.Errorf("custom verb: %s", r)
	}
	if c := f.calls(); len(c) != 1 || c[0] != show {
		t.Errorf("status and a custom verb: want only the custom verb's LoadState query, got %q", c)
	}

	// The ways out: each runs start for real.
	sh := filepath.Join(e.Root, "bin", "systemd")
	os.MkdirAll(filepath.Dir(sh), 0o755)
	if b, err := os.ReadFile("/bin/sh"); err == nil {
		writeExe(t, sh, string(b))
	}
	for _, c := range []struct {
		what  string
		extra []string
		path  string
		args  []string
	}{
		{"SYSTEMCTL_SKIP_REDIRECT", []string{"SYSTEMCTL_SKIP_REDIRECT=1"}, e.InitScript(svc), []string{"start"}},
		{"_SYSTEMCTL_SKIP_REDIRECT", []string{"_SYSTEMCTL_SKIP_REDIRECT=true"}, e.InitScript(svc), []string{"start"}},
		{"systemd as the caller", nil, sh, []string{"-c", `"$0" start; exit $?`, e.InitScript(svc)}},
		{"not run as INITDIR/NAME", nil, e.Svcwrap, []string{e.InitScript(svc) + "/../" + svc + "/", "start"}},
	} {
		if c.what == "not run as INITDIR/NAME" {
			// A copy of the definition outside INITDIR is not an init script.
			cp := filepath.Join(e.Root, "elsewhere", svc)
			os.MkdirAll(filepath.Dir(cp), 0o755)
			b, _ := os.ReadFile(e.InitScript(svc))
			e.writeFile(cp, string(b), 0o755)
			c.path, c.args = cp, []string{"start"}
		}
		r := run(c.extra, c.path, c.args...)
		wantCode(t, r, 0)
		for _, call := range f.calls() {
			if strings.Contains(call, "--no-pager") {
				t.Errorf("%s: redirected anyway: %q", c.what, call)
			}
		}
		pid, _ := supervised(t, e, svc)
		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid, 10*time.Second)
	}

	// reload: directly when the unit cannot reload (CanReload=no).
	f.set(t, "canreload", "no")
	wantCode(t, run(nil, e.InitScript(svc), "reload"), 3) // no RELOAD_*: svcwrap's own answer
	if c := f.calls(); hasLine(c, "--no-pager reload "+unit+" [skip=true]") {
		t.Errorf("reload with CanReload=no went to systemctl: %q", c)
	}
	f.set(t, "canreload", "")

	// A unit systemd has not loaded yet: daemon-reload first (as root), which
	// makes the generator see the script.
	f.set(t, "loadstate", "not-found")
	f.set(t, "loadstate-after-reload", "loaded")
	wantCode(t, run(nil, e.InitScript(svc), "start"), 0)
	if c := f.calls(); os.Geteuid() == 0 && (len(c) < 4 || c[1] != "--no-ask-password daemon-reload [skip=true]" || !hasLine(c, "--no-pager start "+unit+" [skip=true]")) {
		t.Errorf("not-found unit: want daemon-reload before start, got %q", c)
	}
	f.set(t, "loadstate-after-reload", "")

	// No systemd-sysv-generator (systemd 260 and later) and no native unit: the
	// unit is still not found after daemon-reload, and systemctl start could only
	// fail. start and stop run directly, with a warning naming the way out.
	if os.Geteuid() == 0 {
		f.set(t, "loadstate", "not-found")
		r := run(nil, e.InitScript(svc), "start")
		wantCode(t, r, 0)
		if !strings.Contains(r.Stderr, "systemd has no "+unit) || !strings.Contains(r.Stderr, "svcwrap unit "+svc+" --install") {
			t.Errorf("no generator: want a warning naming svcwrap unit --install, got %s", r)
		}
		c := f.calls()
		if len(c) != 3 || c[1] != "--no-ask-password daemon-reload [skip=true]" || c[2] != show {
			t.Errorf("no generator: want show, daemon-reload, show; got %q", c)
		}
		pid, _ := supervised(t, e, svc)
		wantCode(t, run(nil, e.InitScript(svc), "stop"), 0)
		waitExit(t, pid, 10*time.Second)
		if c := f.calls(); hasLine(c, "--no-pager stop "+unit+" [skip=true]") {
			t.Errorf("no generator: stop went to systemctl: %q", c)
		}
		f.set(t, "loadstate", "")
	}

	// Masked: every verb exits 0 and does nothing, but status tells the truth.
	f.set(t, "loadstate", "masked")
	for _, verb := range []string{"start", "restart", "hello"} {
		r := run([]string{"SYSTEMCTL_SKIP_REDIRECT=1"}, e.InitScript(svc), verb)
		wantCode(t, r, 0)
		if r.Stdout != "" {
			t.Errorf("masked %s printed %q", verb, r.Stdout)
		}
	}
	wantCode(t, run(nil, e.InitScript(svc), "status"), 3)
	noProcs(t, e, "after masked start")
	f.calls()

	// Not booted with systemd: never a systemctl call.
	os.Remove(f.runDir)
	f.set(t, "loadstate", "")
	wantCode(t, run(nil, e.InitScript(svc), "start"), 0)
	if c := f.calls(); c != nil {
		t.Errorf("no /run/systemd/system, but systemctl was called: %q", c)
	}
	supervised(t, e, svc)
	wantCode(t, e.Run(svc, "stop"), 0)
}
