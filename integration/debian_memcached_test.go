package integration_test

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

// memcachedStats asks memcached for its stats with the package's own client.
func memcachedStats(ns *pkgNS) error {
	return inNS(ns, "version", "/usr/share/memcached/scripts/memcached-tool", "127.0.0.1:11211", "stats")
}

// memcached from Debian 12's package, as examples/debian/memcached: the
// package's /etc/memcached.conf through Debian's own wrapper, memcached
// dropping to user memcache, its -P pidfile in /run/memcached, its output in
// the conf's logfile.
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
