package integration_test

// LOG=console: a service's output goes to PID 1's standard output (here
// SVCWRAP_CONSOLE, or init's own in a PID namespace), each whole line after
// "NAME: "; a console that takes nothing never blocks the daemon, and the lines
// it lost are counted before the next one it takes.

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestInitConsoleLog(t *testing.T) {
	e := newEnv(t)
	e.ScriptHdr("talk", "", nil, e.Daemon("-lines", "3", "-stderr", "an-error-line")+"\nLOG=console\n")
	e.rcLink("2", "S01", "talk")
	ns := startInit(t, e)
	ns.waitLine(t, "boot: runlevel 2:", 60*time.Second)
	for _, want := range []string{"talk: line 1\n", "talk: line 3\n", "talk: an-error-line\n"} {
		eventually(t, 10*time.Second, "a line "+want, func() (bool, string) { return strings.Contains(ns.output(), want), ns.output() })
	}
	syscall.Kill(ns.pid, syscall.SIGTERM)
	if code := ns.exit(t, 20*time.Second); code != 0 {
		t.Errorf("init exited %d:\n%s", code, ns.output())
	}
	// The watchdog's events go there too.
	if !regexp.MustCompile(`(?m)^talk: svcwrap: `).MatchString(ns.output()) {
		t.Errorf("no event of the watchdog on the console:\n%s", ns.output())
	}
}

func TestInitConsoleNeverBlocks(t *testing.T) {
	e := newEnv(t)
	fifo := filepath.Join(e.Root, "console")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// The console's reader exists, and reads nothing for now.
	rfd, err := unix.Open(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := os.NewFile(uintptr(rfd), "console")
	defer r.Close()
	sock, ev := e.Reporter(t)
	// 4000 lines of 100 bytes: six times what a pipe holds.
	e.ScriptHdr("flood", "", nil, e.Daemon("-report", sock, "-write-lines", "4000", "-line-size", "100")+"\nLOG=console\n")
	env := e.CLIEnv("SVCWRAP_CONSOLE=" + fifo)
	wantCode(t, e.ExecWith(ExecOpts{Env: env}, e.InitScript("flood"), "start"), 0)
	ev.WaitFor(t, 20*time.Second, func(x Event) bool { return x.Ev == "written" }) // the daemon never blocked

	read := func() string {
		var b strings.Builder
		buf := make([]byte, 1<<16)
		for {
			n, err := unix.Read(rfd, buf)
			if n <= 0 || err != nil {
				return b.String()
			}
			b.Write(buf[:n])
		}
	}
	first := read()
	lines := strings.Split(strings.TrimSuffix(first, "\n"), "\n")
	if len(lines) < 100 || len(lines) >= 4000 {
		t.Fatalf("the console took %d lines; want some, not all", len(lines))
	}
	for _, l := range lines {
		if !regexp.MustCompile(`^flood: (\d{9} x*|svcwrap: .*)$`).MatchString(l) {
			t.Fatalf("not a whole prefixed line: %q", l)
		}
	}
	// The next line that gets through (the stop's event) comes after the count.
	wantCode(t, e.ExecWith(ExecOpts{Env: env}, e.InitScript("flood"), "stop"), 0)
	var after string
	eventually(t, 10*time.Second, "the count of dropped lines", func() (bool, string) {
		after += read()
		return strings.Contains(after, " lines dropped"), after
	})
	m := regexp.MustCompile(`(?m)^flood: \(svcwrap: (\d+) lines dropped: the console did not take them\)$`).FindStringSubmatch(after)
	if m == nil {
		t.Fatalf("no count line:\n%s", after)
	}
	if n := atoi(m[1]); n+len(lines) < 4000 {
		t.Errorf("%d lines taken + %s counted dropped < 4000 written", len(lines), m[1])
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
