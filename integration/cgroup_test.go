package integration_test

// A cgroup per service: stop reaches every process the daemon started, a
// helper that called setsid and forked twice included; leftovers of a crash are
// cleaned up by the next command; CGROUP=no keeps the process group.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// escaper writes a daemon that leaves two sleeps in a session of their own
// (setsid, then a fork of a fork), then becomes a sleep itself.
func escaper(t *testing.T, e *Env) string {
	t.Helper()
	return writeScript(e, "escaper.sh", `
setsid /bin/sh -c '/bin/sleep 1001 & /bin/sleep 1002 &' </dev/null >/dev/null 2>&1
exec /bin/sleep 1000
`)
}

func requireCgroup(t *testing.T) {
	t.Helper()
	requireRoot(t, "cgroups are made by root")
	for _, p := range []string{"/sys/fs/cgroup/cgroup.procs", "/sys/fs/cgroup/unified/cgroup.procs"} {
		if _, err := os.Stat(p); err == nil {
			return
		}
	}
	t.Skip("no cgroup v2 hierarchy on this host")
}

// escapees are the live sleeps escaper left, with the service's marker.
func escapees(e *Env) []int {
	var out []int
	for _, p := range e.Procs() {
		if strings.Contains(p.Cmdline, "sleep 100") && !strings.Contains(p.Cmdline, "sleep 1000") {
			out = append(out, p.Pid)
		}
	}
	return out
}

func cgroupOf(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p
		}
	}
	return ""
}

func TestCgroupStopReachesEscapees(t *testing.T) {
	requireCgroup(t)
	e := newEnv(t)
	e.Script(svc, "DAEMON="+escaper(t, e)+"\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid := e.Pid(t, svc)
	var esc []int
	eventually(t, 10*time.Second, "the two escapees", func() (bool, string) {
		esc = escapees(e)
		return len(esc) == 2, fmt.Sprint(esc)
	})
	want := cgroupOf(pid)
	if !strings.HasSuffix(want, "/"+svc) || !strings.Contains(want, "/svcwrap") {
		t.Fatalf("the daemon is in cgroup %q, want .../svcwrap.../%s", want, svc)
	}
	for _, p := range esc {
		if st, _ := procStat(p); st.Session == pid || cgroupOf(p) != want {
			t.Errorf("escapee %d: session %d, cgroup %q; want another session, cgroup %q", p, st.Session, cgroupOf(p), want)
		}
	}
	if r := e.Run(svc, "status"); !strings.Contains(r.Stdout, "3 processes") {
		t.Errorf("status: %s", r)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	for _, p := range append(esc, pid) {
		if alive(p) {
			t.Errorf("pid %d survived stop", p)
		}
	}
	if _, err := os.Stat(filepath.Join(cgroupRoot(), want)); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after stop: %v", want, err)
	}
	noProcs(t, e, "after stop")
}

// A crash leaves escapees in the cgroup: the next stop ends them, and so does
// the next start (before its daemon runs there).
func TestCgroupLeftovers(t *testing.T) {
	requireCgroup(t)
	for _, verb := range []string{"stop", "start"} {
		t.Run(verb, func(t *testing.T) {
			e := newEnv(t)
			e.Script(svc, "DAEMON="+escaper(t, e)+"\n", svcMarker(svc))
			wantCode(t, e.Run(svc, "start"), 0)
			pid, wd := supervised(t, e, svc)
			var esc []int
			eventually(t, 10*time.Second, "the two escapees", func() (bool, string) {
				esc = escapees(e)
				return len(esc) == 2, fmt.Sprint(esc)
			})
			syscall.Kill(wd, syscall.SIGKILL)
			waitExit(t, wd, 10*time.Second)
			syscall.Kill(pid, syscall.SIGKILL)
			waitExit(t, pid, 10*time.Second)
			wantCode(t, e.Run(svc, verb), 0)
			for _, p := range esc {
				waitExit(t, p, 10*time.Second)
			}
			if verb == "start" {
				supervised(t, e, svc)
				wantCode(t, e.Run(svc, "stop"), 0)
			}
			noProcs(t, e, "after "+verb)
		})
	}
}

// CGROUP=no: the process group of today, and status says so.
func TestCgroupNo(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nCGROUP=no\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	if r := e.Run(svc, "status"); !strings.Contains(r.Stdout, "no cgroup") {
		t.Errorf("status: %s", r)
	}
	if c := cgroupOf(pid); strings.Contains(c, "/svcwrap") {
		t.Errorf("CGROUP=no, yet the daemon is in %s", c)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	noProcs(t, e, "after stop")
}

func cgroupRoot() string {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.procs"); err == nil {
		return "/sys/fs/cgroup"
	}
	return "/sys/fs/cgroup/unified"
}
