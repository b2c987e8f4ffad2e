package integration_test

// Resource limits on the service's cgroup (MEMORY_MAX, MEMORY_HIGH, PIDS_MAX,
// CPU_MAX, IO_WEIGHT): in cgroup v2 where its hierarchy has the controller,
// else in cgroup v1 (a hybrid host, like this suite's CI machine); an OOM kill
// is reported as oom and respawned; a fork bomb stops at PIDS_MAX; a busy loop
// gets CPU_MAX; a malformed value fails check; a limit the host cannot enforce
// fails start and says what is missing.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"svcwrap/cgroup"
)

// v2Has reports whether the cgroup v2 hierarchy has controller c.
func v2Has(c string) bool {
	b, _ := os.ReadFile(filepath.Join(cgroupRoot(), "cgroup.controllers"))
	return slices.Contains(strings.Fields(string(b)), c)
}

// v1Line is the cgroup v1 line of pid's /proc/PID/cgroup for controller c:
// the hierarchy's controllers ("cpu,cpuacct") and the cgroup's path.
func v1Line(pid int, c string) (ctrls, path string, ok bool) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), c) {
			return f[1], f[2], true
		}
	}
	return "", "", false
}

// requireController skips the test unless it runs as root on a host that has
// controller c (v2 name) in cgroup v2, or its v1 hierarchy v1 mounted at
// /sys/fs/cgroup/ as usual.
func requireController(t *testing.T, c, v1 string) {
	t.Helper()
	requireRoot(t, "cgroups are made by root")
	requireCgroup(t)
	if v2Has(c) {
		return
	}
	if ctrls, _, ok := v1Line(os.Getpid(), v1); ok {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrls, "cgroup.procs")); err == nil {
			return
		}
	}
	t.Skipf("the %s controller is neither in cgroup v2 nor mounted as /sys/fs/cgroup/%s (cgroup v1)", c, v1)
}

// limitCgroup is the directory of pid's cgroup that enforces controller c:
// in cgroup v2 when its hierarchy has c, else in c's v1 hierarchy v1. It must
// be svcwrap's, .../svcwrap-HASH/NAME.
func limitCgroup(t *testing.T, pid int, c, v1, name string) (dir string, isV1 bool) {
	t.Helper()
	if v2Has(c) {
		dir = filepath.Join(cgroupRoot(), cgroupOf(pid))
	} else if ctrls, path, ok := v1Line(pid, v1); ok {
		dir, isV1 = filepath.Join("/sys/fs/cgroup", ctrls, path), true
	}
	if !strings.HasSuffix(dir, "/"+name) || !strings.Contains(dir, "/svcwrap-") {
		t.Fatalf("pid %d is in the %s cgroup %q, want .../svcwrap-HASH/%s", pid, c, dir, name)
	}
	return dir, isV1
}

func readFileTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func wantGone(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left after stop: %v", dir, err)
	}
}

// A malformed value is a problem at check (exit 6, FILE:LINE: KEY:), and start
// refuses it the same way.
func TestLimitMalformedKeys(t *testing.T) {
	e := newEnv(t)
	def := e.Script(svc, e.Daemon()+"\nMEMORY_MAX=32Q\nMEMORY_HIGH=lots\nPIDS_MAX=-1\nCPU_MAX=10\nIO_WEIGHT=0\n", svcMarker(svc))
	r := e.Admin("check", def)
	wantCode(t, r, 6)
	// The script's header is 8 lines, DAEMON the 10th.
	for _, want := range []string{
		def + `:11: MEMORY_MAX: "32Q": unknown unit "Q"`,
		def + `:12: MEMORY_HIGH: "lots": not a size`,
		def + `:13: PIDS_MAX: "-1": out of range`,
		def + `:14: CPU_MAX: "10": no % sign (a whole percent of one CPU from 1% to 100000%, like 10% or 150%)`,
		def + `:15: IO_WEIGHT: "0": out of range (a whole number from 1 to 10000`,
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("check's output lacks %q:\n%s", want, r.Stderr)
		}
	}
	r = e.Run(svc, "start")
	wantCode(t, r, 6)
	if !strings.Contains(r.Stderr, "CPU_MAX") {
		t.Errorf("start: %s", r)
	}
	noProcs(t, e, "after a refused start")
	e.Script(svc, e.Daemon(), svcMarker(svc)) // the cleanup's stop needs a definition it can read
}

// MEMORY_MAX=32M and a daemon that allocates 60 MB a second after it starts:
// the kernel's OOM killer ends it, the watchdog says oom (last exit, status,
// list --json's oom_kills, the log) and respawns it; stop removes the cgroups.
func TestOOMKillRespawns(t *testing.T) {
	requireController(t, "memory", "memory")
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-leak", "60", "-leak-every", "1s")+"\nMEMORY_MAX=32M\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	first := ev.WaitFor(t, 10*time.Second, isStart)
	dir, v1 := limitCgroup(t, first.Pid, "memory", "memory", svc)
	limitFile := map[bool]string{true: "memory.limit_in_bytes", false: "memory.max"}[v1]
	if got := readFileTrim(t, filepath.Join(dir, limitFile)); got != "33554432" {
		t.Errorf("%s = %s, want 33554432 (32M)", limitFile, got)
	}
	second := ev.WaitFor(t, 30*time.Second, func(x Event) bool { return isStart(x) && x.Pid != first.Pid })
	waitExit(t, first.Pid, 10*time.Second)
	var ent ListEntry
	eventually(t, 10*time.Second, "an oom death in list --json", func() (bool, string) {
		ent = e.Entry(t, svc)
		return ent.LastExit == "signal KILL (oom)" && ent.OOMKills >= 1 && ent.Respawns >= 1, fmt.Sprintf("%+v", ent)
	})
	if d, _ := limitCgroup(t, second.Pid, "memory", "memory", svc); d != dir {
		t.Errorf("the respawned daemon is in %s, want %s", d, dir)
	}
	if r := e.Run(svc, "status"); !strings.Contains(r.Stdout, "last exit: signal KILL (oom)") || !strings.Contains(r.Stdout, "oom kill") {
		t.Errorf("status: %s", r)
	}
	log, _ := os.ReadFile(e.LogPath(svc))
	for _, want := range []string{"out of memory: the kernel's OOM killer ended 1 process of the daemon's cgroup (MEMORY_MAX)", "after signal KILL (oom)"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	if v1 {
		wantGone(t, dir)
	}
	noProcs(t, e, "after stop")
}

// forkBomb is a daemon that forks sleepers as fast as it can, 200 in all,
// waiting 10 ms after each fork that fails: under PIDS_MAX=20 it never gets
// past 20 processes, and keeps trying (pids.events counts the refusals).
const forkBomb = `exec /usr/bin/perl -e '
my $n = 0;
while ($n < 200) {
	my $p = fork;
	if (!defined $p) { select(undef, undef, undef, 0.01); next }
	if ($p == 0) { sleep 1000; exit 0 }
	$n++;
}
sleep 1000;
'
`

// PIDS_MAX=20 and a fork bomb: 20 processes in the cgroup, never more, while
// the bomb keeps failing to fork; stop ends them all and removes the cgroups.
func TestLimitPids(t *testing.T) {
	requireController(t, "pids", "pids")
	if _, err := os.Stat("/usr/bin/perl"); err != nil {
		t.Skip("no /usr/bin/perl for the fork bomb")
	}
	e := newEnv(t)
	e.Script(svc, "DAEMON="+writeScript(e, "bomb.sh", forkBomb)+"\nPIDS_MAX=20\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, wd := supervised(t, e, svc)
	dir, v1 := limitCgroup(t, pid, "pids", "pids", svc)
	if got := readFileTrim(t, filepath.Join(dir, "pids.max")); got != "20" {
		t.Errorf("pids.max = %s, want 20", got)
	}
	// pids.events counts the forks refused at the limit: once 50 are, the
	// bomb has been at the limit for at least half a second.
	refused := func() int {
		b, _ := os.ReadFile(filepath.Join(dir, "pids.events"))
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "max "); ok {
				n, _ := strconv.Atoi(v)
				return n
			}
		}
		return 0
	}
	peak := 0
	eventually(t, 30*time.Second, "50 forks refused at PIDS_MAX", func() (bool, string) {
		n := len(strings.Fields(readFileTrim(t, filepath.Join(dir, "cgroup.procs"))))
		peak = max(peak, n)
		return refused() >= 50, fmt.Sprintf("%d refused, %d processes", refused(), n)
	})
	procs := strings.Fields(readFileTrim(t, filepath.Join(dir, "cgroup.procs")))
	if cur := readFileTrim(t, filepath.Join(dir, "pids.current")); len(procs) != 20 || cur != "20" || peak > 20 {
		t.Errorf("%d processes in the cgroup (pids.current %s, peak seen %d), want 20", len(procs), cur, peak)
	}
	for _, p := range e.Procs() {
		if p.Pid != wd && !slices.Contains(procs, strconv.Itoa(p.Pid)) {
			t.Errorf("process %d (%s) escaped the cgroup", p.Pid, p.Cmdline)
		}
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	if v1 {
		wantGone(t, dir)
	}
	noProcs(t, e, "after stop")
}

// cpuTime is the CPU time the daemon's cgroup used: usage_usec of its cgroup
// v2's cpu.stat (there without the cpu controller too), else the daemon's own
// from /proc (a busy loop has no children).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cgroupRoot(), cgroupOf(pid), "cpu.stat"))
	if err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "usage_usec "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return time.Duration(n) * time.Microsecond
			}
		}
	}
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+stime) * 10 * time.Millisecond // USER_HZ 100
}

// CPU_MAX=10% and a busy loop: over 2 s it gets 5% to 20% of a CPU (10% is
// the quota; the tolerance is for a shared machine). Then the watchdog is
// killed: the CLI's stop removes the cgroups v1 the state file names.
func TestLimitCPU(t *testing.T) {
	requireController(t, "cpu", "cpu")
	e := newEnv(t)
	e.Script(svc, "DAEMON=\"/bin/sh -c 'while :; do :; done'\"\nCPU_MAX=10%\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, wd := supervised(t, e, svc)
	dir, v1 := limitCgroup(t, pid, "cpu", "cpu", svc)
	if v1 {
		if q, p := readFileTrim(t, filepath.Join(dir, "cpu.cfs_quota_us")), readFileTrim(t, filepath.Join(dir, "cpu.cfs_period_us")); q != "10000" || p != "100000" {
			t.Errorf("cpu.cfs_quota_us %s, cpu.cfs_period_us %s; want 10000 per 100000", q, p)
		}
	} else if got := readFileTrim(t, filepath.Join(dir, "cpu.max")); got != "10000 100000" {
		t.Errorf("cpu.max = %s, want 10000 100000", got)
	}
	// The measurement's window: 2 s of the loop's CPU time against the clock.
	c0, t0 := cpuTime(t, pid), time.Now()
	<-time.After(2 * time.Second)
	c1, t1 := cpuTime(t, pid), time.Now()
	share := float64(c1-c0) / float64(t1.Sub(t0))
	t.Logf("the busy loop used %v of CPU in %v: %.1f%%", c1-c0, t1.Sub(t0).Round(time.Millisecond), 100*share)
	if share < 0.05 || share > 0.20 {
		t.Errorf("the busy loop used %.1f%% of a CPU, want 5%% to 20%% (CPU_MAX=10%%)", 100*share)
	}
	syscall.Kill(wd, syscall.SIGKILL)
	waitExit(t, wd, 10*time.Second)
	wantCode(t, e.Run(svc, "stop"), 0)
	waitExit(t, pid, 10*time.Second)
	if v1 {
		wantGone(t, dir)
	}
	noProcs(t, e, "after stop")
}

// IO_WEIGHT=500 is written where the host weighs I/O: io.weight in cgroup v2,
// blkio.bfq.weight (mapped onto 1-1000) in v1.
func TestLimitIOWeight(t *testing.T) {
	requireController(t, "io", "blkio")
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nIO_WEIGHT=500\n", svcMarker(svc))
	r := e.Run(svc, "start")
	if r.Code == 6 && strings.Contains(r.Stderr, "no weight file") {
		t.Skipf("no I/O scheduler that weighs cgroups here: %s", r.Stderr)
	}
	wantCode(t, r, 0)
	pid, _ := supervised(t, e, svc)
	dir, v1 := limitCgroup(t, pid, "io", "blkio", svc)
	want := map[string]string{"io.weight": "default 500"}
	if v1 {
		want = map[string]string{"blkio.bfq.weight": "136"}
	}
	for f, w := range want {
		if got := readFileTrim(t, filepath.Join(dir, f)); !strings.Contains(got, w) {
			t.Errorf("%s = %q, want %q", f, got, w)
		}
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	noProcs(t, e, "after stop")
}

// A limit whose controller the host has neither in cgroup v2 nor as a v1
// hierarchy (here: blkio unmounted in a private mount namespace) fails start
// with exit 6 and what is missing; nothing runs, and no cgroup is left.
func TestLimitUnavailable(t *testing.T) {
	requireRoot(t, "unmounts a cgroup hierarchy in a private mount namespace")
	requireCgroup(t)
	if v2Has("io") {
		t.Skip("cgroup v2 has the io controller here: nothing to hide")
	}
	if _, err := os.Stat("/sys/fs/cgroup/blkio/cgroup.procs"); err != nil {
		t.Skip("no cgroup v1 blkio hierarchy at /sys/fs/cgroup/blkio to hide")
	}
	e := newEnv(t)
	init := e.Script(svc, e.Daemon()+"\nIO_WEIGHT=500\n", svcMarker(svc))
	r := e.Exec("/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", "umount /sys/fs/cgroup/blkio && exec \"$0\" start", init)
	if r.Code != 6 || !strings.Contains(r.Stderr, "IO_WEIGHT needs the io controller: not in cgroup v2 (") ||
		!strings.Contains(r.Stderr, "no cgroup v1 hierarchy of blkio is mounted") {
		t.Errorf("start without blkio: %s", r)
	}
	noProcs(t, e, "after the refused start")
	if g := cgroup.ForService(svc, e.RunDir); g.Exists() {
		t.Errorf("cgroup %s left", g.Path)
	}
}
