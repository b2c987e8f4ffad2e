package integration_test

// Drop-in replacements for the init scripts of Debian 12's daemons
// (examples/debian/NAME): each runs the real daemon from its package, over the
// package's own configuration and /etc/default/NAME, as /etc/init.d/NAME in a
// private mount and network namespace (copy-on-write overlays of /etc, /run,
// /var/lib, /var/log, ...; only loopback up, so the daemon binds its configured
// ports without meeting the host's). Each is driven through every verb the
// Debian script offers and asserted from /proc and from the daemon itself,
// which must answer its own client: start, status, reload, each custom verb,
// kill -9 and the respawn, a kill -9 after its runtime directory was removed,
// stop.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// debianExample is one drop-in definition and how to see its daemon work.
type debianExample struct {
	name    string // examples/debian/NAME, installed as /etc/init.d/NAME
	program string // the daemon's executable (the test skips when it is missing)
	user    string // the user the daemon runs as
	pidfile string // PIDFILE
	runDir  string // a DIRS directory: removed before a kill -9, made again by the respawn
	// setup prepares what the package's postinst would have (a cluster, a
	// config file), before start.
	setup func(t *testing.T, ns *pkgNS)
	// answers asks the daemon through its own client, in the namespace.
	answers func(ns *pkgNS) error
	// verbs are the example's custom verbs, each with what proves it worked.
	verbs []verbCheck
	// reloadKeepsPID: reload signals the daemon, which stays the same process.
	reloadKeepsPID bool
	// noReload: the Debian script has no reload (reload exits 3 and changes
	// nothing; force-reload restarts).
	noReload bool
	// defaults are lines added to the package's /etc/default/NAME.
	defaults []string
}

type verbCheck struct {
	args  []string
	code  int
	check func(t *testing.T, ns *pkgNS, r Result) // may be nil
}

// debianNS is the namespace of a Debian example.
func debianNS(t *testing.T, e *Env) *pkgNS {
	return newPkgNSWith(t, e, nsOptions{net: true, overlays: []string{"/var/lib", "/var/cache", "/var/spool", "/srv", "/home"}})
}

// inNS runs a client inside the namespace and fails unless it exits 0 and its
// output contains want.
func inNS(ns *pkgNS, want string, path string, args ...string) error {
	r := ns.ExecWith(nil, 20*time.Second, path, args...)
	if r.Err != nil || r.Code != 0 || !strings.Contains(r.Stdout+r.Stderr, want) {
		return fmt.Errorf("%s: want %q in its output", r, want)
	}
	return nil
}

// nsProcs lists the live processes of the namespace that run program.
func nsProcs(ns *pkgNS, program string) []int {
	want, err := filepath.EvalSymlinks(program)
	if err != nil {
		want = program
	}
	mnt, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", ns.pid))
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, ent := range ents {
		var pid int
		if _, err := fmt.Sscanf(ent.Name(), "%d", &pid); err != nil || !alive(pid) {
			continue
		}
		if m, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); m == mnt && procExe(pid) == want {
			out = append(out, pid)
		}
	}
	return out
}

func runDebianExample(t *testing.T, x debianExample) {
	requireRoot(t, "runs "+x.name+" from its Debian package as /etc/init.d/"+x.name+" in a private mount and network namespace")
	if _, err := os.Stat(x.program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", x.program, err)
	}
	e := newEnv(t)
	ns := debianNS(t, e)
	script := installDebianExample(t, ns, x)

	wantCode(t, ns.Exec(script, "start"), 0)
	pid := runningAs(t, ns, x.pidfile, x.program, x.user)
	if err := x.answers(ns); err != nil {
		t.Fatalf("after start (READY passed): %v", err)
	}
	wantCode(t, ns.Exec(script, "start"), 0) // already running
	if got := ns.Pid(x.pidfile); got != pid {
		t.Fatalf("a second start changed the daemon: %d, was %d", got, pid)
	}
	if r := ns.Exec(script, "status"); r.Code != 0 || !strings.Contains(r.Stdout, fmt.Sprintf("running (pid %d", pid)) {
		t.Errorf("status: %s", r)
	}

	if x.noReload {
		// No reload in the script: unimplemented, and nothing changes;
		// force-reload is the script's restart.
		wantCode(t, ns.Exec(script, "reload"), 3)
		if got := ns.Pid(x.pidfile); got != pid || !alive(pid) {
			t.Errorf("reload changed the daemon: pid %d, was %d", got, pid)
		}
		wantCode(t, ns.Exec(script, "force-reload"), 0)
		waitExit(t, pid, 30*time.Second)
		if got := runningAs(t, ns, x.pidfile, x.program, x.user); got == pid {
			t.Errorf("force-reload did not restart the daemon (pid %d)", got)
		}
		if err := x.answers(ns); err != nil {
			t.Errorf("after force-reload: %v", err)
		}
	} else {
		wantCode(t, ns.Exec(script, "reload"), 0)
		if x.reloadKeepsPID {
			if got := ns.Pid(x.pidfile); got != pid || !alive(pid) {
				t.Errorf("reload replaced the daemon: pid %d, was %d", got, pid)
			}
		}
		eventually(t, 30*time.Second, x.name+" to answer after reload", func() (bool, string) {
			err := x.answers(ns)
			return err == nil, fmt.Sprint(err)
		})
		wantCode(t, ns.Exec(script, "force-reload"), 0)
	}

	for _, v := range x.verbs {
		r := ns.Exec(script, v.args...)
		if !checkCode(t, r, v.code) {
			continue
		}
		if v.check != nil {
			v.check(t, ns, r)
		}
	}
	if r := ns.Exec(script, "help"); r.Code != 0 || !strings.Contains(r.Stdout, "Usage: "+script+" {") {
		t.Errorf("help: %s", r)
	}

	killAndRespawn(t, ns, x.pidfile, x.program, x.user, func() error { return x.answers(ns) })
	if x.runDir != "" {
		// Its runtime directory gone, as after a reboot cleared /run: the
		// respawn makes it again (DIRS before every spawn).
		if err := os.RemoveAll(ns.Path(x.runDir)); err != nil {
			t.Fatal(err)
		}
		killAndRespawn(t, ns, x.pidfile, x.program, x.user, func() error { return x.answers(ns) })
		if fi, err := os.Stat(ns.Path(x.runDir)); err != nil || !fi.IsDir() {
			t.Errorf("%s was not made again: %v", x.runDir, err)
		}
	}

	pid = ns.Pid(x.pidfile)
	wantCode(t, ns.Exec(script, "restart"), 0)
	if got := ns.Pid(x.pidfile); got == pid || !alive(got) {
		t.Errorf("restart: pid %d, was %d", got, pid)
	}
	if err := x.answers(ns); err != nil {
		t.Errorf("after restart: %v", err)
	}

	pid = ns.Pid(x.pidfile)
	wantCode(t, ns.Exec(script, "stop"), 0)
	waitExit(t, pid, 30*time.Second)
	eventually(t, 10*time.Second, "no "+x.program+" left after stop", func() (bool, string) {
		left := nsProcs(ns, x.program)
		return len(left) == 0, fmt.Sprint(left)
	})
	if x.answers(ns) == nil {
		t.Errorf("%s still answers after stop", x.name)
	}
	wantCode(t, ns.Exec(script, "status"), 3)
}

// installDebianExample installs examples/debian/NAME as /etc/init.d/NAME of
// ns, with the package's /etc/default/NAME (the host's: the namespace's
// /etc/default starts empty) plus x.defaults and the leak sweep's marker (an env
// file may assign a name again), registers the cleanup that stops it, runs
// x.setup and checks the definition. It returns the script's path.
func installDebianExample(t *testing.T, ns *pkgNS, x debianExample) string {
	t.Helper()
	script := "/etc/init.d/" + x.name
	body, err := os.ReadFile(filepath.Join("..", "examples", "debian", x.name))
	if err != nil {
		t.Fatal(err)
	}
	ns.WriteFile(t, script, string(body), 0o755)
	def, err := os.ReadFile("/etc/default/" + x.name)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	text := string(def) + "\n"
	for _, l := range x.defaults {
		text += withNewline(l)
	}
	ns.WriteFile(t, "/etc/default/"+x.name, text+"SVCWRAP_TEST_ID='"+ns.e.TestID+"'\n", 0o644)
	t.Cleanup(func() {
		if r := ns.Exec(script, "stop"); r.Code != 0 || r.Err != nil {
			t.Logf("cleanup: %s", r)
		}
		for _, pid := range nsProcs(ns, x.program) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if x.setup != nil {
		x.setup(t, ns)
	}
	if r := ns.Exec("/usr/sbin/svcwrap", "check", x.name); r.Code != 0 || strings.Contains(r.Stderr, "warning") {
		t.Fatalf("the example does not pass check cleanly: %s", r)
	}
	return script
}

func TestDebianSSH(t *testing.T) {
	runDebianExample(t, debianExample{
		name: "ssh", program: "/usr/sbin/sshd", user: "root", pidfile: "/run/ssh.pid", runDir: "/run/sshd",
		answers: func(ns *pkgNS) error {
			return inNS(ns, "ssh-", "/usr/bin/ssh-keyscan", "-T", "5", "-p", "22", "127.0.0.1")
		},
		verbs: []verbCheck{
			{args: []string{"configtest"}, code: 0},
		},
		reloadKeepsPID: true,
	})
}

func TestDebianNginx(t *testing.T) {
	runDebianExample(t, debianExample{
		name: "nginx", program: "/usr/sbin/nginx", user: "root", pidfile: "/run/nginx.pid",
		answers: func(ns *pkgNS) error {
			return inNS(ns, "nginx", "/usr/bin/curl", "-sS", "-i", "http://127.0.0.1/")
		},
		verbs: []verbCheck{
			{args: []string{"configtest"}, code: 0},
			{args: []string{"testconfig"}, code: 0},
			{args: []string{"rotate"}, code: 0},
		},
		reloadKeepsPID: true,
	})
}
