package main

import (
	"context"
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
		t.Skip("-short: the quick benchmark takes about a minute")
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
