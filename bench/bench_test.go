package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuick runs `bench -quick` (what `make bench BENCH_QUICK=1` runs) against a
// freshly built svcwrap: the harness must work end to end, print the table with a
// figure for every svcwrap measurement, and leave no process behind (its subreaper
// fails the run otherwise). Peers that are not installed, or a non-root run, are
// skipped by the benchmark itself. It checks that the harness works, never speed.
func TestQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the quick benchmark takes about a minute and a half")
	}
	dir := t.TempDir()
	build := func(out, pkg string) {
		cmd := exec.Command("go", "build", "-o", out, pkg)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	svcwrap, bench := filepath.Join(dir, "svcwrap"), filepath.Join(dir, "bench")
	build(svcwrap, "./cmd/svcwrap")
	build(bench, "./bench")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out := filepath.Join(dir, "benchmarks.md")
	cmd := exec.CommandContext(ctx, bench, "-quick", "-svcwrap", svcwrap, "-out", out, "-cmd", "go test ./bench")
	cmd.Dir = ".."
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("bench -quick: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout)
	}
	file, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != string(stdout) {
		t.Errorf("-out file differs from the printed report")
	}
	report := string(stdout)
	for _, want := range []string{"# svcwrap benchmarks", "- Machine: ", "## Targets", "| measurement | unit | svcwrap |",
		"## Start to ready: ", "| measurement | unit | " + readyNotify + " | " + readyTCP + " |",
		"## Latency under load: ", "### Start to ready under load", "## Targets under load"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// Every measurement row has a figure for svcwrap (the floors: the reference).
	table, _, _ := strings.Cut(report, "## Targets")
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, " | ")
		if !strings.HasPrefix(line, "| ") || len(cells) < 4 || strings.HasPrefix(line, "| measurement") || strings.HasPrefix(line, "| Floor") {
			continue
		}
		rows++
		if strings.HasPrefix(cells[2], "–") {
			t.Errorf("no svcwrap figure in: %s", line)
		}
	}
	if rows < 15 {
		t.Errorf("only %d measurement rows:\n%s", rows, report)
	}
	// Every start-to-ready row, quiet and under load, has a figure for both svcwrap
	// variants and the floor, and for start-stop-daemon where it can run.
	_, ssdErr := exec.LookPath("start-stop-daemon")
	ssd := os.Geteuid() == 0 && ssdErr == nil
	if ssd {
		out, _ := exec.Command("start-stop-daemon", "--help").CombinedOutput()
		ssd = strings.Contains(string(out), "--notify-await")
	}
	readyRows := 0
	for _, line := range strings.Split(report, "\n") {
		if !strings.HasPrefix(line, "| `start`, ") && !strings.HasPrefix(line, "| … of which after the daemon was ready") {
			continue
		}
		readyRows++
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 2+len(readyCols) {
			t.Errorf("start-to-ready row with %d cells: %s", len(cells), line)
			continue
		}
		for k, col := range readyCols {
			if strings.HasPrefix(cells[2+k], "–") && (col != readySSD || ssd) {
				t.Errorf("no %s figure in: %s", col, line)
			}
		}
	}
	if want := 2 * len(readyDelays) * 2; readyRows != want {
		t.Errorf("%d start-to-ready rows, want %d:\n%s", readyRows, want, report)
	}
	if !strings.Contains(report, "| `start` with READY=notify not slower than with READY tcp") {
		t.Errorf("no notify-against-tcp target:\n%s", report)
	}
	// The escape and restart tables: svcwrap leaves no escapee, svcwrap LISTEN
	// refuses no connection, and every row has its figures.
	for _, sec := range []struct{ head, col string }{
		{fmt.Sprintf("## Stop of a daemon with %d escapees", escapeeCount), "svcwrap"},
		{"## Restart under load", restartListen},
	} {
		_, body, ok := strings.Cut(report, sec.head)
		if !ok {
			t.Errorf("report lacks %q:\n%s", sec.head, report)
			continue
		}
		body, _, _ = strings.Cut(body, "\n## ")
		n := 0
		for _, line := range strings.Split(body, "\n") {
			cells := strings.Split(strings.Trim(line, "| "), " | ")
			if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| measurement") || len(cells) < 3 {
				continue
			}
			n++
			if strings.HasPrefix(cells[2], "–") {
				t.Errorf("no %s figure in: %s", sec.col, line)
			}
		}
		if n == 0 {
			t.Errorf("no rows under %q:\n%s", sec.head, body)
		}
	}
	for _, want := range []string{"| no process left after `stop` of a daemon with 50 escapees (CGROUP=yes) | ≤ 0 processes | max 0 processes |  | meets |",
		"| no connection refused across `restart` with LISTEN | ≤ 0 connections | max 0 connections |  | meets |"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	if os.Geteuid() == 0 {
		for _, peer := range []string{"runsv", "supervisord", "start-stop-daemon"} {
			if _, err := exec.LookPath(peer); err == nil && !strings.Contains(report, "×") {
				t.Errorf("%s is installed and we are root, but the report has no ratio to a peer", peer)
			}
		}
	}
}

// The latency figures taken while the CPU hogs run go to their own rows, and the
// targets under load are judged against the floors measured under load.
func TestBusyRows(t *testing.T) {
	r := newResults()
	r.setSizes(sizes{})
	r.add("status", "svcwrap", 3)
	r.add("floor.exec", refFloor, 1)
	r.setBusy(true, 2, "2.00 1.00 0.50")
	r.add("status", "svcwrap", 9)
	r.add("floor.exec", refFloor, 6)
	r.add("mem.anon.1", "svcwrap", 1) // not a latency row: nowhere to go under load
	r.setBusy(false, 0, "")
	if v, _ := r.median("status", "svcwrap"); v != 3 {
		t.Errorf("quiet status %v", v)
	}
	if v, _ := r.median("status"+busySuffix, "svcwrap"); v != 9 {
		t.Errorf("busy status %v", v)
	}
	if _, ok := r.median("mem.anon.1", "svcwrap"); ok {
		t.Error("a figure of a non-latency row taken under load landed in the quiet row")
	}
	var quiet, busy strings.Builder
	r.targetTable(&quiet, "")
	r.targetTable(&busy, busySuffix)
	if !strings.Contains(quiet.String(), "| `status` | 2.00 × floor 1.00 = 2.00 ms | 3.00 ms | 3.00× | **misses** |") {
		t.Errorf("quiet targets:\n%s", quiet.String())
	}
	if !strings.Contains(busy.String(), "| `status` | 2.00 × floor 6.00 = 12.0 ms | 9.00 ms | 1.50× | meets |") {
		t.Errorf("targets under load:\n%s", busy.String())
	}
	if strings.Contains(busy.String(), "RssAnon") {
		t.Errorf("targets under load list a non-latency target:\n%s", busy.String())
	}
}

func TestDescribeFS(t *testing.T) {
	if got := describeFS("/proc/self"); !strings.Contains(got, "/proc/self (proc on /proc") {
		t.Errorf("describeFS(/proc/self) = %q", got)
	}
}

// The start-to-ready rows have a table of their own (not the main one), with a
// ratio to READY=notify, and the notify-against-tcp target compares two svcwrap
// figures of the same run.
func TestReadyRows(t *testing.T) {
	r := newResults()
	r.setSizes(sizes{})
	r.add("status", "svcwrap", 3)
	r.add("ready.slow.after", readyNotify, 22)
	r.add("ready.slow.after", readyTCP, 24)
	r.add("ready.slow.after", readyTCP, 20)
	r.add("ready.slow.after", refFloor, 21)
	r.setBusy(true, 2, "")
	r.add("ready.slow.after", readyNotify, 50)
	r.add("ready.slow.after", readyTCP, 40)
	r.setBusy(false, 0, "")
	var main, ready, busy strings.Builder
	r.table(&main, []string{"svcwrap", "reference"}, false)
	if strings.Contains(main.String(), "READY=1") || strings.Contains(main.String(), "benchd listens") {
		t.Errorf("start-to-ready rows in the main table:\n%s", main.String())
	}
	r.readyTable(&ready, false)
	if !strings.Contains(ready.String(), "| ms | 22.0 | 22.0 [20.0–24.0] ×1.00 | – | 21.0 |") {
		t.Errorf("start-to-ready table:\n%s", ready.String())
	}
	var quiet strings.Builder
	r.targetTable(&quiet, "")
	if !strings.Contains(quiet.String(), "| 1.00 × READY tcp 22.0 = 22.0 ms | 22.0 ms | 1.00× READY tcp | meets |") {
		t.Errorf("quiet targets:\n%s", quiet.String())
	}
	r.targetTable(&busy, busySuffix)
	if !strings.Contains(busy.String(), "| 1.00 × READY tcp 40.0 = 40.0 ms | 50.0 ms | 1.25× READY tcp | **misses** |") {
		t.Errorf("targets under load:\n%s", busy.String())
	}
}

// escapees finds a process by the marker in its environment, and killEscapees
// ends it (by PID, through a pidfd) and nothing else.
func TestEscapees(t *testing.T) {
	mark := fmt.Sprintf("/test-%d:1", os.Getpid())
	// start runs a sleep with the marker, reaped once it dies (escapees skips
	// zombies, as the benchmark's subreaper reaps at once).
	start := func(mark string) *exec.Cmd {
		cmd := exec.Command("/bin/sleep", "100")
		cmd.Env = []string{escapeeEnv + "=" + mark}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		t.Cleanup(func() { cmd.Process.Kill(); <-done })
		return cmd
	}
	mine, other := start(mark), start(mark+"0")
	if got := escapees(mark); len(got) != 1 || got[0] != mine.Process.Pid {
		t.Fatalf("escapees(%q) = %v, want [%d]", mark, got, mine.Process.Pid)
	}
	prefix := fmt.Sprintf("/test-%d:", os.Getpid())
	if got := escapees(prefix); len(got) != 2 {
		t.Errorf("escapees(%q) = %v, want both", prefix, got)
	}
	if err := killEscapees(mark); err != nil {
		t.Fatal(err)
	}
	if !alive(other.Process.Pid) {
		t.Error("killEscapees killed a process with another marker")
	}
}

func TestP99(t *testing.T) {
	var v []time.Duration
	for i := 1; i <= 200; i++ {
		v = append(v, time.Duration(i))
	}
	if got := p99(v); got != 198 {
		t.Errorf("p99 of 1..200 = %v, want 198", got)
	}
	if got := p99(v[:1]); got != 1 {
		t.Errorf("p99 of one = %v", got)
	}
	if got := p99(nil); got != 0 {
		t.Errorf("p99 of none = %v", got)
	}
}

// The escape and restart rows have tables of their own (counts without
// decimals, no ratio), and their targets judge the worst round, not the median.
func TestSectionRows(t *testing.T) {
	r := newResults()
	r.setSizes(sizes{})
	for _, v := range []float64{0, 0, 3} {
		r.add("restart.refused", restartListen, v)
	}
	r.add("restart.refused", "lsb", 40)
	r.add("escape.left", "svcwrap", 0)
	r.add("escape.left", "lsb", 50)
	r.add("escape.stop", "svcwrap", 10)
	r.add("escape.stop", "lsb", 20)
	var main, esc, rst, tg strings.Builder
	r.table(&main, []string{"svcwrap", "reference"}, false)
	if strings.Contains(main.String(), "escape") || strings.Contains(main.String(), "refused") {
		t.Errorf("escape or restart rows in the main table:\n%s", main.String())
	}
	r.sectionTable(&esc, sectionEscape, []string{"svcwrap", "lsb"})
	if !strings.Contains(esc.String(), "| ms | 10.0 | 20.0 ×0.500 |") || !strings.Contains(esc.String(), "| processes | 0 | 50 |") {
		t.Errorf("escape table:\n%s", esc.String())
	}
	r.sectionTable(&rst, sectionRestart, []string{restartListen, "svcwrap", "lsb"})
	if !strings.Contains(rst.String(), "| … refused | connections | 0 [0–3] | – | 40 |") {
		t.Errorf("restart table:\n%s", rst.String())
	}
	r.targetTable(&tg, "")
	if !strings.Contains(tg.String(), "| no connection refused across `restart` with LISTEN | ≤ 0 connections | max 3 connections |  | **misses** |") ||
		!strings.Contains(tg.String(), "escapees (CGROUP=yes) | ≤ 0 processes | max 0 processes |  | meets |") {
		t.Errorf("targets:\n%s", tg.String())
	}
}
