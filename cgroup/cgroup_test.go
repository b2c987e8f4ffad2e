package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func testGroup(t *testing.T) *Group {
	t.Helper()
	if os.Geteuid() != 0 || Root() == "" {
		t.Skip("needs root and a cgroup v2 hierarchy")
	}
	g := ForService("cgtest", t.TempDir())
	t.Cleanup(func() {
		g.Kill()
		g.WaitEmpty(time.Now().Add(5 * time.Second))
		g.Remove()
	})
	return g
}

func spawnIn(t *testing.T, fd int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "100")
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	return cmd
}

func TestGroup(t *testing.T) {
	g := testGroup(t)
	if At(g.Path, "cgtest") == nil || At(g.Path, "other") != nil || At("/sys/fs/cgroup/x/cgtest", "cgtest") != nil {
		t.Errorf("At accepts or refuses the wrong paths (%s)", g.Path)
	}
	fd, err := g.Create()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := spawnIn(t, fd)
	if !g.Populated() || !slices.Contains(g.Procs(), cmd.Process.Pid) {
		t.Fatalf("the child is not in %s: %v", g.Path, g.Procs())
	}
	if n := g.Memory(g.Procs()); n <= 0 {
		t.Errorf("Memory of a cgroup with a sleep in it: %d", n)
	}
	g.Signal(unix.SIGTERM)
	if !g.WaitEmpty(time.Now().Add(5 * time.Second)) {
		t.Fatal("not empty after SIGTERM")
	}
	// After cgroup.kill, a new child is killed at birth until the cgroup is
	// made anew (Renew).
	spawnIn(t, fd)
	g.Kill()
	if !g.WaitEmpty(time.Now().Add(5*time.Second)) || !g.Killed() {
		t.Fatal("not empty after cgroup.kill")
	}
	fd2, err := g.Renew()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd2)
	c := spawnIn(t, fd2)
	if g.WaitEmpty(time.Now().Add(200 * time.Millisecond)) {
		t.Fatalf("a child of the renewed cgroup died: %v", c.ProcessState)
	}
	g.Kill()
	g.WaitEmpty(time.Now().Add(5 * time.Second))
	if err := g.Remove(); err != nil || g.Exists() {
		t.Errorf("Remove: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(g.Path)); !os.IsNotExist(err) {
		t.Errorf("the empty parent %s stays", filepath.Dir(g.Path))
	}
}

// Memory reads memory.current when the memory controller provides it, else
// sums the resident sets of the PIDs it is given (a hybrid host's unified
// hierarchy has no memory controller).
func TestMemory(t *testing.T) {
	withCurrent := &Group{Path: t.TempDir()}
	os.WriteFile(filepath.Join(withCurrent.Path, "memory.current"), []byte("123456789\n"), 0o644)
	if n := withCurrent.Memory([]int{os.Getpid()}); n != 123456789 {
		t.Errorf("with memory.current: %d; want 123456789", n)
	}
	without := &Group{Path: t.TempDir()}
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := strconv.ParseInt(strings.Fields(string(b))[1], 10, 64)
	one := pages * int64(os.Getpagesize())
	// This process twice and a PID that does not exist: twice its RSS.
	if n := without.Memory([]int{os.Getpid(), os.Getpid(), 999999999}); one <= 0 || n < 2*one*9/10 || n > 2*one*11/10 {
		t.Errorf("summed over the PIDs: %d; want about 2 × %d", n, one)
	}
	if n := without.Memory(nil); n != 0 {
		t.Errorf("no PIDs, no memory.current: %d", n)
	}
}
