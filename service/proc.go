package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ProcRef identifies one process beyond its PID, which the kernel reuses: the start
// time (field 22 of /proc/PID/stat, in clock ticks since boot), as runc does. The
// device and inode of its executable are kept for information.
type ProcRef struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	Dev   uint64 `json:"dev,omitempty"`
	Ino   uint64 `json:"ino,omitempty"`
}

// procStat is the part of /proc/PID/stat svcwrap uses.
type procStat struct {
	State   byte
	PPID    int
	PGID    int
	Session int
	Start   uint64
}

// readStat parses /proc/PID/stat. comm may contain spaces and parentheses, so the
// fields are counted from the last ')'. It is read with bare syscalls into a buffer
// on the stack: `list` reads two of these per service, and os.ReadFile costs an
// fstat, a second read and a heap buffer each time.
func readStat(pid int) (procStat, error) {
	var st procStat
	if pid <= 0 {
		return st, os.ErrNotExist
	}
	var buf [2048]byte // the whole line is at most ~1100 bytes (52 fields, comm of 16)
	b, err := readProcFile("/proc/"+strconv.Itoa(pid)+"/stat", buf[:])
	if err != nil {
		return st, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return st, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	// Fields 3 (state) to 22 (starttime), separated by single spaces.
	var f [20][]byte
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
	st.Start, err = strconv.ParseUint(string(f[19]), 10, 64)
	return st, err
}

// atoiBytes is strconv.Atoi on a byte slice without the string allocation; it is
// 0 for anything but a (possibly negative) decimal number, as Atoi's error was
// ignored here.
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

// readProcFile reads a small one-line /proc file into buf with open, read and
// close only. A file that does not fit is an error.
func readProcFile(path string, buf []byte) ([]byte, error) {
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

// dead reports a state in which a process will never run again. On a host whose PID 1
// does not reap orphans, a dead daemon stays a zombie forever and kill(pid, 0) still
// succeeds, so svcwrap never trusts kill(pid, 0) alone.
func (s procStat) dead() bool { return s.State == 'Z' || s.State == 'X' || s.State == 'x' }

// exeID returns the device and inode of /proc/PID/exe (works for a deleted
// executable too: the link still names the running inode).
func exeID(pid int) (dev, ino uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/exe", &st); err != nil {
		return 0, 0, err
	}
	return st.Dev, st.Ino, nil
}

// Identify takes the identity of a live process.
func Identify(pid int) (ProcRef, error) {
	st, err := readStat(pid)
	if err != nil {
		return ProcRef{}, err
	}
	if st.dead() {
		return ProcRef{}, os.ErrNotExist
	}
	ref := ProcRef{PID: pid, Start: st.Start}
	if dev, ino, err := exeID(pid); err == nil {
		ref.Dev, ref.Ino = dev, ino
	}
	return ref, nil
}

// Alive reports whether the process r names still runs: same PID, same start time,
// and not a zombie. The start time alone tells a reused PID apart (a new process
// would have to get the same PID within one clock tick). The executable is not
// compared: a daemon may exec another program under the same PID (a wrapper script
// ending in exec, nginx's binary upgrade), and that is still the daemon.
func (r ProcRef) Alive() bool {
	if r.PID <= 0 {
		return false
	}
	st, err := readStat(r.PID)
	return err == nil && !st.dead() && st.Start == r.Start
}

// Proc is a pidfd-backed handle on a process that need not be our child: signals go
// through the pidfd, so they can never reach a process that reused the PID.
type Proc struct {
	Ref ProcRef
	f   *os.File
}

var errGone = errors.New("process is gone")

// Open takes a pidfd on r and checks its identity again afterwards, which closes the
// window in which the PID could have been reused between the check and the open.
func (r ProcRef) Open() (*Proc, error) {
	if r.PID <= 0 {
		return nil, errGone
	}
	fd, err := unix.PidfdOpen(r.PID, unix.PIDFD_NONBLOCK)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return nil, errGone
		}
		return nil, fmt.Errorf("pidfd_open %d: %w", r.PID, err)
	}
	// os.NewFile registers a nonblocking fd with the runtime poller, so Wait can use
	// deadlines instead of sleeping.
	p := &Proc{Ref: r, f: os.NewFile(uintptr(fd), "pidfd")}
	if !r.Alive() {
		p.Close()
		return nil, errGone
	}
	return p, nil
}

// Signal sends sig to the process only.
func (p *Proc) Signal(sig syscall.Signal) error {
	rc, err := p.f.SyscallConn()
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
		return errGone
	}
	return serr
}

// Wait waits until the process has exited (a zombie has exited) or the deadline
// passes; it reports whether the process exited.
func (p *Proc) Wait(deadline time.Time) (bool, error) {
	if err := p.f.SetReadDeadline(deadline); err != nil {
		return false, err
	}
	rc, err := p.f.SyscallConn()
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
func (p *Proc) Close() { p.f.Close() }

// groupAlive reports whether any live (non-zombie) process is left in process group
// pgid. The kernel gives no event when a group becomes empty, so callers poll this
// with a bound; kill(-pgid, 0) answers the common case without a /proc scan.
func groupAlive(pgid int) bool {
	if pgid <= 1 {
		return false
	}
	if err := unix.Kill(-pgid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	// Members exist, but zombies count as dead.
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(pid); err == nil && st.PGID == pgid && !st.dead() {
			return true
		}
	}
	return false
}
