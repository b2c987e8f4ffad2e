package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// V1 is a service's cgroups in the cgroup v1 hierarchies of the controllers
// that its limits need and that cgroup v2 lacks (a hybrid host, whose v2
// hierarchy has no controllers): svcwrap/NAME under the watchdog's own cgroup
// in each. cgroup v2's cgroup (Group) stays the one that stop empties and
// kills; these only limit. They hold the same processes: the daemon is born in
// them too (Run).
type V1 struct {
	Dirs        []string // each ends in svcwrap/NAME (svcwrap-HASH/NAME)
	controllers []string // the controller of each of Dirs
	limits      Limits
}

// v1Mount is where a cgroup v1 hierarchy is mounted, and which of its cgroups
// the mount shows at its top (mountinfo's root field: "/" but in a container).
type v1Mount struct{ point, root string }

// v1Mounts are the cgroup v1 hierarchies, by controller (a co-mounted
// cpu,cpuacct is under both), from /proc/self/mountinfo.
var v1Mounts = sync.OnceValue(func() map[string]v1Mount {
	out := map[string]v1Mount{}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(b), "\n") {
		left, right, ok := strings.Cut(l, " - ")
		lf, rf := strings.Fields(left), strings.Fields(right)
		if !ok || len(lf) < 5 || len(rf) < 3 || rf[0] != "cgroup" {
			continue
		}
		for _, opt := range strings.Split(rf[2], ",") {
			if _, seen := out[opt]; !seen {
				out[opt] = v1Mount{point: lf[4], root: lf[3]}
			}
		}
	}
	return out
})

// ownV1 is this process's cgroup in the v1 hierarchy of controller c, from
// /proc/self/cgroup ("4:memory:/a/b"); "" when c has none.
func ownV1(c string) string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), c) {
			return strings.TrimSuffix(f[2], " (deleted)")
		}
	}
	return ""
}

// v1Path is the service's cgroup in the v1 hierarchy of controller c, or ""
// when no such hierarchy is mounted.
func v1Path(c, name, runDir string) string {
	m, ok := v1Mounts()[c]
	own := ownV1(c)
	if !ok || own == "" {
		return ""
	}
	if m.root != "/" {
		own = strings.TrimPrefix(own, m.root)
	}
	return filepath.Join(m.point, own, parentFor(runDir), name)
}

// V1At is the set of v1 cgroups a state file records, or nil when one of them
// is not a cgroup svcwrap made: it must lie in a v1 hierarchy of a limit's
// controller and end in svcwrap/NAME.
func V1At(dirs []string, name string) *V1 {
	if len(dirs) == 0 {
		return nil
	}
	v := &V1{}
	for _, d := range dirs {
		parent := filepath.Base(filepath.Dir(d))
		if filepath.Clean(d) != d || filepath.Base(d) != name || parent != Dir && !strings.HasPrefix(parent, Dir+"-") {
			return nil
		}
		c := ""
		for _, ct := range controllers {
			if m, ok := v1Mounts()[ct.v1]; ok && strings.HasPrefix(d, m.point+"/") {
				c = ct.v1
			}
		}
		if c == "" {
			return nil
		}
		v.Dirs, v.controllers = append(v.Dirs, d), append(v.controllers, c)
	}
	return v
}

// Create makes the cgroups (and svcwrap/ above them) if missing and writes
// their limits.
func (v *V1) Create() error {
	for i, dir := range v.Dirs {
		var err error
		for try := 0; try < 3; try++ {
			// Another service's watchdog may remove the empty parent meanwhile.
			if err = os.MkdirAll(dir, 0o755); err == nil {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("%s: cgroup v1 %s: %w", strings.Join(keysOf(v.controllers[i], v.limits), " and "), dir, unwrapPath(err))
		}
		ss, err := v.limits.settings(v.controllers[i], true, func(f string) bool { return exists(filepath.Join(dir, f)) })
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(keysOf(v.controllers[i], v.limits), " and "), err)
		}
		if err := write(dir, ss); err != nil {
			return err
		}
	}
	return nil
}

// Run calls start (which forks the daemon) on a thread of its own that first
// joins each of the cgroups (made again if someone removed them): cgroup v1 moves one thread at a time (its tasks
// file), and a child is born in its parent thread's cgroups. v1 has no
// CLONE_INTO_CGROUP, and a PID written to cgroup.procs after the fork would
// come after the exec (os/exec returns only then): the daemon would run, and
// could fork, outside for a while. Here it runs no instruction outside, like in
// cgroup v2. The thread is never used again: it is locked to its goroutine,
// which ends without unlocking it, and Go then ends the thread (soon after Run
// returns, not before). While the thread is in the pids cgroup it counts:
// pids.max is one higher until start returns, so that the service's own
// processes never exceed PIDS_MAX.
func (v *V1) Run(start func() error) error {
	errc := make(chan error, 1)
	go v.run(start, errc)
	return <-errc
}

func (v *V1) run(start func() error, errc chan<- error) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread outlives its goroutine (Go keeps it rather than end
		// it): it stays here, locked, so that another thread does the work.
		inner := make(chan error, 1)
		go v.run(start, inner)
		err := <-inner
		runtime.UnlockOSThread()
		errc <- err
		return
	}
	// From here on, never unlocked: the thread ends with this goroutine.
	for _, dir := range v.Dirs {
		if !exists(dir) { // removed by hand: made again
			if err := v.Create(); err != nil {
				errc <- err
				return
			}
			break
		}
	}
	pids := ""
	if i := slices.Index(v.controllers, "pids"); i >= 0 {
		pids = filepath.Join(v.Dirs[i], "pids.max")
		if err := os.WriteFile(pids, []byte(pidsMax(v.limits.PidsMax+1)), 0); err != nil {
			errc <- fmt.Errorf("PIDS_MAX: %w", err)
			return
		}
	}
	tid := []byte(strconv.Itoa(unix.Gettid()))
	for i, dir := range v.Dirs {
		if err := os.WriteFile(filepath.Join(dir, "tasks"), tid, 0); err != nil {
			errc <- fmt.Errorf("%s: cannot enter cgroup v1 %s: %w", strings.Join(keysOf(v.controllers[i], v.limits), " and "), dir, unwrapPath(err))
			return
		}
	}
	err := start()
	if pids != "" {
		// The daemon runs: a failure here cannot undo it; the limit is one
		// higher until the next spawn.
		os.WriteFile(pids, []byte(pidsMax(v.limits.PidsMax)), 0)
	}
	errc <- err
}

// OOMKills is how many processes of the memory cgroup the kernel's OOM killer
// ended since it was made (memory.oom_control's oom_kill); 0 without one.
func (v *V1) OOMKills() int {
	if i := slices.Index(v.controllers, "memory"); i >= 0 {
		return readCount(filepath.Join(v.Dirs[i], "memory.oom_control"), "oom_kill")
	}
	return 0
}

// Remove deletes the cgroups once they are empty (a populated one stays:
// EBUSY), and svcwrap/ above each once it is empty too. A missing one is no
// error.
func (v *V1) Remove() error {
	var first error
	for _, dir := range v.Dirs {
		err := unix.Rmdir(dir)
		if errors.Is(err, unix.ENOENT) {
			err = nil
		}
		if err == nil {
			unix.Rmdir(filepath.Dir(dir)) // EBUSY while another service's is there
		} else if first == nil {
			first = fmt.Errorf("cgroup v1 %s: %w", dir, err)
		}
	}
	return first
}
