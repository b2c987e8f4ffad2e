package commands

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"svcwrap/lsb"
)

// A CLI whose stdout is a pipe nobody reads, or whose terminal hangs up, must
// finish its verb and exit with its own code: `status` ignores SIGPIPE and SIGHUP,
// every other verb catches them (prepare). The child writes to its closed stdout
// and sends itself SIGHUP (to its own thread, so that a default action would kill
// it before tgkill returns), then exits 3.
func TestPrepareSurvivesClosedStdoutAndHangup(t *testing.T) {
	if verb := os.Getenv("SVCWRAP_TEST_PREPARE"); verb != "" {
		args := []string{verb}
		prepare(args)
		rep := newReporter(args)
		fmt.Fprintln(os.Stdout, "svc: running")
		rep.Failure("svc", errors.New("boom"))
		runtime.LockOSThread()
		if err := unix.Tgkill(unix.Getpid(), unix.Gettid(), unix.SIGHUP); err != nil {
			fmt.Fprintln(os.Stderr, "tgkill:", err)
		}
		fmt.Fprintln(os.Stdout, "svc: still running")
		os.Exit(3)
	}
	for _, verb := range []string{"status", "stop"} {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		pr.Close()
		cmd := exec.Command(os.Args[0], "-test.run=^TestPrepareSurvivesClosedStdoutAndHangup$")
		cmd.Env = append(os.Environ(), "SVCWRAP_TEST_PREPARE="+verb)
		cmd.Stdout = pw
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err = cmd.Run()
		pw.Close()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("%s: child with a closed stdout and a hangup: %v (want exit status 3); stderr %q", verb, err, stderr.String())
			continue
		}
		if got, want := stderr.String(), "svcwrap: svc: boom\n"; got != want {
			t.Errorf("%s: stderr %q, want %q", verb, got, want)
		}
	}
}

// status prints no Begin line, so its reporter needs no colour; every other verb
// gets lsb.NewReporter's.
func TestNewReporter(t *testing.T) {
	if r := newReporter([]string{"status"}); r.Color || r.Out != os.Stdout || r.Err != os.Stderr {
		t.Errorf("status reporter %+v", r)
	}
	for _, args := range [][]string{nil, {"stop"}, {"status", "x"}, {"statuss"}} {
		want := lsb.NewReporter(os.Stdout, os.Stderr)
		if r := newReporter(args); r.Color != want.Color || r.Out != want.Out {
			t.Errorf("%q: reporter %+v, want %+v", strings.Join(args, " "), r, want)
		}
	}
	if statusOnly([]string{"status", "--verbose"}) || !statusOnly([]string{"status"}) {
		t.Error("statusOnly")
	}
}
