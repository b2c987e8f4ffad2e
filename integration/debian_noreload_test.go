package integration_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runDebianExampleNoReload is runDebianExample for a Debian script that has no
// reload (redis-server, memcached: their usage lists restart and force-reload
// only, and force-reload is their restart). It differs in one step: where
// runDebianExample wants reload and force-reload to exit 0, this wants reload to
// exit 3 (LSB: unimplemented) without touching the daemon, and force-reload to
// restart it (a new daemon that answers). Everything else is the same sequence.
// (It would be a field of debianExample; debian_test.go is not this change's.)
func runDebianExampleNoReload(t *testing.T, x debianExample) {
	requireRoot(t, "runs "+x.name+" from its Debian package as /etc/init.d/"+x.name+" in a private mount and network namespace")
	if _, err := os.Stat(x.program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", x.program, err)
	}
	e := newEnv(t)
	ns := debianNS(t, e)
	script := installDebianExample(t, ns, x)
	if x.setup != nil {
		x.setup(t, ns)
	}

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

	// No reload in the script: unimplemented, and nothing changes.
	wantCode(t, ns.Exec(script, "reload"), 3)
	if got := ns.Pid(x.pidfile); got != pid || !alive(pid) {
		t.Errorf("reload changed the daemon: pid %d, was %d", got, pid)
	}
	// force-reload is the script's restart.
	wantCode(t, ns.Exec(script, "force-reload"), 0)
	waitExit(t, pid, 30*time.Second)
	if got := runningAs(t, ns, x.pidfile, x.program, x.user); got == pid {
		t.Errorf("force-reload did not restart the daemon (pid %d)", got)
	}
	if err := x.answers(ns); err != nil {
		t.Errorf("after force-reload: %v", err)
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

// installDebianExample installs examples/debian/NAME as /etc/init.d/NAME of ns,
// with the package's /etc/default/NAME plus the leak sweep's marker, checks it,
// and registers the cleanup that stops it, as runDebianExample does. Unlike
// runDebianExample, it reads the package's file from the host: the namespace's
// /etc/default is an empty tmpfs. It returns the script's path.
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
	ns.WriteFile(t, "/etc/default/"+x.name, string(def)+"\nSVCWRAP_TEST_ID='"+ns.e.TestID+"'\n", 0o644)
	t.Cleanup(func() {
		if r := ns.Exec(script, "stop"); r.Code != 0 || r.Err != nil {
			t.Logf("cleanup: %s", r)
		}
		for _, pid := range nsProcs(ns, x.program) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	if r := ns.Exec("/usr/sbin/svcwrap", "check", x.name); r.Code != 0 || strings.Contains(r.Stderr, "warning") {
		t.Fatalf("the example does not pass check cleanly: %s", r)
	}
	return script
}
