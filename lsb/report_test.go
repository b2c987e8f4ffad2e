package lsb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func newTestReporter(color bool) (*Reporter, *bytes.Buffer, *bytes.Buffer) {
	var out, errw bytes.Buffer
	return &Reporter{Out: &out, Err: &errw, Color: color}, &out, &errw
}

func TestReporterBeginEnd(t *testing.T) {
	tests := []struct {
		what, desc, name string
		begin            string // written by Begin
		ok, color        bool
		end              string // written by End
	}{
		{"Starting", "My app server", "myapp", "Starting My app server: myapp", true, false, ".\n"},
		{"Stopping", "My app server", "myapp", "Stopping My app server: myapp", true, true, ".\n"},
		{"Reloading", "My app server", "myapp", "Reloading My app server: myapp", false, false, " failed!\n"},
		{"Restarting", "My app server", "myapp", "Restarting My app server: myapp", false, true, " \x1b[31mfailed!\x1b[0m\n"},
		{"Starting", "", "myapp", "Starting myapp", true, false, ".\n"},
		{"Starting", "myapp", "myapp", "Starting myapp", true, false, ".\n"},
		{"Starting", "My app server", "", "Starting My app server", true, false, ".\n"},
		{"", "My app server", "myapp", "My app server: myapp", true, false, ".\n"},
		{"Starting", "", "", "Starting", false, false, " failed!\n"},
	}
	for _, tt := range tests {
		r, out, errw := newTestReporter(tt.color)
		r.Begin(tt.what, tt.desc, tt.name)
		if got := out.String(); got != tt.begin {
			t.Errorf("Begin(%q, %q, %q) wrote %q, want %q", tt.what, tt.desc, tt.name, got, tt.begin)
		}
		r.End(tt.ok)
		if got, want := out.String(), tt.begin+tt.end; got != want || errw.Len() != 0 {
			t.Errorf("Begin(%q, %q, %q); End(%v) with Color %v: Out %q, Err %q; want Out %q",
				tt.what, tt.desc, tt.name, tt.ok, tt.color, got, errw.String(), want)
		}
	}
}

func TestReporterMessages(t *testing.T) {
	named := Wrap(Errorf(NotInstalled, "/usr/bin/myapp: not found"), "myapp", "start")
	tests := []struct {
		name     string
		color    bool
		run      func(r *Reporter)
		out, err string
	}{
		{"success", false, func(r *Reporter) { r.Success("%s is running (pid %d)", "myapp", 42) },
			"myapp is running (pid 42)\n", ""},
		{"success keeps one newline", false, func(r *Reporter) { r.Success("done\n") }, "done\n", ""},
		{"warning", true, func(r *Reporter) { r.Warning("myapp: stale pidfile %s removed", "/run/myapp.pid") },
			"", "svcwrap: myapp: stale pidfile /run/myapp.pid removed\n"},
		{"failure adds service", false, func(r *Reporter) { r.Failure("myapp", errBoom) },
			"", "svcwrap: myapp: boom\n"},
		{"failure of a named error", true, func(r *Reporter) { r.Failure("myapp", named) },
			"", "svcwrap: myapp: start: /usr/bin/myapp: not found\n"},
		{"failure without service", false, func(r *Reporter) { r.Failure("", errBoom) },
			"", "svcwrap: boom\n"},
		{"failure of nil", false, func(r *Reporter) { r.Failure("myapp", nil) }, "", ""},
		{"end without begin", false, func(r *Reporter) { r.End(true); r.End(false) }, "", ""},
		{"failure between begin and end", false, func(r *Reporter) {
			r.Begin("Starting", "My app server", "myapp")
			r.Failure("myapp", Wrap(errBoom, "myapp", "start"))
			r.End(false)
		}, "Starting My app server: myapp failed!\n", "svcwrap: myapp: start: boom\n"},
		{"failure between, coloured", true, func(r *Reporter) {
			r.Begin("Starting", "My app server", "myapp")
			r.Failure("myapp", errBoom)
			r.End(false)
		}, "Starting My app server: myapp \x1b[31mfailed!\x1b[0m\n", "svcwrap: myapp: boom\n"},
		{"warning and success held until end", false, func(r *Reporter) {
			r.Begin("Stopping", "My app server", "myapp")
			r.Warning("myapp: did not stop on TERM, sent KILL")
			r.Success("myapp stopped")
			r.End(true)
		}, "Stopping My app server: myapp.\nmyapp stopped\n", "svcwrap: myapp: did not stop on TERM, sent KILL\n"},
		{"begin closes an open line", false, func(r *Reporter) {
			r.Begin("Stopping", "My app server", "myapp")
			r.Warning("w")
			r.Begin("Starting", "My app server", "myapp")
			r.End(true)
		}, "Stopping My app server: myapp\nStarting My app server: myapp.\n", "svcwrap: w\n"},
	}
	for _, tt := range tests {
		r, out, errw := newTestReporter(tt.color)
		tt.run(r)
		if out.String() != tt.out || errw.String() != tt.err {
			t.Errorf("%s: Out %q, Err %q; want Out %q, Err %q", tt.name, out.String(), errw.String(), tt.out, tt.err)
		}
	}
}

// TestReporterSharedStream shows what a terminal that is both stdout and
// stderr displays: the outcome of the action, then its reason.
func TestReporterSharedStream(t *testing.T) {
	var tty bytes.Buffer
	r := &Reporter{Out: &tty, Err: &tty}
	r.Begin("Restarting", "My app server", "myapp")
	r.Warning("myapp: was not running")
	r.Failure("myapp", Errorf(NotInstalled, "/usr/bin/myapp: not found"))
	r.End(false)
	r.Begin("Stopping", "", "other")
	r.Success("other was not running")
	r.End(true)
	want := "Restarting My app server: myapp failed!\n" +
		"svcwrap: myapp: was not running\n" +
		"svcwrap: myapp: /usr/bin/myapp: not found\n" +
		"Stopping other.\n" +
		"other was not running\n"
	if got := tty.String(); got != want {
		t.Errorf("shared stream:\n%q\nwant\n%q", got, want)
	}
}

type brokenWriter struct{ calls int }

func (w *brokenWriter) Write(p []byte) (int, error) {
	w.calls++
	return 0, errors.New("broken pipe")
}

func TestReporterIgnoresWriteErrors(t *testing.T) {
	bw := &brokenWriter{}
	var errw bytes.Buffer
	r := &Reporter{Out: bw, Err: &errw}
	r.Begin("Starting", "d", "n")
	r.Failure("n", errBoom)
	r.End(false)
	r.Success("ok")
	if bw.calls != 3 || errw.String() != "svcwrap: n: boom\n" {
		t.Errorf("calls %d, Err %q", bw.calls, errw.String())
	}
	// Nil writers discard.
	r = &Reporter{}
	r.Begin("Starting", "d", "n")
	r.Warning("w")
	r.End(true)
	r.Success("s")
	r.Failure("n", errBoom)
}

func TestReporterConcurrent(t *testing.T) {
	var out, errw bytes.Buffer
	r := &Reporter{Out: &out, Err: &errw}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			r.Begin("Starting", "d", fmt.Sprint(i))
			r.Warning("w%d", i)
			r.End(i%2 == 0)
		})
	}
	wg.Wait()
	if n := strings.Count(errw.String(), "\n"); n != 8 {
		t.Errorf("%d warnings, want 8", n)
	}
}

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skipf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skipf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open pts: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func TestNewReporterColor(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	_, tty := openPTY(t)

	tests := []struct {
		name          string
		out           *os.File
		term, noColor string
		want          bool
	}{
		{"terminal", tty, "xterm-256color", "", true},
		{"terminal, TERM=dumb", tty, "dumb", "", false},
		{"terminal, no TERM", tty, "", "", false},
		{"terminal, NO_COLOR", tty, "xterm", "1", false},
		{"pipe", pw, "xterm", "", false},
		{"nil", nil, "xterm", "", false},
	}
	for _, tt := range tests {
		r := newReporter(tt.out, pw, tt.term, tt.noColor)
		if r.Color != tt.want {
			t.Errorf("%s: Color = %v, want %v", tt.name, r.Color, tt.want)
		}
		if tt.out == nil && r.Out != nil {
			t.Errorf("%s: Out = %#v, want nil", tt.name, r.Out)
		}
	}

	t.Setenv("TERM", "xterm")
	t.Setenv("NO_COLOR", "")
	if r := NewReporter(tty, pw); !r.Color || r.Out != tty || r.Err != pw {
		t.Errorf("NewReporter(tty, pipe) = %+v", r)
	}
	if r := NewReporter(pw, tty); r.Color {
		t.Error("NewReporter(pipe, tty) has Color")
	}
	if r := NewReporter(nil, nil); r.Out != nil || r.Err != nil || r.Color {
		t.Errorf("NewReporter(nil, nil) = %+v", r)
	}
}

// TestReporterClosedStdout runs this test binary as a child whose stdout
// is a pipe nobody reads: writing must not kill it.
func TestReporterClosedStdout(t *testing.T) {
	if os.Getenv("LSB_TEST_CLOSED_STDOUT") == "1" {
		r := NewReporter(os.Stdout, os.Stderr)
		r.Begin("Starting", "My app server", "myapp")
		r.End(true)
		r.Success("line")
		r.Failure("myapp", errBoom)
		os.Exit(0)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	pr.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReporterClosedStdout$")
	cmd.Env = append(os.Environ(), "LSB_TEST_CLOSED_STDOUT=1")
	cmd.Stdout = pw
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	pw.Close()
	if err != nil {
		t.Fatalf("child with a closed stdout: %v; stderr %q", err, stderr.String())
	}
	if got, want := stderr.String(), "svcwrap: myapp: boom\n"; got != want {
		t.Errorf("child stderr %q, want %q", got, want)
	}
}

func TestReporterNote(t *testing.T) {
	var out strings.Builder
	r := &Reporter{Out: &out}
	r.Begin("Starting", "My app", "myapp")
	r.Note("already running, pid 42")
	r.End(true)
	r.Note("alone")
	if want := "Starting My app: myapp (already running, pid 42).\nalone\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}
