// Package proc identifies, signals, waits for and stops processes. A process is
// known by its PID and its start time, never by its PID alone (the kernel reuses
// PIDs); a zombie counts as dead (where PID 1 does not reap orphans, a dead process
// stays a zombie for ever); signals go through pidfds, which can never reach a
// process that reused the PID. Stop is the one runner of a stop schedule, for a
// process and the process group it leads; Run is the one runner of a bounded
// command (probes, guards, hooks).
package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Ref identifies one process beyond its PID: the start time (field 22 of
// /proc/PID/stat, in clock ticks since boot), as runc does. The device and inode of
// its executable are kept for information (and to match a program).
type Ref struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
}

// Stat is the part of /proc/PID/stat svcwrap uses.
type Stat struct {
	State   byte
	PPID    int
	PGID    int
	Session int
	Start   uint64 // field 22, clock ticks since boot
	RSS     int64  // field 24, resident pages
}

// Dead reports a state in which a process will never run again: a zombie (on a
// host whose PID 1 does not reap orphans, a dead daemon stays one for ever and
// kill(pid, 0) still succeeds, so svcwrap never trusts kill(pid, 0) alone).
func (s Stat) Dead() bool { return s.State == 'Z' || s.State == 'X' || s.State == 'x' }

// ReadStat parses /proc/PID/stat. comm may contain spaces and parentheses, so the
// fields are counted from the last ')'. It is read with bare syscalls into a buffer
// on the stack: `list` reads two of these per service, and os.ReadFile costs an
// fstat, a second read and a heap buffer each time.
func ReadStat(pid int) (Stat, error) {
	var st Stat
	if pid <= 0 {
		return st, os.ErrNotExist
	}
	var buf [2048]byte // the whole line is at most ~1100 bytes (52 fields, comm of 16)
	b, err := ReadLineFile("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if err != nil {
		return st, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return st, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	// Fields 3 (state) to 24 (rss), separated by single spaces.
	var f [22][]byte
	rest := b[i+2:]
	for n := range f {
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			j = len(rest)
		}
		f[n] = bytes.TrimSpace(rest[:j])
		if j == len(rest) && n < len(f)-1 {
			return st, fmt.Errorf("/proc/%d/stat: malformed", pid)
		}
		rest = rest[min(j+1, len(rest)):]
	}
	if len(f[0]) != 1 {
		return st, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	st.State = f[0][0]
	st.PPID = atoiBytes(f[1])
	st.PGID = atoiBytes(f[2])
	st.Session = atoiBytes(f[3])
	st.RSS = int64(atoiBytes(f[21]))
	st.Start, err = strconv.ParseUint(string(f[19]), 10, 64)
	return st, err
}

// atoiBytes is strconv.Atoi on a byte slice without the string allocation; it is
// 0 for anything but a (possibly negative) decimal number.
func atoiBytes(b []byte) int {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	if neg {
		return -n
	}
	return n
}

// ReadLineFile reads a small one-line /proc or /sys file into buf with open,
// read and close only (no fstat, no heap buffer). A file that does not fit is
// an error.
func ReadLineFile(path string, buf []byte) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err} // ESRCH: it exited since the open
		}
		if m == 0 {
			return buf[:n], nil
		}
		n += m
		if n < len(buf) && buf[n-1] == '\n' {
			// /proc/PID/stat is one line, produced whole by the first read:
			// no second read to see the end.
			return buf[:n], nil
		}
	}
	return nil, fmt.Errorf("%s: longer than %d bytes", path, len(buf))
}

// ExeID returns the device and inode of /proc/PID/exe (a deleted executable too:
// the link still names the running inode).
func ExeID(pid int) (dev, ino uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/exe", &st); err != nil {
		return 0, 0, err
	}
	return st.Dev, st.Ino, nil
}

// Identify takes the identity of a live process.
func Identify(pid int) (Ref, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return Ref{}, err
	}
	if st.Dead() {
		return Ref{}, os.ErrNotExist
	}
	return refOf(pid, st), nil
}

// Child is Identify for our own child, which may already be a zombie.
func Child(pid int) Ref {
	st, err := ReadStat(pid)
	if err != nil {
		return Ref{PID: pid}
	}
	return refOf(pid, st)
}

func refOf(pid int, st Stat) Ref {
	ref := Ref{PID: pid, Start: st.Start}
	if dev, ino, err := ExeID(pid); err == nil {
		ref.Dev, ref.Ino = dev, ino
	}
	return ref
}

// Alive reports whether the process r names still runs: same PID, same start time,
// and not a zombie. The start time alone tells a reused PID apart (a new process
// would have to get the same PID within one clock tick). The executable is not
// compared: a daemon may exec another program under the same PID (a wrapper script
// ending in exec, nginx's binary upgrade), and that is still the daemon.
func (r Ref) Alive() bool {
	if r.PID <= 0 {
		return false
	}
	st, err := ReadStat(r.PID)
	return err == nil && !st.Dead() && st.Start == r.Start
}

// SameExe reports whether r runs the executable at path (start-stop-daemon's
// --exec test).
func (r Ref) SameExe(path string) bool {
	var st unix.Stat_t
	return path != "" && r.Ino != 0 && unix.Stat(path, &st) == nil && st.Dev == r.Dev && st.Ino == r.Ino
}

// Handle is a pidfd on a process that need not be our child: signals go through
// it, so they can never reach a process that reused the PID, and waits use it with
// deadlines (it is registered with Go's poller), never sleeps.
type Handle struct {
	Ref Ref
	f   *os.File
}

// ErrGone says the process is gone.
var ErrGone = errors.New("process is gone")

// Open takes a pidfd on r and checks its identity again afterwards, which closes
// the window in which the PID could have been reused between a check and the open.
func (r Ref) Open() (*Handle, error) {
	if r.PID <= 0 {
		return nil, ErrGone
	}
	h, err := openPidfd(r.PID)
	if err != nil {
		return nil, err
	}
	h.Ref = r
	if !r.Alive() {
		h.Close()
		return nil, ErrGone
	}
	return h, nil
}

// OpenChild takes a pidfd on our own unreaped child: its PID cannot have been
// reused, so no identity check is needed (it may be a zombie already).
func OpenChild(pid int) (*Handle, error) { return openPidfd(pid) }

func openPidfd(pid int) (*Handle, error) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, ErrGone
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	// os.NewFile registers a nonblocking fd with the runtime poller, so Wait can
	// use deadlines instead of sleeping.
	return &Handle{Ref: Ref{PID: pid}, f: os.NewFile(uintptr(fd), "pidfd")}, nil
}

// Signal sends sig to the process only.
func (h *Handle) Signal(sig syscall.Signal) error {
	rc, err := h.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.PidfdSendSignal(int(fd), sig, nil, 0)
	}); err != nil {
		return err
	}
	if errors.Is(serr, unix.ESRCH) {
		return ErrGone
	}
	return serr
}

// Wait waits until the process has exited (a zombie has exited) or the deadline
// passes (the zero time: no deadline); it reports whether the process exited.
func (h *Handle) Wait(deadline time.Time) (bool, error) {
	if err := h.f.SetReadDeadline(deadline); err != nil {
		return false, err
	}
	return h.wait()
}

// WaitContext is Wait until ctx ends (its deadline, or its cancellation).
func (h *Handle) WaitContext(ctx context.Context) bool {
	deadline, _ := ctx.Deadline()
	if h.f.SetReadDeadline(deadline) != nil {
		return false
	}
	// Set after the deadline: a cancellation always ends the wait below.
	stop := context.AfterFunc(ctx, func() { h.f.SetReadDeadline(time.Now()) })
	defer stop()
	exited, _ := h.wait()
	return exited
}

func (h *Handle) wait() (bool, error) {
	rc, err := h.f.SyscallConn()
	if err != nil {
		return false, err
	}
	err = rc.Read(func(fd uintptr) bool {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, _ := unix.Poll(pfd, 0)
		return n > 0
	})
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false, nil
	}
	return err == nil, err
}

// Close releases the pidfd.
func (h *Handle) Close() { h.f.Close() }

// TCPListener is the PID of a process that holds a listening TCP socket on port
// (IPv4 or IPv6), or 0 when /proc does not show one.
func TCPListener(port int) int {
	inodes := map[string]bool{}
	want := fmt.Sprintf(":%04X", port)
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) > 9 && strings.HasSuffix(fs[1], want) && fs[3] == "0A" {
				inodes["socket:["+fs[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0
	}
	found := 0
	Each(func(pid int) bool {
		dir := "/proc/" + strconv.Itoa(pid) + "/fd"
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if t, err := os.Readlink(dir + "/" + e.Name()); err == nil && inodes[t] {
				found = pid
				return false
			}
		}
		return true
	})
	return found
}
