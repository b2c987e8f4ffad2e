package protocol

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"svcwrap/proc"
)

// The readiness line, both ends: what the watchdog writes the CLI reads back.
func TestReportRoundTrip(t *testing.T) {
	cases := []struct {
		write func(*Reporter)
		want  Report
	}{
		{func(r *Reporter) { r.OK(4242) }, Report{OK: true, PID: 4242}},
		{func(r *Reporter) { r.Fail(5, 120, "/usr/bin/x: not installed") }, Report{Code: 5, LogOffset: 120, Msg: "/usr/bin/x: not installed"}},
		{func(r *Reporter) { r.Fail(1, 0, "two\nlines") }, Report{Code: 1, Msg: "two\nlines"}},
		{func(r *Reporter) { r.Fail(1, 0, `a\n is not a newline\`) }, Report{Code: 1, Msg: `a\n is not a newline\`}},
	}
	for _, c := range cases {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		rep := NewReporter(w)
		if !rep.Pending() {
			t.Fatal("a fresh reporter is not pending")
		}
		c.write(rep)
		if rep.Pending() {
			t.Error("still pending after a line")
		}
		rep.OK(1) // a second line is never written
		got, err := ReadReport(r, time.Now().Add(5*time.Second))
		r.Close()
		if err != nil || got != c.want {
			t.Errorf("read %+v, %v; want %+v", got, err, c.want)
		}
	}
}

func TestReadReportFailures(t *testing.T) {
	r, w, _ := os.Pipe()
	w.Close() // the watchdog died before a line
	if _, err := ReadReport(r, time.Now().Add(5*time.Second)); !errors.Is(err, ErrNoReport) {
		t.Errorf("EOF: %v, want ErrNoReport", err)
	}
	r.Close()
	r, w, _ = os.Pipe()
	defer w.Close()
	defer r.Close()
	if _, err := ReadReport(r, time.Now().Add(20*time.Millisecond)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("silence: %v, want a deadline error", err)
	}
	r2, w2, _ := os.Pipe()
	w2.WriteString("fail x\n")
	w2.Close()
	if _, err := ReadReport(r2, time.Now().Add(5*time.Second)); err == nil || !strings.Contains(err.Error(), "garbled") {
		t.Errorf("garbled line: %v", err)
	}
	r2.Close()
}

func TestIsWatchdogOf(t *testing.T) {
	line := strings.Join(Argv(ModeAdopt, "web", "/etc/init.d/web"), "\x00") + "\x00"
	if !IsWatchdogOf([]byte(line), "web", "/etc/init.d/web") {
		t.Errorf("%q is not recognised", line)
	}
	for _, other := range []string{
		strings.Join(Argv(ModeStart, "web2", "/etc/init.d/web"), "\x00"),
		strings.Join(Argv(ModeStart, "web", "/etc/init.d/web2"), "\x00"),
		"svcwrap\x00/etc/init.d/web\x00start\x00",
		"",
	} {
		if IsWatchdogOf([]byte(other), "web", "/etc/init.d/web") {
			t.Errorf("%q taken for web's watchdog", other)
		}
	}
}

func TestStateFile(t *testing.T) {
	f := Files{Dir: filepath.Join(t.TempDir(), "run")}
	if err := f.Ensure(); err != nil {
		t.Fatal(err)
	}
	if st, err := f.ReadState("svc"); st != nil || err != nil {
		t.Fatalf("missing state: %+v, %v", st, err)
	}
	in := &State{Name: "svc", Phase: PhaseRunning, Daemon: proc.Ref{PID: 42, Start: 7}, Respawns: 2, LastExit: "signal KILL"}
	if err := f.SaveState(in); err != nil {
		t.Fatal(err)
	}
	out, err := f.ReadState("svc")
	if err != nil || out.Phase != PhaseRunning || out.Daemon != in.Daemon || out.Respawns != 2 || out.LastExit != "signal KILL" || out.Spawn.PID != 0 {
		t.Fatalf("read back %+v, %v", out, err)
	}
	if b, _ := os.ReadFile(f.State("svc")); strings.Contains(string(b), `"spawn"`) {
		t.Errorf("an empty spawn is written: %s", b)
	}
	os.WriteFile(f.State("svc"), []byte("{"), 0o644)
	if _, err := f.ReadState("svc"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("corrupt state: %v", err)
	}
	f.RemoveState("svc")
	if st, err := f.ReadState("svc"); st != nil || err != nil {
		t.Errorf("removed state: %+v, %v", st, err)
	}
}

func TestWatchdogEnv(t *testing.T) {
	t.Setenv("SVCWRAP_RUNDIR", "/tmp/x")
	t.Setenv("SECRET", "no")
	env := strings.Join(WatchdogEnv(), "\n")
	for _, want := range []string{"PATH=/usr/local/sbin:", "SVCWRAP_RUNDIR=/tmp/x", "GOMAXPROCS=1"} {
		if !strings.Contains(env, want) {
			t.Errorf("watchdog env lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(env, "SECRET") {
		t.Errorf("the caller's environment leaks into the watchdog's:\n%s", env)
	}
}
