package integration_test

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// redis-server from Debian 12's package, as examples/debian/redis-server: the
// package's /etc/redis/redis.conf in the foreground as user redis, umask 007,
// /run/redis made for it, ULIMIT applied as far as the host allows. redis has a
// dataset that takes about a second to load (redisDataset), and says READY=1
// once it has: the harness's PING right after start, force-reload and restart
// (no retry) gets PONG, never LOADING (TestDebianRedisLoading shows the window).
func TestDebianRedis(t *testing.T) {
	runDebianExample(t, debianExample{
		noReload: true,
		name:     "redis-server", program: "/usr/bin/redis-server", user: "redis", pidfile: "/run/redis-server.pid", runDir: "/run/redis",
		defaults: []string{redisSlowLoad(50 * time.Millisecond)},
		setup:    func(t *testing.T, ns *pkgNS) { redisDataset(t, ns, redisKeys) },
		answers: func(ns *pkgNS) error {
			return inNS(ns, "PONG", "/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", "6379", "ping")
		},
		// The script has no custom verb; status is the occasion to look at the
		// daemon it started.
		verbs: []verbCheck{
			{args: []string{"status"}, code: 0, check: redisAsDebianRunsIt},
			{args: []string{"status"}, code: 0, check: redisNotified},
		},
	})
}

// redisKeys is the size of redisDataset's dataset.
const redisKeys = 20

// redisDataset writes /var/lib/redis/dump.rdb (redis.conf's dir and dbfilename)
// with n keys of 1 KiB: an RDB version 9 file, its checksum 0 (not checked).
func redisDataset(t *testing.T, ns *pkgNS, n int) {
	t.Helper()
	const size = 1024 // a 14-bit length: 0x40|hi, lo
	b := []byte("REDIS0009\xfe\x00")
	for i := range n {
		k := fmt.Sprintf("svcwrap-test-%d", i)
		b = append(b, 0, byte(len(k)))
		b = append(b, k...)
		b = append(b, 0x40|byte(size>>8), byte(size&0xff))
		b = append(b, strings.Repeat("v", size)...)
	}
	b = append(b, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)
	path := "/var/lib/redis/dump.rdb"
	ns.WriteFile(t, path, string(b), 0o640)
	if err := os.Chown(ns.Path(path), int(uidOf(t, "redis")), -1); err != nil {
		t.Fatal(err)
	}
}

// redisSlowLoad is an /etc/default/redis-server line that makes redis take
// delay over each key it loads, and answer clients between two keys (with
// LOADING): redis's own test switches (hidden configs of redis 7).
func redisSlowLoad(delay time.Duration) string {
	return fmt.Sprintf(`DAEMON_ARGS="/etc/redis/redis.conf --key-load-delay %d --loading-process-events-interval-bytes 1024"`, delay.Microseconds())
}

// redisNotified: status shows redis's STATUS= once it is ready, and redis has
// its whole dataset.
func redisNotified(t *testing.T, ns *pkgNS, r Result) {
	if !strings.Contains(r.Stdout, `"Ready to accept connections"`) {
		t.Errorf("status does not show redis's STATUS=: %s", r)
	}
	if err := inNS(ns, fmt.Sprint(redisKeys), "/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", "6379", "dbsize"); err != nil {
		t.Errorf("not the whole dataset: %v", err)
	}
}

// While redis loads its dataset it already accepts connections and answers
// LOADING, which a probe of its port took for ready; status says starting, with
// redis's STATUS= "Redis is loading...". start returns once redis says READY=1:
// then it answers PING at once, with the whole dataset.
func TestDebianRedisLoading(t *testing.T) {
	requireRoot(t, "runs redis-server's Debian definition as /etc/init.d/redis-server in a private mount and network namespace")
	x := debianExample{name: "redis-server", program: "/usr/bin/redis-server", defaults: []string{redisSlowLoad(50 * time.Millisecond)}}
	if _, err := os.Stat(x.program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", x.program, err)
	}
	ns := debianNS(t, newEnv(t))
	const keys = 2 * redisKeys // 2 s of loading
	x.setup = func(t *testing.T, ns *pkgNS) { redisDataset(t, ns, keys) }
	script := installDebianExample(t, ns, x)
	cli := func(args ...string) Result {
		return ns.ExecWith(nil, 20*time.Second, "/usr/bin/redis-cli", append([]string{"-h", "127.0.0.1", "-p", "6379"}, args...)...)
	}

	done := make(chan Result, 1)
	go func() { done <- ns.Exec(script, "start") }()
	var loading, starting string
	for loading == "" || starting == "" {
		select {
		case r := <-done:
			t.Fatalf("start returned (%s) before redis was seen loading (ping: %q, status: %q)", r, loading, starting)
		default:
		}
		if r := cli("ping"); loading == "" && strings.Contains(r.Stdout, "LOADING") {
			loading = r.Stdout
		}
		if r := ns.Exec(script, "status"); starting == "" && strings.Contains(r.Stdout, "starting") && strings.Contains(r.Stdout, `"Redis is loading..."`) {
			starting = r.Stdout
		}
	}
	wantCode(t, <-done, 0)
	if r := cli("ping"); r.Code != 0 || strings.TrimSpace(r.Stdout) != "PONG" {
		t.Errorf("PING right after start: %s", r)
	}
	if r := cli("dbsize"); strings.TrimSpace(r.Stdout) != fmt.Sprint(keys) {
		t.Errorf("DBSIZE right after start: %s", r)
	}
	if r := ns.Exec(script, "status"); r.Code != 0 || !strings.Contains(r.Stdout, `running (pid`) || !strings.Contains(r.Stdout, `"Ready to accept connections"`) {
		t.Errorf("status after start: %s", r)
	}
	wantCode(t, ns.Exec(script, "stop"), 0)
}

// ULIMIT of /etc/default/redis-server is the daemon's limit of open files, as
// the script's `ulimit -n $ULIMIT` makes it (here one below any hard limit).
func TestDebianRedisUlimit(t *testing.T) {
	requireRoot(t, "runs redis-server's Debian definition as /etc/init.d/redis-server in a private mount and network namespace")
	x := debianExample{name: "redis-server", program: "/usr/bin/redis-server"}
	if _, err := os.Stat(x.program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", x.program, err)
	}
	ns := debianNS(t, newEnv(t))
	script := installDebianExample(t, ns, x)
	def, err := os.ReadFile(ns.Path("/etc/default/redis-server"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(def), "\nULIMIT=65536\n") {
		t.Fatalf("not the package's /etc/default/redis-server:\n%s", def)
	}
	ns.WriteFile(t, "/etc/default/redis-server", strings.Replace(string(def), "\nULIMIT=65536\n", "\nULIMIT=4096\n", 1), 0o644)

	wantCode(t, ns.Exec(script, "start"), 0)
	pid := runningAs(t, ns, "/run/redis-server.pid", x.program, "redis")
	lim, err := procLimits(pid)
	if err != nil {
		t.Fatal(err)
	}
	if got := lim["Max open files"]; got.Soft != "4096" || got.Hard != "4096" {
		t.Errorf("open files %s:%s, want 4096:4096 (ULIMIT=4096)", got.Soft, got.Hard)
	}
	wantCode(t, ns.Exec(script, "stop"), 0)
	waitExit(t, pid, 30*time.Second)
}

// redisAsDebianRunsIt checks what the Debian script's start gives redis: the
// package's redis.conf, its own pidfile in /run/redis (0755 redis:redis), umask
// 007, and ULIMIT from /etc/default/redis-server (65536, or the host's hard
// limit when it is lower and root may not raise it).
func redisAsDebianRunsIt(t *testing.T, ns *pkgNS, _ Result) {
	pid := ns.Pid("/run/redis-server.pid")
	for _, q := range [][2]string{{"dir", "/var/lib/redis"}, {"logfile", "/var/log/redis/redis-server.log"}} {
		if err := inNS(ns, q[1], "/usr/bin/redis-cli", "-h", "127.0.0.1", "-p", "6379", "config", "get", q[0]); err != nil {
			t.Errorf("not the package's redis.conf: %v", err)
		}
	}
	if own := ns.Pid("/run/redis/redis-server.pid"); own != pid {
		t.Errorf("redis's own pidfile says %d, the daemon is %d", own, pid)
	}
	if fi, err := os.Stat(ns.Path("/run/redis")); err != nil {
		t.Error(err)
	} else if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o755 || st.Uid != uidOf(t, "redis") {
		t.Errorf("/run/redis: mode %v uid %d, want 0755 redis", fi.Mode().Perm(), st.Uid)
	}
	st, err := procStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st["Umask"] != "0007" {
		t.Errorf("umask %q, want 0007", st["Umask"])
	}
	lim, err := procLimits(pid)
	if err != nil {
		t.Fatal(err)
	}
	var own syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &own); err != nil {
		t.Fatal(err)
	}
	want := []string{"65536"}
	if own.Max < 65536 { // raised with CAP_SYS_RESOURCE, else lowered to the hard limit
		want = append(want, fmt.Sprint(own.Max))
	}
	got := lim["Max open files"]
	if got.Soft != got.Hard || !strings.Contains(" "+strings.Join(want, " ")+" ", " "+got.Soft+" ") {
		t.Errorf("open files %s:%s, want soft and hard one of %v", got.Soft, got.Hard, want)
	}
}

// uidOf is the uid of name on this host.
func uidOf(t *testing.T, name string) uint32 {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(uid)
}
