package integration_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// memcachedStats asks memcached for its stats with the package's own client.
func memcachedStats(ns *pkgNS) error {
	return inNS(ns, "version", "/usr/share/memcached/scripts/memcached-tool", "127.0.0.1:11211", "stats")
}

// memcached from Debian 12's package, as examples/debian/memcached: the
// package's /etc/memcached.conf through Debian's own wrapper, memcached
// dropping to user memcache, its -P pidfile in /run/memcached, its output in
// the conf's logfile. The definition is a template; on a host without
// /etc/memcached_*.conf its one instance is memcached@memcached, whose pidfile is
// the script's /run/memcached.pid, and the bare verbs act on it alone.
func TestDebianMemcached(t *testing.T) {
	runDebianExample(t, debianExample{
		noReload: true,
		name:     "memcached", program: "/usr/bin/memcached", user: "memcache", pidfile: "/run/memcached.pid", runDir: "/run/memcached",
		answers: memcachedStats,
		// The script has no custom verb; status is the occasion to look at the
		// daemon it started.
		verbs: []verbCheck{
			{args: []string{"status"}, code: 0, check: memcachedAsDebianRunsIt},
		},
	})
}

// memcachedAsDebianRunsIt checks what start-memcached gives memcached: the
// conf's lines as arguments (without -d and logfile), the -P pidfile written as
// memcache in /run/memcached, stdout and stderr appended to the conf's logfile.
func memcachedAsDebianRunsIt(t *testing.T, ns *pkgNS, _ Result) {
	pid := ns.Pid("/run/memcached.pid")
	if cmd := procCmdline(pid); cmd != "/usr/bin/memcached -m 64 -p 11211 -u memcache -l 127.0.0.1 -P /var/run/memcached/memcached.pid" {
		t.Errorf("memcached runs as %q, not with /etc/memcached.conf's arguments", cmd)
	}
	if own := ns.Pid("/run/memcached/memcached.pid"); own != pid {
		t.Errorf("memcached's own -P pidfile says %d, the daemon is %d", own, pid)
	}
	if fi, err := os.Stat(ns.Path("/run/memcached")); err != nil {
		t.Error(err)
	} else if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o755 || st.Uid != uidOf(t, "memcache") {
		t.Errorf("/run/memcached: mode %v uid %d, want 0755 memcache", fi.Mode().Perm(), st.Uid)
	}
	for _, fd := range []int{1, 2} {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%d", pid, fd)); err != nil || l != "/var/log/memcached.log" {
			t.Errorf("fd %d of memcached is %q (%v), want /var/log/memcached.log", fd, l, err)
		}
	}
}

// ENABLE_MEMCACHED=no in /etc/default/memcached, as the file documents it:
// start starts nothing, says so, and exits 0; status says stopped.
func TestDebianMemcachedDisabled(t *testing.T) {
	requireRoot(t, "runs memcached's Debian definition as /etc/init.d/memcached in a private mount and network namespace")
	x := debianExample{name: "memcached", program: "/usr/bin/memcached"}
	if _, err := os.Stat(x.program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", x.program, err)
	}
	ns := debianNS(t, newEnv(t))
	script := installDebianExample(t, ns, x)
	def, err := os.ReadFile(ns.Path("/etc/default/memcached"))
	if err != nil {
		t.Fatal(err)
	}
	ns.WriteFile(t, "/etc/default/memcached", strings.Replace(string(def), "ENABLE_MEMCACHED=yes", "ENABLE_MEMCACHED=no", 1), 0o644)

	r := ns.Exec(script, "start")
	wantCode(t, r, 0)
	if !strings.Contains(r.Output(), "disabled by /etc/default/memcached:2 (ENABLE_MEMCACHED=no)") {
		t.Errorf("start does not say why it started nothing: %s", r)
	}
	wantCode(t, ns.Exec(script, "status"), 3)
	if left := nsProcs(ns, x.program); len(left) != 0 {
		t.Errorf("memcached runs although disabled: %v", left)
	}
	if memcachedStats(ns) == nil {
		t.Error("memcached answers although disabled")
	}
	// Enabled again, it starts.
	ns.WriteFile(t, "/etc/default/memcached", string(def), 0o644)
	wantCode(t, ns.Exec(script, "start"), 0)
	if err := memcachedStats(ns); err != nil {
		t.Errorf("enabled again: %v", err)
	}
}

// memcachedInstance is one conf of the memcached template: /etc/NAME.conf,
// the instance memcached@NAME, its pidfile /run/NAME.pid.
type memcachedInstance struct {
	name string
	port int
}

func (m memcachedInstance) pidfile() string { return "/run/" + m.name + ".pid" }

// memcachedPidAt asks the memcached on 127.0.0.1:port for its stats, with the
// package's own client, and returns the PID it reports.
func memcachedPidAt(ns *pkgNS, port int) (int, error) {
	r := ns.ExecWith(nil, 20*time.Second, "/usr/share/memcached/scripts/memcached-tool", "127.0.0.1:"+strconv.Itoa(port), "stats")
	m := regexp.MustCompile(`(?m)^\s*pid\s+(\d+)\s*$`).FindStringSubmatch(r.Stdout)
	if r.Err != nil || r.Code != 0 || m == nil {
		return 0, fmt.Errorf("stats on port %d: %s", port, r)
	}
	return strconv.Atoi(m[1])
}

// memcachedAnswers checks that the daemon of the instance's pidfile is the
// memcached that answers stats on the instance's port.
func memcachedAnswers(ns *pkgNS, m memcachedInstance) error {
	pid := ns.Pid(m.pidfile())
	got, err := memcachedPidAt(ns, m.port)
	if err != nil {
		return err
	}
	if got != pid {
		return fmt.Errorf("port %d is answered by pid %d; %s says %d", m.port, got, m.pidfile(), pid)
	}
	return nil
}

// TestDebianMemcachedInstances: the script's instances, one memcached per
// /etc/memcached_NAME.conf (copies of memcached.conf, as the script's usage
// says, each with a port and -P pidfile of its own), next to the package's
// memcached.conf; each its own daemon, pidfile, log and watchdog.
func TestDebianMemcachedInstances(t *testing.T) {
	requireRoot(t, "runs memcached's Debian definition as /etc/init.d/memcached in a private mount and network namespace")
	const program = "/usr/bin/memcached"
	if _, err := os.Stat(program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", program, err)
	}
	main := memcachedInstance{"memcached", 11211}
	a, b := memcachedInstance{"memcached_a", 11212}, memcachedInstance{"memcached_b", 11213}
	all := []memcachedInstance{main, a, b}
	ns := debianNS(t, newEnv(t))
	script := installDebianExample(t, ns, debianExample{name: "memcached", program: program,
		setup: func(t *testing.T, ns *pkgNS) {
			conf, err := os.ReadFile(ns.Path("/etc/memcached.conf"))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []memcachedInstance{a, b} {
				c := strings.Replace(string(conf), "\n-p 11211\n", fmt.Sprintf("\n-p %d\n", m.port), 1)
				c = strings.Replace(c, "/var/run/memcached/memcached.pid", "/var/run/memcached/"+m.name+".pid", 1)
				if c == string(conf) || !strings.Contains(c, fmt.Sprintf("-p %d", m.port)) {
					t.Fatalf("/etc/memcached.conf has no -p 11211 line to change:\n%s", conf)
				}
				ns.WriteFile(t, "/etc/"+m.name+".conf", c, 0o644)
			}
		}})

	// The bare start: memcached.conf and every memcached_*.conf.
	r := ns.Exec(script, "start")
	wantCode(t, r, 0)
	pids := map[string]int{}
	for _, m := range all {
		if !strings.Contains(r.Stdout, "memcached@"+m.name+".") {
			t.Errorf("start: no line for memcached@%s: %s", m.name, r)
		}
		pid := runningAs(t, ns, m.pidfile(), program, "memcache")
		pids[m.name] = pid
		if err := memcachedAnswers(ns, m); err != nil {
			t.Errorf("after start (READY passed): %v", err)
		}
		want := fmt.Sprintf("/usr/bin/memcached -m 64 -p %d -u memcache -l 127.0.0.1 -P /var/run/memcached/%s.pid", m.port, m.name)
		if cmd := procCmdline(pid); cmd != want {
			t.Errorf("%s runs %q, want %q (its conf's arguments)", m.name, cmd, want)
		}
		if own := ns.Pid("/run/memcached/" + m.name + ".pid"); own != pid {
			t.Errorf("%s's own -P pidfile says %d, the daemon is %d", m.name, own, pid)
		}
		// LOG, not the conf's logfile line (the copies keep memcached.conf's).
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/2", pid)); err != nil || l != "/var/log/"+m.name+".log" {
			t.Errorf("stderr of %s is %q (%v), want /var/log/%s.log", m.name, l, err, m.name)
		}
	}
	memcachedProcs(t, ns, "after start", pids[main.name], pids[a.name], pids[b.name])
	if r := ns.Exec(script, "status"); r.Code != 0 || strings.Count(r.Stdout, "running (pid") != 3 {
		t.Errorf("status of three running instances: %s", r)
	}

	// kill -9 of one: its watchdog starts it again; the others are the same
	// processes, and each answers on its own port.
	killAndRespawn(t, ns, a.pidfile(), program, "memcache", func() error { return memcachedAnswers(ns, a) })
	pids[a.name] = ns.Pid(a.pidfile())
	for _, m := range []memcachedInstance{main, b} {
		memcachedUntouched(t, ns, m, pids[m.name], "a's kill -9")
	}
	memcachedProcs(t, ns, "after a's respawn", pids[main.name], pids[a.name], pids[b.name])

	// One instance by name (the script's `stop NAME` is `stop memcached_NAME`):
	// the others run on, and the bare status says "partly" (1).
	wantCode(t, ns.Exec(script, "stop", b.name), 0)
	waitExit(t, pids[b.name], 30*time.Second)
	if memcachedAnswers(ns, b) == nil {
		t.Error("memcached_b answers after its stop")
	}
	for _, m := range []memcachedInstance{main, a} {
		memcachedUntouched(t, ns, m, pids[m.name], "stop memcached_b")
	}
	wantCode(t, ns.Exec(script, "status"), 1)
	wantCode(t, ns.Exec(script, "status", b.name), 3)
	// ... and through a link memcached@memcached_b.
	link := "/etc/init.d/memcached@" + b.name
	if err := os.Symlink("memcached", ns.Path(link)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, ns.Exec(link, "start"), 0)
	pids[b.name] = runningAs(t, ns, b.pidfile(), program, "memcache")
	if err := memcachedAnswers(ns, b); err != nil {
		t.Errorf("started through its link: %v", err)
	}
	wantCode(t, ns.Exec(script, "status"), 0)

	// A name without its conf (the script's `start a` for memcached_a.conf)
	// fails, says how instances are named, and starts nothing: without its conf,
	// the wrapper would run memcached as root on port 11211.
	if r := ns.Exec(script, "start", "a"); r.Code != 1 || !strings.Contains(r.Output(), "memcached_NAME for /etc/memcached_NAME.conf") {
		t.Errorf("start a: %s; want exit 1 and how instances are named", r)
	}
	memcachedProcs(t, ns, "after start a", pids[main.name], pids[a.name], pids[b.name])

	// The bare stop: all of them.
	wantCode(t, ns.Exec(script, "stop"), 0)
	for _, m := range all {
		waitExit(t, pids[m.name], 30*time.Second)
	}
	memcachedProcs(t, ns, "after stop")
	wantCode(t, ns.Exec(script, "status"), 3)

	// MEMCACHED_INSTANCES="/etc/memcached_*.conf" in /etc/default/memcached:
	// the instances alone, as the script runs them once one exists.
	def, err := os.ReadFile(ns.Path("/etc/default/memcached"))
	if err != nil {
		t.Fatal(err)
	}
	ns.WriteFile(t, "/etc/default/memcached", string(def)+"MEMCACHED_INSTANCES=\"/etc/memcached_*.conf\"\n", 0o644)
	r = ns.Exec(script, "start")
	wantCode(t, r, 0)
	if strings.Contains(r.Stdout, "memcached@memcached.") {
		t.Errorf("MEMCACHED_INSTANCES: start acted on memcached.conf: %s", r)
	}
	for _, m := range []memcachedInstance{a, b} {
		pids[m.name] = runningAs(t, ns, m.pidfile(), program, "memcache")
		if err := memcachedAnswers(ns, m); err != nil {
			t.Error(err)
		}
	}
	memcachedProcs(t, ns, "with MEMCACHED_INSTANCES", pids[a.name], pids[b.name])
	if _, err := memcachedPidAt(ns, main.port); err == nil {
		t.Error("memcached.conf's port answers with MEMCACHED_INSTANCES set to the instance confs")
	}
	wantCode(t, ns.Exec(script, "status"), 0)
	wantCode(t, ns.Exec(script, "stop"), 0)
	memcachedProcs(t, ns, "after the last stop")
	for _, m := range all {
		if _, err := os.Stat(ns.Path(m.pidfile())); err == nil {
			t.Errorf("%s is still there after stop", m.pidfile())
		}
	}
}

// memcachedUntouched fails unless the instance's memcached is still pid, from
// /proc and from its own answer.
func memcachedUntouched(t *testing.T, ns *pkgNS, m memcachedInstance, pid int, when string) {
	t.Helper()
	if got := ns.Pid(m.pidfile()); got != pid || !alive(pid) {
		t.Errorf("%s: %s changed: pidfile %d, was %d (alive %v)", when, m.name, got, pid, alive(pid))
	}
	if got, err := memcachedPidAt(ns, m.port); err != nil || got != pid {
		t.Errorf("%s: port %d answered by %d (%v), want %s's %d", when, m.port, got, err, m.name, pid)
	}
}

// memcachedProcs fails unless the namespace's memcached processes are exactly
// pids.
func memcachedProcs(t *testing.T, ns *pkgNS, when string, pids ...int) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("memcached processes %v %s", pids, when), func() (bool, string) {
		got := nsProcs(ns, "/usr/bin/memcached")
		slices.Sort(got)
		want := slices.Clone(pids)
		slices.Sort(want)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}
