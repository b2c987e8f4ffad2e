package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Limits are a service's resource limits (MEMORY_MAX, MEMORY_HIGH, PIDS_MAX,
// CPU_MAX, IO_WEIGHT); a zero field sets nothing. Each is enforced by one
// controller, in cgroup v2 where the host's v2 hierarchy has that controller,
// else in its cgroup v1 hierarchy (a hybrid host): see Plan.
type Limits struct {
	MemoryMax, MemoryHigh int64 // bytes
	PidsMax               int
	CPUPercent            int // of one CPU, per CPUPeriod
	IOWeight              int // 1-10000, 100 the kernel's default
}

// CPUPeriod is the period of CPU_MAX's quota, in microseconds (the kernel's
// default): CPU_MAX=10% is 10 ms of CPU time every 100 ms.
const CPUPeriod = 100000

// pidsLimit is the highest pids.max the kernel takes (PID_MAX_LIMIT).
const pidsLimit = 4194304

// Any reports whether a limit is set.
func (l Limits) Any() bool { return l != Limits{} }

// controller is one cgroup controller: its name in cgroup v2 and in v1, and
// the keys of Limits it enforces.
type controller struct {
	v2, v1 string
	keys   func(l Limits) []string
}

var controllers = []controller{
	{"memory", "memory", func(l Limits) []string {
		return keysIf(l.MemoryMax > 0, "MEMORY_MAX", l.MemoryHigh > 0, "MEMORY_HIGH")
	}},
	{"pids", "pids", func(l Limits) []string { return keysIf(l.PidsMax > 0, "PIDS_MAX") }},
	{"cpu", "cpu", func(l Limits) []string { return keysIf(l.CPUPercent > 0, "CPU_MAX") }},
	{"io", "blkio", func(l Limits) []string { return keysIf(l.IOWeight > 0, "IO_WEIGHT") }},
}

func keysIf(pairs ...any) []string {
	var out []string
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i].(bool) {
			out = append(out, pairs[i+1].(string))
		}
	}
	return out
}

// setting is one write of a limit: value to file, on behalf of key.
type setting struct{ key, file, value string }

// settings are the writes of controller c's limits in dir (cgroup v2, or v1
// when v1 is set). A limit that is not set is written as none, so that a
// cgroup left by an earlier run with other values gets this run's. has says
// whether dir has a file (the I/O weight's depends on the scheduler).
func (l Limits) settings(c string, v1 bool, has func(file string) bool) ([]setting, error) {
	size := func(n int64) string {
		switch {
		case n > 0:
			return strconv.FormatInt(n, 10)
		case v1:
			return "-1"
		}
		return "max"
	}
	switch c {
	case "memory":
		if v1 {
			return []setting{{"MEMORY_MAX", "memory.limit_in_bytes", size(l.MemoryMax)},
				{"MEMORY_HIGH", "memory.soft_limit_in_bytes", size(l.MemoryHigh)}}, nil
		}
		return []setting{{"MEMORY_MAX", "memory.max", size(l.MemoryMax)}, {"MEMORY_HIGH", "memory.high", size(l.MemoryHigh)}}, nil
	case "pids":
		return []setting{{"PIDS_MAX", "pids.max", pidsMax(l.PidsMax)}}, nil
	case "cpu":
		quota := l.CPUPercent * CPUPeriod / 100
		if v1 {
			q := "-1"
			if quota > 0 {
				q = strconv.Itoa(quota)
			}
			return []setting{{"CPU_MAX", "cpu.cfs_period_us", strconv.Itoa(CPUPeriod)}, {"CPU_MAX", "cpu.cfs_quota_us", q}}, nil
		}
		q := "max"
		if quota > 0 {
			q = strconv.Itoa(quota)
		}
		return []setting{{"CPU_MAX", "cpu.max", q + " " + strconv.Itoa(CPUPeriod)}}, nil
	case "io", "blkio":
		w := max(l.IOWeight, 0)
		if w == 0 {
			w = 100
		}
		var out []setting
		if !v1 && has("io.weight") {
			out = append(out, setting{"IO_WEIGHT", "io.weight", "default " + strconv.Itoa(w)})
		}
		bfq := "io.bfq.weight"
		if v1 {
			bfq = "blkio.bfq.weight"
		}
		if has(bfq) {
			out = append(out, setting{"IO_WEIGHT", bfq, strconv.Itoa(scaleWeight(w, 1, 100, 1000))})
		}
		if v1 && len(out) == 0 && has("blkio.weight") { // CFQ, before Linux 5.0
			out = append(out, setting{"IO_WEIGHT", "blkio.weight", strconv.Itoa(scaleWeight(w, 10, 500, 1000))})
		}
		if len(out) == 0 {
			if v1 {
				return nil, errors.New("the blkio controller has no weight file (blkio.bfq.weight, blkio.weight): no I/O scheduler that weighs cgroups")
			}
			return nil, errors.New("the io controller has no weight file (io.weight, io.bfq.weight): no I/O scheduler or io.cost that weighs cgroups")
		}
		return out, nil
	}
	return nil, fmt.Errorf("no controller %s", c)
}

func pidsMax(n int) string {
	if n <= 0 || n > pidsLimit {
		return "max"
	}
	return strconv.Itoa(n)
}

// scaleWeight maps an IO_WEIGHT (1-10000, default 100) onto a weight of lo to
// hi whose default is def, linearly on each side of the defaults, as systemd
// maps IOWeight onto BFQ's and CFQ's weights.
func scaleWeight(w, lo, def, hi int) int {
	if w <= 100 {
		return lo + (w-1)*(def-lo)/99
	}
	return def + (w-100)*(hi-def)/9900
}

// write makes settings in dir, in order.
func write(dir string, ss []setting) error {
	for _, s := range ss {
		p := filepath.Join(dir, s.file)
		if err := os.WriteFile(p, []byte(s.value), 0); err != nil {
			return fmt.Errorf("%s: writing %s to %s: %w", s.key, s.value, p, unwrapPath(err))
		}
	}
	return nil
}

// unwrapPath is the errno of a *os.PathError, whose path the message already says.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Plan says where each limit of l is enforced. A controller that the cgroup v2
// hierarchy has is set on g: Create enables it for svcwrap's cgroups and writes
// its files. The others are returned as cgroups v1 to make (nil when there are
// none): svcwrap/NAME under the watchdog's own cgroup in the controller's v1
// hierarchy. A limit that neither can enforce is an error naming the key and
// the controller. g may be nil (no cgroup v2).
func Plan(g *Group, name, runDir string, l Limits) (*V1, error) {
	if !l.Any() {
		return nil, nil
	}
	var v2 []string
	if g != nil {
		b, _ := os.ReadFile(filepath.Join(Root(), "cgroup.controllers"))
		v2 = strings.Fields(string(b))
	}
	v := &V1{limits: l}
	var missing []string
	for _, c := range controllers {
		keys := c.keys(l)
		if len(keys) == 0 {
			continue
		}
		if slices.Contains(v2, c.v2) {
			g.controllers = append(g.controllers, c.v2)
			continue
		}
		if dir := v1Path(c.v1, name, runDir); dir != "" {
			v.Dirs, v.controllers = append(v.Dirs, dir), append(v.controllers, c.v1)
			continue
		}
		where := "no cgroup v2 hierarchy"
		if g != nil {
			where = "not in cgroup v2 (" + filepath.Join(Root(), "cgroup.controllers") + ")"
		}
		missing = append(missing, fmt.Sprintf("%s needs the %s controller: %s, and no cgroup v1 hierarchy of %s is mounted",
			strings.Join(keys, " and "), c.v2, where, c.v1))
	}
	if g != nil {
		g.limits = l
	}
	if len(missing) > 0 {
		return nil, errors.New(strings.Join(missing, "; "))
	}
	if len(v.Dirs) == 0 {
		return nil, nil
	}
	return v, nil
}

// applyLimits enables the group's controllers in the cgroups above it and
// writes their limits: in the watchdog's cgroup, when the controller is not
// yet handed down (the kernel refuses that to a cgroup with processes of its
// own, the root excepted), then in svcwrap/.
func (g *Group) applyLimits() error {
	if len(g.controllers) == 0 {
		return nil
	}
	parent := filepath.Dir(g.Path)
	for _, dir := range []string{filepath.Dir(parent), parent} {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control"))
		if err != nil {
			return fmt.Errorf("cgroup %s: %w", dir, err)
		}
		on := strings.Fields(string(b))
		for _, c := range g.controllers {
			if slices.Contains(on, c) {
				continue
			}
			p := filepath.Join(dir, "cgroup.subtree_control")
			if err := os.WriteFile(p, []byte("+"+c), 0); err != nil {
				why := ""
				switch {
				case errors.Is(err, unix.EBUSY):
					why = " (cgroup v2 hands a controller down only from the root or a cgroup without processes of its own, and the watchdog runs in " + dir + ")"
				case errors.Is(err, unix.ENOENT):
					why = " (" + dir + " does not have it: the cgroup above does not hand it down)"
				}
				return fmt.Errorf("%s: cannot enable the %s controller: writing +%s to %s: %w%s",
					strings.Join(keysOf(c, g.limits), " and "), c, c, p, unwrapPath(err), why)
			}
		}
	}
	for _, c := range g.controllers {
		ss, err := g.limits.settings(c, false, func(f string) bool { return exists(filepath.Join(g.Path, f)) })
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(keysOf(c, g.limits), " and "), err)
		}
		if err := write(g.Path, ss); err != nil {
			return err
		}
	}
	return nil
}

// keysOf are the keys of l that controller c (by its v1 or v2 name) enforces.
func keysOf(c string, l Limits) []string {
	for _, ct := range controllers {
		if ct.v2 == c || ct.v1 == c {
			return ct.keys(l)
		}
	}
	return nil
}

// Limited reports whether the group enforces limits (Plan put controllers on it).
func (g *Group) Limited() bool { return len(g.controllers) > 0 }

// OOMKills is how many processes of the group the kernel's OOM killer ended
// since it was made (memory.events); 0 when it enforces no memory limit.
func (g *Group) OOMKills() int {
	if !slices.Contains(g.controllers, "memory") {
		return 0
	}
	return readCount(filepath.Join(g.Path, "memory.events"), "oom_kill")
}

// readCount reads the value of "key N" in a flat-keyed cgroup file; 0 when
// missing.
func readCount(file, key string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+" "); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
