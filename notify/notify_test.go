package notify

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]Msg{
		"READY=1":                         {Ready: true},
		"READY=1\nSTATUS=Ready to accept": {Ready: true, Status: "Ready to accept", HasStatus: true},
		"X_READY=1\nNOTREADY=1":           {},
		"RELOADING=1\nMONOTONIC_USEC=123": {Reloading: true},
		"STOPPING=1":                      {Stopping: true},
		"MAINPID=4242":                    {MainPID: 4242},
		"EXTEND_TIMEOUT_USEC=5000000":     {Extend: 5 * time.Second},
		"ERRNO=2":                         {Errno: 2, HasErrno: true},
		"WATCHDOG=1":                      {Watchdog: true},
		"WATCHDOG=trigger":                {Trigger: true},
		"\n\nREADY=1\n":                   {Ready: true},
		"FDSTORE=1\nFDNAME=x":             {},
	} {
		got, err := Parse([]byte(in))
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"READY=10", "READY=yes", "READY", "MAINPID=1", "MAINPID=x", "WATCHDOG=2", "ERRNO=-1", "EXTEND_TIMEOUT_USEC=-5", "READY=1\ngarbage"} {
		if m, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", bad, m)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"READY=1", "READY=1\nSTATUS=x", "MAINPID=12", "WATCHDOG=trigger", "X_READY=1", "\x00=\n=", "EXTEND_TIMEOUT_USEC=99999999999999999999"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			return
		}
		// READY counts only as a whole line READY=1.
		lines := strings.Split(string(b), "\n")
		ready := false
		for _, l := range lines {
			ready = ready || l == "READY=1"
		}
		if m.Ready != ready {
			t.Fatalf("Parse(%q).Ready = %v", b, m.Ready)
		}
		if m.MainPID < 0 || m.MainPID == 1 || m.Extend < 0 {
			t.Fatalf("Parse(%q) = %+v", b, m)
		}
	})
}

func send(t *testing.T, path string, msg []byte, oob []byte) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Sendmsg(fd, msg, oob, &unix.SockaddrUnix{Name: path}, 0); err != nil {
		t.Fatal(err)
	}
}

func TestListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.notify")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o666 {
		t.Fatalf("socket %v %v", fi, err)
	}
	read := func() Datagram {
		t.Helper()
		d, err := l.Read()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	send(t, path, []byte("READY=1\nSTATUS=up"), nil)
	if d := read(); d.Err != nil || d.PID != os.Getpid() || !d.Msg.Ready || d.Msg.Status != "up" {
		t.Errorf("datagram %+v", d)
	}
	// A passed fd is closed at once, and the message still counts.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	send(t, path, []byte("WATCHDOG=1"), unix.UnixRights(int(w.Fd())))
	w.Close()
	if d := read(); d.Err != nil || !d.Msg.Watchdog {
		t.Errorf("datagram with an fd %+v", d)
	}
	// The copy of w the listener received is closed: the pipe has no writer left.
	if n, err := r.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("the passed fd was kept open: read %d, %v", n, err)
	}
	// Too long: dropped whole.
	send(t, path, bytes.Repeat([]byte("A"), 64<<10), nil)
	if d := read(); d.Err == nil || d.Msg.Ready {
		t.Errorf("64 KiB datagram %+v", d)
	}
	l.Close()
	if _, err := l.Read(); err != ErrClosed {
		t.Errorf("Read after Close: %v", err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("Close left %s", path)
	}
	if _, err := Listen("/run/" + strings.Repeat("x", 110)); err == nil || !strings.Contains(err.Error(), "108") {
		t.Errorf("a path of 115 bytes: %v", err)
	}
}

func TestReadFd(t *testing.T) {
	r, w, _ := os.Pipe()
	go func(w *os.File) { w.Write([]byte("x")); w.Write([]byte("\n")); w.Close() }(w) // w is reassigned below
	if m := ReadFd(r); !m.Ready {
		t.Errorf("newline: %+v", m)
	}
	r2, w2, _ := os.Pipe() // not w: the goroutine above may still use it
	w2.Write([]byte("no newline"))
	w2.Close()
	if m := ReadFd(r2); m.Ready || !m.FdClosed {
		t.Errorf("EOF first: %+v", m)
	}
}
