package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// The writes of each controller, in cgroup v2 and v1, written into a plain
// directory: what each key becomes, and an unset limit written as none.
func TestLimitSettings(t *testing.T) {
	l := Limits{MemoryMax: 32 << 20, PidsMax: 20, CPUPercent: 150, IOWeight: 1000}
	cases := []struct {
		c     string
		v1    bool
		files []string // present in the directory
		want  map[string]string
	}{
		{"memory", false, nil, map[string]string{"memory.max": "33554432", "memory.high": "max"}},
		{"memory", true, nil, map[string]string{"memory.limit_in_bytes": "33554432", "memory.soft_limit_in_bytes": "-1"}},
		{"pids", false, nil, map[string]string{"pids.max": "20"}},
		{"pids", true, nil, map[string]string{"pids.max": "20"}},
		{"cpu", false, nil, map[string]string{"cpu.max": "150000 100000"}},
		{"cpu", true, nil, map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "150000"}},
		{"io", false, []string{"io.weight", "io.bfq.weight"}, map[string]string{"io.weight": "default 1000", "io.bfq.weight": "181"}},
		{"blkio", true, []string{"blkio.bfq.weight"}, map[string]string{"blkio.bfq.weight": "181"}},
		{"blkio", true, []string{"blkio.weight"}, map[string]string{"blkio.weight": "545"}},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s v1=%v", tc.c, tc.v1), func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				os.WriteFile(filepath.Join(dir, f), nil, 0o644)
			}
			ss, err := l.settings(tc.c, tc.v1, func(f string) bool { return exists(filepath.Join(dir, f)) })
			if err != nil {
				t.Fatal(err)
			}
			if err := write(dir, ss); err != nil {
				t.Fatal(err)
			}
			for f, want := range tc.want {
				if got := readTrim(t, filepath.Join(dir, f)); got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
			if len(ss) != len(tc.want) {
				t.Errorf("settings %v, want %v", ss, tc.want)
			}
		})
	}
	// No weight file: IO_WEIGHT cannot apply, and says why.
	for _, v1 := range []bool{false, true} {
		if _, err := l.settings("io", v1, func(string) bool { return false }); err == nil || !strings.Contains(err.Error(), "no weight file") {
			t.Errorf("IO_WEIGHT without a weight file (v1=%v): %v", v1, err)
		}
	}
	// A write the kernel refuses names the key, the value and the file.
	err := write(filepath.Join(t.TempDir(), "gone"), []setting{{"PIDS_MAX", "pids.max", "20"}})
	if err == nil || !strings.HasPrefix(err.Error(), "PIDS_MAX: writing 20 to ") || !strings.HasSuffix(err.Error(), "pids.max: no such file or directory") {
		t.Errorf("write error: %v", err)
	}
}

func TestScaleWeight(t *testing.T) {
	for _, c := range []struct{ w, bfq, cfq int }{{1, 1, 10}, {50, 50, 252}, {100, 100, 500}, {1000, 181, 545}, {10000, 1000, 1000}} {
		if got := scaleWeight(c.w, 1, 100, 1000); got != c.bfq {
			t.Errorf("BFQ weight of %d = %d, want %d", c.w, got, c.bfq)
		}
		if got := scaleWeight(c.w, 10, 500, 1000); got != c.cfq {
			t.Errorf("CFQ weight of %d = %d, want %d", c.w, got, c.cfq)
		}
	}
}

// A limit whose controller the host has nowhere fails, naming the key and the
// controller; without limits there is nothing to plan.
func TestPlanMissing(t *testing.T) {
	saved := v1Mounts
	v1Mounts = func() map[string]v1Mount { return map[string]v1Mount{} }
	t.Cleanup(func() { v1Mounts = saved })
	if v, err := Plan(nil, "svc", "/run/x", Limits{}); v != nil || err != nil {
		t.Errorf("Plan without limits: %v %v", v, err)
	}
	_, err := Plan(nil, "svc", "/run/x", Limits{MemoryMax: 1 << 20, MemoryHigh: 1 << 19, CPUPercent: 10})
	want := "MEMORY_MAX and MEMORY_HIGH needs the memory controller: no cgroup v2 hierarchy, and no cgroup v1 hierarchy of memory is mounted; " +
		"CPU_MAX needs the cpu controller: no cgroup v2 hierarchy, and no cgroup v1 hierarchy of cpu is mounted"
	if err == nil || err.Error() != want {
		t.Errorf("Plan: %v\nwant: %s", err, want)
	}
}

func TestV1At(t *testing.T) {
	m, ok := v1Mounts()["pids"]
	if !ok {
		t.Skip("no cgroup v1 pids hierarchy on this host")
	}
	good := filepath.Join(m.point, "svcwrap-x", "svc")
	if v := V1At([]string{good}, "svc"); v == nil || v.controllers[0] != "pids" {
		t.Errorf("V1At(%s) = %+v", good, v)
	}
	for _, bad := range [][]string{
		{filepath.Join(m.point, "svcwrap-x", "other")},
		{filepath.Join(m.point, "elsewhere", "svc")},
		{"/tmp/svcwrap/svc"},
		{good, "/tmp/svcwrap/svc"},
		{m.point + "/svcwrap/../svc"},
	} {
		if v := V1At(bad, "svc"); v != nil {
			t.Errorf("V1At(%v) accepted", bad)
		}
	}
}

// On a hybrid host: the v1 cgroups of every limit are made with their values,
// each daemon is born in each of them, the thread that forked it leaves (so
// PIDS_MAX counts the service's processes only: the sixth spawn under
// PIDS_MAX=5 fails), and Remove deletes them.
func TestV1Limits(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: cgroups are made by root")
	}
	have := strings.Fields(readTrimErr(filepath.Join(Root(), "cgroup.controllers")))
	for _, c := range []string{"memory", "pids", "cpu"} {
		if slices.Contains(have, c) {
			t.Skipf("cgroup v2 has the %s controller here: see TestV2Limits", c)
		}
		if v1Path(c, "x", "/x") == "" {
			t.Skipf("no cgroup v1 %s hierarchy on this host", c)
		}
	}
	l := Limits{MemoryMax: 64 << 20, MemoryHigh: 48 << 20, PidsMax: 5, CPUPercent: 50}
	v, err := Plan(ForService("cgtest", t.TempDir()), "cgtest", t.TempDir(), l)
	if err != nil || v == nil || len(v.Dirs) != 3 {
		t.Fatalf("Plan: %+v %v", v, err)
	}
	t.Cleanup(func() {
		for _, d := range v.Dirs {
			for _, p := range strings.Fields(readTrimErr(filepath.Join(d, "cgroup.procs"))) {
				n, _ := strconv.Atoi(p)
				unix.Kill(n, unix.SIGKILL)
			}
		}
		until(t, 5*time.Second, func() bool { return v.Remove() == nil })
	})
	if err := v.Create(); err != nil {
		t.Fatal(err)
	}
	// Removed by hand (empty): the first spawn makes them again.
	if err := v.Remove(); err != nil {
		t.Fatal(err)
	}
	var pids []int
	spawn := func() (*exec.Cmd, string, error) {
		var during string
		cmd := exec.Command("/bin/sleep", "100")
		err := v.Run(func() error {
			during = readTrimErr(filepath.Join(v.Dirs[slices.Index(v.controllers, "pids")], "pids.max"))
			return cmd.Start()
		})
		if err == nil {
			go cmd.Wait()
			pids = append(pids, cmd.Process.Pid)
		}
		return cmd, during, err
	}
	first, _, err := spawn()
	if err != nil {
		t.Fatal(err)
	}
	dir := map[string]string{}
	for i, c := range v.controllers {
		dir[c] = v.Dirs[i]
		if !strings.HasSuffix(v.Dirs[i], "/cgtest") || !strings.Contains(v.Dirs[i], "/svcwrap-") {
			t.Errorf("cgroup %s, want .../svcwrap-HASH/cgtest", v.Dirs[i])
		}
	}
	for f, want := range map[string]string{
		dir["memory"] + "/memory.limit_in_bytes":      "67108864",
		dir["memory"] + "/memory.soft_limit_in_bytes": "50331648",
		dir["pids"] + "/pids.max":                     "5",
		dir["cpu"] + "/cpu.cfs_quota_us":              "50000",
		dir["cpu"] + "/cpu.cfs_period_us":             "100000",
	} {
		if got := readTrim(t, f); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	for i := 1; i < 6; i++ {
		cmd, during, err := spawn()
		if during != "6" {
			t.Errorf("pids.max while the thread forks = %q, want 6", during)
		}
		if got := readTrim(t, dir["pids"]+"/pids.max"); got != "5" {
			t.Errorf("pids.max after the spawn = %q, want 5", got)
		}
		if i == 5 {
			if !errors.Is(err, unix.EAGAIN) {
				t.Errorf("a sixth process under PIDS_MAX=5: %v, want EAGAIN", err)
			}
			break
		}
		if err != nil {
			t.Fatalf("spawn %d: %v", i+1, err)
		}
		for _, c := range []*exec.Cmd{first, cmd} {
			cg := readTrimErr(fmt.Sprintf("/proc/%d/cgroup", c.Process.Pid)) + "\n"
			for ctrl, d := range dir {
				if !strings.Contains(cg, ":"+strings.TrimPrefix(d, v1Mounts()[ctrl].point)+"\n") {
					t.Errorf("child %d is not in %s:\n%s", c.Process.Pid, d, cg)
				}
			}
		}
		// The thread that forked it leaves with its goroutine.
		until(t, 5*time.Second, func() bool { return readTrimErr(dir["pids"]+"/pids.current") == strconv.Itoa(i+1) })
	}
	// The sixth spawn's thread ends soon after Run returns.
	until(t, 5*time.Second, func() bool { return readTrimErr(dir["pids"]+"/pids.current") == "5" })
	if tasks := strings.Fields(readTrim(t, dir["memory"]+"/tasks")); len(tasks) != 5 || slices.Contains(tasks, strconv.Itoa(os.Getpid())) {
		t.Errorf("memory cgroup tasks %v: want the 5 sleeps, no thread of this process", tasks)
	}
	if n := v.OOMKills(); n != 0 {
		t.Errorf("OOMKills = %d", n)
	}
	if err := v.Remove(); err == nil {
		t.Error("Remove of a populated cgroup succeeded")
	}
	for _, p := range pids {
		unix.Kill(p, unix.SIGKILL)
	}
	until(t, 5*time.Second, func() bool { return v.Remove() == nil })
	for _, d := range v.Dirs {
		if exists(d) || exists(filepath.Dir(d)) {
			t.Errorf("%s (or its svcwrap-HASH) left after Remove", d)
		}
	}
}

// until polls cond with a growing interval (the kernel has no event for a
// thread leaving a cgroup v1), failing the test after timeout.
func until(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; !cond(); wait = min(wait*2, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still not so after %v", timeout)
		}
		time.Sleep(wait)
	}
}

func readTrimErr(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// On a host whose cgroup v2 hierarchy has the controllers (not a hybrid one),
// Create enables them and writes the limits.
func TestV2Limits(t *testing.T) {
	g := testGroup(t)
	have := readTrimErr(filepath.Join(Root(), "cgroup.controllers"))
	for _, c := range []string{"memory", "pids", "cpu"} {
		if !slices.Contains(strings.Fields(have), c) {
			t.Skipf("the cgroup v2 hierarchy has no %s controller here (cgroup.controllers: %q): limits are in cgroup v1 (TestV1Limits)", c, have)
		}
	}
	l := Limits{MemoryMax: 64 << 20, MemoryHigh: 48 << 20, PidsMax: 5, CPUPercent: 50}
	v, err := Plan(g, "cgtest", filepath.Dir(filepath.Dir(g.Path)), l)
	if err != nil || v != nil || !g.Limited() {
		t.Fatalf("Plan: %v %v", v, err)
	}
	fd, err := g.Create()
	if err != nil {
		t.Skipf("the watchdog's cgroup cannot hand the controllers down: %v", err)
	}
	unix.Close(fd)
	for f, want := range map[string]string{"memory.max": "67108864", "memory.high": "50331648", "pids.max": "5", "cpu.max": "50000 100000"} {
		if got := readTrim(t, filepath.Join(g.Path, f)); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
	if n := g.OOMKills(); n != 0 {
		t.Errorf("OOMKills = %d", n)
	}
}
