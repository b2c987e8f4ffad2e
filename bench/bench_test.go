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
	for _, want := range []string{"# svcwrap benchmarks", "- Machine: ", "## Targets", "| measurement | unit | svcwrap |"} {
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
	if os.Geteuid() == 0 {
		for _, peer := range []string{"runsv", "supervisord", "start-stop-daemon"} {
			if _, err := exec.LookPath(peer); err == nil && !strings.Contains(report, "×") {
				t.Errorf("%s is installed and we are root, but the report has no ratio to a peer", peer)
			}
		}
	}
}
