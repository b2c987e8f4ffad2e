package integration_test

// Distro integration: what Debian's own tools see of a svcwrap service.
// Inherited file descriptors (debconf's fd 3), `svcwrap new`, the systemd
// redirect, `svcwrap unit` and systemd-sysv-generator. The tests that drive
// service, invoke-rc.d, update-rc.d and insserv against the real /etc are in
// distro_ns_test.go; they run in private mount namespaces.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pipeName is how /proc/PID/fd shows the pipe behind f.
func pipeName(t *testing.T, f *os.File) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("pipe:[%d]", st.Ino)
}

// holdsNone fails when pid has any of the named files open.
func holdsNone(t *testing.T, who string, pid int, names ...string) {
	t.Helper()
	fds, err := procFds(pid)
	if err != nil {
		t.Errorf("%s %d: %v", who, pid, err)
		return
	}
	for fd, target := range fds {
		for _, n := range names {
			if target == n {
				t.Errorf("%s %d holds %s as fd %d (fds: %s): a maintainer script running it would hang", who, pid, n, fd, fdList(fds))
			}
		}
	}
}

// inheritedPipes returns ExtraFiles that put the write ends of two fresh pipes
// on fds 3 and 9 of the child (4 to 8 closed), and their read ends.
func inheritedPipes(t *testing.T) (extra []*os.File, readers []*os.File, names []string) {
	t.Helper()
	var writers []*os.File
	for i := 0; i < 2; i++ {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		readers, writers = append(readers, r), append(writers, w)
		names = append(names, pipeName(t, w))
	}
	extra = []*os.File{writers[0], nil, nil, nil, nil, nil, writers[1]}
	return extra, readers, names
}

// expectEOF reads each pipe until EOF with a deadline: only EOF proves that no
// process holds the write end any more.
func expectEOF(t *testing.T, what string, readers []*os.File) {
	t.Helper()
	for i, r := range readers {
		r.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := io.Copy(io.Discard, r)
		if err != nil {
			t.Errorf("%s: inherited fd %d (a pipe) still open in a descendant after the CLI exited (read %d bytes, %v): dpkg and Ansible would hang", what, []int{3, 9}[i], n, err)
		}
	}
}

// TestInheritedFdsClosed is debconf's fd 3 (and any other inherited fd):
// start, restart and a custom verb run with pipes on fds 3 and 9; the pipes
// reach EOF as soon as the CLI has exited, and neither the watchdog nor the
// daemon holds them.
func TestInheritedFdsClosed(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon()+"\nCOMMAND_hello=\"/bin/echo hello\"")
		for _, verb := range []string{"start", "restart", "hello", "status"} {
			extra, readers, names := inheritedPipes(t)
			r := e.ExecWith(ExecOpts{ExtraFiles: extra}, e.InitScript(svc), verb)
			for _, f := range extra {
				if f != nil {
					f.Close()
				}
			}
			wantCode(t, r, 0)
			expectEOF(t, verb, readers)
			pid, wd := supervised(t, e, svc)
			holdsNone(t, "daemon", pid, names...)
			holdsNone(t, "watchdog", wd, names...)
			for _, fd := range []int{3, 9} {
				for _, p := range []int{pid, wd} {
					if fds, _ := procFds(p); strings.HasPrefix(fds[fd], "pipe:") {
						t.Errorf("after %s: pid %d has a pipe on fd %d (%s)", verb, p, fd, fds[fd])
					}
				}
			}
		}
		wantCode(t, e.Run(svc, "stop"), 0)
	})
}

// writeExe writes an executable file (a fake program for a test).
func writeExe(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
}
