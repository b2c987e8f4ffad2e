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
		if ent.Name() != "web" {
			t.Errorf("%s holds %s after refused news", e.InitDir, ent.Name())
		}
	}
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
