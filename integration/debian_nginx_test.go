package integration_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The nginx drop-in holds ports 80 ([::] and 0.0.0.0) in its watchdog: a
// client loop sees no connection refused across restart, upgrade (a new
// binary next to the old one) and a kill -9 of the master. nginx uses the
// inherited sockets: binding port 80 itself would fail, the watchdog holds it.
func TestDebianNginxZeroDowntime(t *testing.T) {
	x := debianExample{name: "nginx", program: "/usr/sbin/nginx", user: "root", pidfile: "/run/nginx.pid"}
	requireRoot(t, "runs nginx from its Debian package as /etc/init.d/nginx in a private mount and network namespace")
	e := newEnv(t)
	ns := debianNS(t, e)
	script := installDebianExample(t, ns, x)
	wantCode(t, ns.Exec(script, "start"), 0)
	pid := runningAs(t, ns, x.pidfile, x.program, x.user)
	enter := func() error {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", ns.pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Setns(fd, unix.CLONE_NEWNET)
	}
	c := startClientsIn("127.0.0.1:80", enter)
	c.until(t, 300)
	for _, verb := range []string{"restart", "upgrade"} {
		wantCode(t, ns.Exec(script, verb), 0)
		waitExit(t, pid, 30*time.Second)
		next := ns.Pid(x.pidfile)
		if next == pid || !alive(next) {
			t.Fatalf("%s: master %d, was %d", verb, next, pid)
		}
		pid = next
		c.until(t, 300)
		c.phase(t, verb)
	}
	// kill -9 of the master: its workers go with its group; the respawned master
	// inherits the same sockets. A connection a killed worker had accepted is
	// reset; none is refused.
	syscall.Kill(pid, syscall.SIGKILL)
	eventually(t, 30*time.Second, "a new nginx master", func() (bool, string) {
		got := ns.Pid(x.pidfile)
		return got != pid && alive(got), fmt.Sprint(got)
	})
	c.until(t, 300)
	if c.refused.Load() != 0 {
		t.Errorf("kill -9: %d connections refused", c.refused.Load())
	}
	c.failed.Store(0)
	wantCode(t, ns.Exec(script, "restart"), 0)
	c.until(t, 300)
	c.phase(t, "restart after the respawn")
	ok, _, _ := c.end()
	if ok < 2000 {
		t.Errorf("only %d connections", ok)
	}
	wantCode(t, ns.Exec(script, "stop"), 0)
}
