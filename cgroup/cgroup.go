// Package cgroup gives each service a cgroup v2 of its own, svcwrap/NAME under
// the watchdog's cgroup, so that a stop reaches every process the daemon ever
// started (a helper that called setsid and forked twice included): signals go
// to every member, cgroup.events says when the last one is gone (an inotify
// event, not a poll), and cgroup.kill ends what a schedule left. It finds the
// writable cgroup v2 hierarchy (/sys/fs/cgroup on a pure v2 host, its unified
// mount on a hybrid one) and never touches a cgroup svcwrap did not create:
// every path it acts on ends in svcwrap/NAME.
package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"svcwrap/proc"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is the directory of svcwrap's cgroups under the watchdog's own.
const Dir = "svcwrap"

// DefaultRunDir is the RUNDIR whose services' cgroups are in Dir itself; the
// services of another RUNDIR (a second tree, a test's), or of a private mount
// namespace (its own /run, the same cgroup tree), are in Dir-HASH, so that two
// trees with the same service names never share a cgroup.
const DefaultRunDir = "/run/svcwrap"

func parentFor(runDir string) string {
	key := ""
	if runDir != DefaultRunDir && runDir != "" {
		key = filepath.Clean(runDir)
	}
	// A mount namespace other than PID 1's: /run is not the host's. (A
	// container with its own PID namespace shares its init's: svcwrap/.)
	if self, err := os.Readlink("/proc/self/ns/mnt"); err == nil {
		if init, err := os.Readlink("/proc/1/ns/mnt"); err == nil && init != self {
			key += "@" + self
		}
	}
	if key == "" {
		return Dir
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return Dir + "-" + strconv.FormatUint(h.Sum64(), 36)
}

var rootOnce = sync.OnceValue(func() string {
	if p := os.Getenv("SVCWRAP_CGROUP_ROOT"); p != "" {
		if p == "none" {
			return ""
		}
		return p
	}
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(p, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC && unix.Access(p, unix.W_OK) == nil {
			return p
		}
	}
	return ""
})

// Root is the mount point of the writable cgroup v2 hierarchy, or "" when the
// host has none (SVCWRAP_CGROUP_ROOT overrides it; "none" means none).
func Root() string { return rootOnce() }

// own is this process's cgroup v2 path ("/" or "/user.slice/..."), from
// /proc/self/cgroup's "0::" line.
func own() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "/"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			// A process whose cgroup was removed reads "/x (deleted)".
			return strings.TrimSuffix(p, " (deleted)")
		}
	}
	return "/"
}

// Group is one service's cgroup: Path is its directory, ending in svcwrap/NAME.
type Group struct {
	Path string
	// killed: cgroup.kill was written. This kernel then kills every process
	// later cloned into the cgroup (its kill counter no longer matches the
	// parent's), so the cgroup must be made anew before the next spawn
	// (Renew).
	killed atomic.Bool
	// controllers are those whose limits the group enforces (Plan), limits
	// their values: Create writes them.
	controllers []string
	limits      Limits
}

// ForService is the cgroup of service name of RUNDIR runDir for a watchdog
// running where this process runs; nil when the host has no cgroup v2
// hierarchy.
func ForService(name, runDir string) *Group {
	root := Root()
	if root == "" {
		return nil
	}
	return &Group{Path: filepath.Join(root, own(), parentFor(runDir), name)}
}

// At is the group recorded at path (a state file's), or nil when path is not a
// cgroup svcwrap made: it must lie in the hierarchy and end in svcwrap/NAME.
func At(path, name string) *Group {
	if path == "" {
		return nil // most services of a host without cgroups: no statfs for them
	}
	// The hierarchy's mount point without a statfs (status reads this on its
	// hot path): a recorded path lies under /sys/fs/cgroup, or under the
	// override.
	root := "/sys/fs/cgroup"
	if p := os.Getenv("SVCWRAP_CGROUP_ROOT"); p != "" && p != "none" {
		root = p
	}
	parent := filepath.Base(filepath.Dir(path))
	if !strings.HasPrefix(path, root+"/") || filepath.Clean(path) != path ||
		filepath.Base(path) != name || parent != Dir && !strings.HasPrefix(parent, Dir+"-") {
		return nil
	}
	return &Group{Path: path}
}

// Create makes the cgroup (and svcwrap/ above it) if missing, writes its limits
// (Plan), and opens it for clone(2)'s CLONE_INTO_CGROUP: the daemon starts
// inside it.
func (g *Group) Create() (fd int, err error) {
	for try := 0; ; try++ {
		// Another service's watchdog may remove the empty parent meanwhile.
		if err = os.MkdirAll(g.Path, 0o755); err == nil || try == 2 {
			break
		}
	}
	if err != nil {
		return -1, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	if err := g.applyLimits(); err != nil {
		return -1, err
	}
	fd, err = unix.Open(g.Path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	return fd, nil
}

// Exists reports whether the cgroup is there.
func (g *Group) Exists() bool {
	_, err := os.Stat(filepath.Join(g.Path, "cgroup.procs"))
	return err == nil
}

// Procs are the PIDs of the cgroup's live processes (zombies are not members).
func (g *Group) Procs() []int {
	out, _ := g.Members()
	return out
}

// Members is Procs, and whether the cgroup is there at all (one read: status
// asks both).
func (g *Group) Members() ([]int, bool) {
	b, err := os.ReadFile(filepath.Join(g.Path, "cgroup.procs"))
	if err != nil {
		return nil, false
	}
	out := []int{}
	for _, f := range bytes.Fields(b) {
		if n, err := strconv.Atoi(string(f)); err == nil {
			out = append(out, n)
		}
	}
	return out, true
}

// Memory is the memory of the cgroup whose processes are pids (from Procs), in
// bytes: memory.current when the memory controller is enabled for the cgroup
// (page cache and kernel memory charged to it included), else the sum of the
// resident sets of pids (/proc/PID/statm; as with summing ps's RSS column, a
// page shared by several processes counts once per process, and a process gone
// meanwhile counts 0). Each file is read with bare syscalls into a buffer on
// the stack: `metrics` reads these for every running service.
func (g *Group) Memory(pids []int) int64 {
	var buf [128]byte // statm: 7 numbers of pages
	if b, err := proc.ReadLineFile(filepath.Join(g.Path, "memory.current"), buf[:]); err == nil {
		if n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil {
			return n
		}
	}
	var total int64
	page := int64(os.Getpagesize())
	for _, pid := range pids {
		b, err := proc.ReadLineFile("/proc/"+strconv.Itoa(pid)+"/statm", buf[:])
		if err != nil {
			continue
		}
		// size resident shared text lib data dt, in pages
		f := bytes.Fields(b)
		if len(f) < 2 {
			continue
		}
		if n, err := strconv.ParseInt(string(f[1]), 10, 64); err == nil {
			total += n * page
		}
	}
	return total
}

// Populated reports whether a live process is in the cgroup.
func (g *Group) Populated() bool {
	b, err := os.ReadFile(filepath.Join(g.Path, "cgroup.events"))
	if err != nil {
		return false // gone: nothing can be in it
	}
	return bytes.Contains(b, []byte("populated 1"))
}

// Signal sends sig to every process of the cgroup, again until a pass finds no
// process it has not signalled yet (one forked meanwhile gets it too), at most
// a few passes.
func (g *Group) Signal(sig unix.Signal) {
	done := map[int]bool{}
	for pass := 0; pass < 8; pass++ {
		fresh := false
		for _, pid := range g.Procs() {
			if !done[pid] {
				done[pid], fresh = true, true
				unix.Kill(pid, sig)
			}
		}
		if !fresh {
			return
		}
	}
}

// Kill ends every process of the cgroup at once (cgroup.kill: SIGKILL to all,
// forks in progress included).
func (g *Group) Kill() error {
	g.killed.Store(true)
	return os.WriteFile(filepath.Join(g.Path, "cgroup.kill"), []byte("1"), 0)
}

// Killed reports whether Kill was used since the cgroup was made.
func (g *Group) Killed() bool { return g.killed.Load() }

// Renew removes the (empty) cgroup and makes it again, after a Kill: see
// killed. It returns the new directory's fd.
func (g *Group) Renew() (int, error) {
	if err := unix.Rmdir(g.Path); err != nil && !errors.Is(err, unix.ENOENT) {
		return -1, fmt.Errorf("cgroup %s: %w", g.Path, err)
	}
	g.killed.Store(false)
	return g.Create()
}

// WaitEmpty waits until the cgroup has no live process, or deadline: on
// inotify events of cgroup.events, never a poll. It reports whether it is empty.
func (g *Group) WaitEmpty(deadline time.Time) bool {
	if !g.Populated() {
		return true
	}
	in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return waitPoll(g, deadline)
	}
	defer unix.Close(in)
	if _, err := unix.InotifyAddWatch(in, filepath.Join(g.Path, "cgroup.events"), unix.IN_MODIFY|unix.IN_DELETE_SELF|unix.IN_IGNORED); err != nil {
		return !g.Populated()
	}
	buf := make([]byte, 4096)
	for {
		if !g.Populated() { // after the watch: no change is missed
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		ms := int(min(left, time.Hour).Milliseconds()) + 1
		fds := []unix.PollFd{{Fd: int32(in), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, ms); err != nil && !errors.Is(err, unix.EINTR) {
			return waitPoll(g, deadline)
		}
		unix.Read(in, buf) // drain; the file is read again above
	}
}

// waitPoll is WaitEmpty without inotify (none left): a bounded backoff.
func waitPoll(g *Group, deadline time.Time) bool {
	for wait := time.Millisecond; ; wait = min(wait*2, 50*time.Millisecond) {
		if !g.Populated() {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		t := time.NewTimer(min(wait, time.Until(deadline)))
		<-t.C
	}
}

// Remove deletes the cgroup once it is empty (a populated one stays: EBUSY).
// A missing one is no error.
func (g *Group) Remove() error {
	err := unix.Rmdir(g.Path)
	if errors.Is(err, unix.ENOENT) {
		err = nil
	}
	if err == nil {
		unix.Rmdir(filepath.Dir(g.Path)) // svcwrap/ itself once empty; EBUSY otherwise
	}
	return err
}
