// Package notify receives the readiness a daemon announces itself: sd_notify(3)
// datagrams on NOTIFY_SOCKET (READY=notify) and s6's notification fd (READY=fd:N).
// It parses and authenticates nothing beyond the kernel's word on who sent a
// datagram (SO_PASSCRED); whose word counts is the watchdog's business.
package notify

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Msg is one notification, parsed. Fields that were not sent are zero.
type Msg struct {
	Ready     bool   // READY=1
	Reloading bool   // RELOADING=1
	Stopping  bool   // STOPPING=1
	Status    string // STATUS=...
	HasStatus bool
	MainPID   int           // MAINPID=N
	Extend    time.Duration // EXTEND_TIMEOUT_USEC=N
	Errno     int           // ERRNO=N
	HasErrno  bool
	Watchdog  bool // WATCHDOG=1
	Trigger   bool // WATCHDOG=trigger
	// FdClosed: the notification fd reached EOF before a newline (READY=fd:N):
	// the daemon will never say it is ready.
	FdClosed bool
}

// MaxDatagram is the longest notification read; a longer one is dropped whole.
const MaxDatagram = 4096

// Parse reads a datagram: newline-separated KEY=VALUE lines, each compared whole
// (X_READY=1 is not READY=1, READY=10 is not READY=1). Unknown keys are ignored,
// as sd_notify(3) says; a known key with a bad value is an error, and the
// datagram counts for nothing.
func Parse(b []byte) (Msg, error) {
	var m Msg
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		k, v, ok := bytes.Cut(line, []byte{'='})
		if !ok {
			return Msg{}, fmt.Errorf("a line without =: %.40q", line)
		}
		val := string(v)
		switch string(k) {
		case "READY":
			if val != "1" {
				return Msg{}, fmt.Errorf("READY=%.20q", val)
			}
			m.Ready = true
		case "RELOADING":
			m.Reloading = val == "1"
		case "STOPPING":
			m.Stopping = val == "1"
		case "STATUS":
			m.Status, m.HasStatus = val, true
		case "MAINPID":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 1 {
				return Msg{}, fmt.Errorf("MAINPID=%.20q", val)
			}
			m.MainPID = n
		case "EXTEND_TIMEOUT_USEC":
			n, err := strconv.ParseUint(val, 10, 63)
			if err != nil || n > uint64(24*time.Hour/time.Microsecond) {
				return Msg{}, fmt.Errorf("EXTEND_TIMEOUT_USEC=%.20q", val)
			}
			m.Extend = time.Duration(n) * time.Microsecond
		case "ERRNO":
			n, err := strconv.Atoi(val)
			if err != nil || n < 0 {
				return Msg{}, fmt.Errorf("ERRNO=%.20q", val)
			}
			m.Errno, m.HasErrno = n, true
		case "WATCHDOG":
			switch val {
			case "1":
				m.Watchdog = true
			case "trigger":
				m.Trigger = true
			default:
				return Msg{}, fmt.Errorf("WATCHDOG=%.20q", val)
			}
		}
	}
	return m, nil
}

// Datagram is what a Listener received: the sender's PID as the kernel gives it,
// and the message, or Err when it counts for nothing (truncated, no credentials,
// a bad value).
type Datagram struct {
	PID int
	Msg Msg
	Err error
}

// Listener is a NOTIFY_SOCKET: a datagram socket that receives the sender's
// credentials with every message.
type Listener struct {
	fd     int
	Path   string
	closed atomic.Bool
}

// Listen binds a datagram socket at path (any old socket there is removed first)
// that anyone may send to: the kernel's credentials say who did. A path must be
// shorter than 108 bytes.
func Listen(path string) (*Listener, error) {
	if len(path) >= 108 {
		return nil, fmt.Errorf("NOTIFY_SOCKET %s is %d bytes long, and a socket path must be shorter than 108: use a shorter RUNDIR", path, len(path))
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("NOTIFY_SOCKET %s: %w", path, err)
	}
	// The daemon may run as another user; who sent what is the kernel's word.
	if err := os.Chmod(path, 0o666); err != nil {
		unix.Close(fd)
		os.Remove(path)
		return nil, err
	}
	return &Listener{fd: fd, Path: path}, nil
}

// ErrClosed is Read's error once the listener is closed.
var ErrClosed = errors.New("notify socket closed")

// Read waits for the next datagram. File descriptors passed with it are closed
// at once; a truncated datagram or one without credentials is returned with Err.
func (l *Listener) Read() (Datagram, error) {
	buf := make([]byte, MaxDatagram)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4*16))
	for {
		n, oobn, flags, _, err := unix.Recvmsg(l.fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if l.closed.Load() {
			return Datagram{}, ErrClosed
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return Datagram{}, err
		}
		var d Datagram
		var cred *unix.Ucred
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, cm := range msgs {
				if fds, err := unix.ParseUnixRights(&cm); err == nil {
					for _, fd := range fds {
						unix.Close(fd) // svcwrap keeps no fd a daemon sends (FDSTORE)
					}
					continue
				}
				if c, err := unix.ParseUnixCredentials(&cm); err == nil {
					cred = c
				}
			}
		}
		switch {
		case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0:
			d.Err = fmt.Errorf("a notification longer than %d bytes, dropped", MaxDatagram)
		case cred == nil:
			d.Err = errors.New("a notification without credentials, dropped")
		default:
			d.Msg, d.Err = Parse(buf[:n])
		}
		if cred != nil {
			d.PID = int(cred.Pid)
		}
		return d, nil
	}
}

// Close removes the socket's path and ends a Read in progress (ErrClosed). The
// descriptor itself stays open, so that a Read still in its system call never
// reads a reused one; it is closed with the watchdog.
func (l *Listener) Close() {
	l.closed.Store(true)
	unix.Shutdown(l.fd, unix.SHUT_RDWR)
	os.Remove(l.Path)
}

// ReadFd reads a notification fd (s6): a newline means ready; EOF first means
// the daemon will never be. It returns once either happens, and closes r.
func ReadFd(r *os.File) Msg {
	defer r.Close()
	buf := make([]byte, 512)
	for {
		n, err := r.Read(buf)
		if bytes.IndexByte(buf[:n], '\n') >= 0 {
			return Msg{Ready: true}
		}
		if err != nil {
			return Msg{FdClosed: true}
		}
	}
}
