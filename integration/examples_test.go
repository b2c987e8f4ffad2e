package integration_test

// The memcached and redis examples (examples/*, docs/examples.md) run the real
// daemons from their packages as /etc/init.d/NAME in a private mount namespace:
// start, the port answers, the daemon runs as its user, kill -9 brings a new
// one, redis's custom verb reaches the server, stop leaves nothing.

import (
	"bufio"
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

// exampleFile reads examples/NAME/FILE of the repository.
func exampleFile(t *testing.T, name, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", name, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestExamplesDocMatchesFiles keeps docs/examples.md and examples/ the same: each
// file appears verbatim in the doc (which the doc test runs).
func TestExamplesDocMatchesFiles(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "examples.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"memcached", "redis"} {
		for _, f := range []string{name, "default"} {
			if c := exampleFile(t, name, f); !strings.Contains(string(doc), c) {
				t.Errorf("docs/examples.md does not hold examples/%s/%s verbatim:\n%s", name, f, c)
			}
		}
	}
}

// installExample puts examples/NAME into the namespace as /etc/init.d/NAME and
// /etc/default/NAME (plus SVCWRAP_TEST_ID for the leak sweep).
func installExample(t *testing.T, ns *pkgNS, name, program string) {
	t.Helper()
	requireRoot(t, "runs "+name+" as its own user from /etc/init.d in a private mount namespace")
	if _, err := os.Stat(program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", program, err)
	}
	ns.WriteFile(t, "/etc/init.d/"+name, exampleFile(t, name, name), 0o755)
	ns.WriteFile(t, "/etc/default/"+name, exampleFile(t, name, "default")+"SVCWRAP_TEST_ID='"+ns.e.TestID+"'\n", 0o644)
	t.Cleanup(func() {
		if r := ns.Exec("/etc/init.d/"+name, "stop"); r.Code != 0 || r.Err != nil {
			t.Logf("cleanup: %s", r)
		}
	})
	wantCode(t, ns.Exec("/usr/sbin/svcwrap", "check", name), 0)
}

// ask sends request over a new TCP connection and returns the first line of the
// answer (bounded by deadlines).
func ask(addr, request string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(request)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// runningAs checks the daemon in pidfile: alive, the program, the user.
func runningAs(t *testing.T, ns *pkgNS, pidfile, program, user string) int {
	t.Helper()
	pid := ns.Pid(pidfile)
	if pid == 0 || !alive(pid) {
		t.Fatalf("%s: no live daemon (pid %d)", pidfile, pid)
	}
	// /proc/PID/exe is the resolved file (Debian's redis-server is a symlink to
	// redis-check-rdb, one binary that looks at its argv[0]).
	want, err := filepath.EvalSymlinks(program)
	if err != nil {
		t.Fatal(err)
	}
	if exe := procExe(pid); exe != want {
		t.Fatalf("pid %d is %q, not %s (%s)", pid, exe, program, want)
	}
	st, err := procStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("id", "-u", user).Output()
	if err != nil {
		t.Fatalf("id -u %s: %v", user, err)
	}
	uid := strings.TrimSpace(string(out))
	if f := strings.Fields(st["Uid"]); len(f) != 4 || f[0] != uid || f[1] != uid || f[2] != uid || f[3] != uid {
		t.Errorf("pid %d runs with Uid %q, want %s (%s) everywhere", pid, st["Uid"], uid, user)
	}
	return pid
}

// killAndRespawn kills the daemon with SIGKILL and waits for the watchdog's new
// one to answer.
func killAndRespawn(t *testing.T, ns *pkgNS, pidfile, program, user string, answers func() error) {
	t.Helper()
	old := ns.Pid(pidfile)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExit(t, old, 30*time.Second)
	eventually(t, 60*time.Second, "a respawned daemon that answers", func() (bool, string) {
		pid := ns.Pid(pidfile)
		if pid == 0 || pid == old || !alive(pid) {
			return false, fmt.Sprintf("pidfile says %d (old %d)", pid, old)
		}
		if err := answers(); err != nil {
			return false, err.Error()
		}
		return true, ""
	})
	runningAs(t, ns, pidfile, program, user)
}

func stopAndGone(t *testing.T, ns *pkgNS, name, pidfile, addr string) {
	t.Helper()
	pid := ns.Pid(pidfile)
	wantCode(t, ns.Exec("/etc/init.d/"+name, "stop"), 0)
	waitExit(t, pid, 30*time.Second)
	if _, err := os.Stat(ns.Path(pidfile)); err == nil {
		t.Errorf("%s still exists after stop", pidfile)
	}
	if c, err := net.DialTimeout("tcp", addr, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after stop", addr)
	}
	wantCode(t, ns.Exec("/etc/init.d/"+name, "status"), 3)
}

func TestExampleMemcached(t *testing.T) {
	requireRoot(t, "runs memcached as user memcache from /etc/init.d in a private mount namespace")
	e := newEnv(t)
	ns := newPkgNS(t, e)
	installExample(t, ns, "memcached", "/usr/bin/memcached")
	const addr, pidfile = "127.0.0.1:21211", "/run/memcached.pid"
	answers := func() error {
		v, err := ask(addr, "version\r\n")
		if err == nil && !strings.HasPrefix(v, "VERSION ") {
			err = fmt.Errorf("version answered %q", v)
		}
		return err
	}

	wantCode(t, ns.Exec("/etc/init.d/memcached", "start"), 0)
	runningAs(t, ns, pidfile, "/usr/bin/memcached", "memcache")
	if err := answers(); err != nil {
		t.Fatalf("memcached on %s: %v", addr, err)
	}
	if s, err := ask(addr, "stats\r\n"); err != nil || !strings.HasPrefix(s, "STAT pid ") {
		t.Errorf("stats: %q, %v", s, err)
	}
	wantCode(t, ns.Exec("/etc/init.d/memcached", "status"), 0)

	killAndRespawn(t, ns, pidfile, "/usr/bin/memcached", "memcache", answers)
	stopAndGone(t, ns, "memcached", pidfile, addr)
}

func TestExampleRedis(t *testing.T) {
	requireRoot(t, "runs redis-server as user redis from /etc/init.d in a private mount namespace")
	e := newEnv(t)
	ns := newPkgNS(t, e)
	installExample(t, ns, "redis", "/usr/bin/redis-server")
	const addr, pidfile = "127.0.0.1:16379", "/run/redis.pid"
	answers := func() error {
		v, err := ask(addr, "PING\r\n")
		if err == nil && v != "+PONG" {
			err = fmt.Errorf("PING answered %q", v)
		}
		return err
	}

	wantCode(t, ns.Exec("/etc/init.d/redis", "start"), 0)
	runningAs(t, ns, pidfile, "/usr/bin/redis-server", "redis")
	if err := answers(); err != nil {
		t.Fatalf("redis on %s: %v", addr, err)
	}

	// The custom verb passes its arguments to redis-cli as argv.
	r := ns.Exec("/etc/init.d/redis", "cli", "SET", "svcwrap-test", "hello world")
	wantCode(t, r, 0)
	if v, err := ask(addr, "GET svcwrap-test\r\n"); err != nil || v != "$11" {
		t.Errorf("GET after cli SET: %q, %v (want $11, the length of \"hello world\")", v, err)
	}
	r = ns.Exec("/etc/init.d/redis", "cli", "PING")
	wantCode(t, r, 0)
	if strings.TrimSpace(r.Stdout) != "PONG" {
		t.Errorf("cli PING printed %q", r.Stdout)
	}
	if r := ns.Exec("/etc/init.d/redis", "help"); !strings.Contains(r.Stdout, "cli") {
		t.Errorf("help does not list the cli verb:\n%s", r)
	}

	killAndRespawn(t, ns, pidfile, "/usr/bin/redis-server", "redis", answers)
	stopAndGone(t, ns, "redis", pidfile, addr)
	if b, err := os.ReadFile(ns.Path("/var/log/svcwrap/redis.log")); err != nil || !strings.Contains(string(b), "ready to exit") {
		t.Errorf("redis.log does not show a clean shutdown (%v):\n%s", err, b)
	}
}
