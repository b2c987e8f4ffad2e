package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"svcwrap/definition"
	"svcwrap/service"
)

func TestRenderMetrics(t *testing.T) {
	started := time.Date(2026, 12, 1, 10, 0, 0, 250e6, time.UTC)
	entries := []listEntry{
		{Name: "web", State: "running", PID: 42, Respawns: 3, HealthRestarts: 1, LastExit: "signal KILL",
			StatusText: "serving \"all\" \\ of\nthem \xff",
			status:     service.Status{Started: started, Cgroup: "/sys/fs/cgroup/svcwrap/web", Procs: 2},
			memory:     1 << 20, hasMemory: true},
		{Name: "db@main", State: "stopped", LastExit: "exit 3", Template: "db", Instance: "main"},
		{Name: "odd", State: "weird", LastExit: "spawn failed"},
		{Name: "tmpl", State: "template", Template: "tmpl"}, // no instance: no service
	}
	got := string(renderMetrics(entries))
	want := `# HELP svcwrap_up 1 when the service's daemon runs and is ready (state running or unsupervised, or a daemon that still runs under a broken definition), else 0.
# TYPE svcwrap_up gauge
svcwrap_up{service="web"} 1
svcwrap_up{service="db@main",template="db",instance="main"} 0
svcwrap_up{service="odd"} 0
`
	if !strings.HasPrefix(got, want) {
		t.Errorf("svcwrap_up: got\n%s\nwant it to start with\n%s", got, want)
	}
	for _, line := range []string{
		`svcwrap_state{service="web",state="running"} 1`,
		`svcwrap_state{service="web",state="stopped"} 0`,
		`svcwrap_state{service="db@main",template="db",instance="main",state="stopped"} 1`,
		`svcwrap_state{service="odd",state="running"} 0`,
		`svcwrap_state{service="odd",state="weird"} 1`,
		"# TYPE svcwrap_respawns_total counter",
		`svcwrap_respawns_total{service="web"} 3`,
		`svcwrap_respawns_total{service="db@main",template="db",instance="main"} 0`,
		"# TYPE svcwrap_health_restarts_total counter",
		`svcwrap_health_restarts_total{service="web"} 1`,
		"# TYPE svcwrap_oom_kills_total counter",
		`svcwrap_oom_kills_total{service="web"} 0`,
		`svcwrap_start_time_seconds{service="web"} 1796119200.25`,
		`svcwrap_last_exit_code{service="web"} 137`,
		`svcwrap_last_exit_code{service="db@main",template="db",instance="main"} 3`,
		`svcwrap_processes{service="web"} 2`,
		`svcwrap_memory_bytes{service="web"} 1048576`,
		`svcwrap_status_info{service="web",status="serving \"all\" \\ of\nthem ` + "\uFFFD" + `"} 1`,
	} {
		if !strings.Contains(got, "\n"+line+"\n") {
			t.Errorf("no line %s in\n%s", line, got)
		}
	}
	for _, absent := range []string{
		`svcwrap_start_time_seconds{service="db@main"`, `svcwrap_last_exit_code{service="odd"}`,
		`svcwrap_processes{service="odd"}`, `svcwrap_memory_bytes{service="odd"}`, `svcwrap_status_info{service="odd"`,
		`service="tmpl"`,
	} {
		if strings.Contains(got, absent) {
			t.Errorf("%s should be absent:\n%s", absent, got)
		}
	}
	// Every family is one group: HELP, TYPE, then its samples, and no other
	// family's lines in between.
	seen := map[string]bool{}
	current := ""
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		name := strings.Fields(strings.TrimPrefix(strings.TrimPrefix(l, "# HELP "), "# TYPE "))[0]
		name, _, _ = strings.Cut(name, "{")
		if name != current {
			if seen[name] || !strings.HasPrefix(l, "# HELP ") {
				t.Fatalf("family %s is not one group starting with HELP at %q", name, l)
			}
			seen[name], current = true, name
		}
		if !strings.HasPrefix(name, "svcwrap_") {
			t.Errorf("metric %s is not svcwrap_", name)
		}
	}
	// No service: no family at all.
	if out := renderMetrics(nil); len(out) != 0 {
		t.Errorf("no services: %q", out)
	}
}

// A starting daemon runs but is not ready: not up.
func TestRenderMetricsStarting(t *testing.T) {
	got := string(renderMetrics([]listEntry{{Name: "x", State: "starting", PID: 7}}))
	if !strings.Contains(got, "\nsvcwrap_up{service=\"x\"} 0\n") {
		t.Errorf("a starting service is up:\n%s", got)
	}
}

func TestExitCodeOf(t *testing.T) {
	for in, want := range map[string]int{"exit 0": 0, "exit 3": 3, "exit 255": 255, "signal KILL": 137,
		"signal TERM": 143, "signal HUP": 129, "signal RTMIN+3": 128 + 37, "signal 9": 137} {
		if got, ok := exitCodeOf(in); !ok || got != want {
			t.Errorf("exitCodeOf(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "spawn failed", "exit x", "signal NOPE"} {
		if got, ok := exitCodeOf(in); ok {
			t.Errorf("exitCodeOf(%q) = %d, want unknown", in, got)
		}
	}
}

// --textfile writes DIR/svcwrap.prom, mode 0644 whatever the umask, by a
// rename (no temp file left), and never through a symlink.
func TestMetricsTextfile(t *testing.T) {
	root := t.TempDir()
	paths := definition.Paths{InitDir: filepath.Join(root, "init.d"), ConfDir: filepath.Join(root, "conf"),
		RunDir: filepath.Join(root, "run"), PidDir: filepath.Join(root, "pid"), LogDir: filepath.Join(root, "log")}
	for _, d := range []string{paths.InitDir, paths.ConfDir, paths.RunDir, paths.PidDir, paths.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(paths.ConfDir, "idle"), []byte("DAEMON=\"/bin/sleep 1000\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "textfile")
	os.Mkdir(dir, 0o755)
	var out bytes.Buffer
	env := &adminEnv{paths: paths, out: &out, errw: &out}
	if err := (MetricsCmd{}).Run(env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "\nsvcwrap_state{service=\"idle\",state=\"stopped\"} 1\n") {
		t.Fatalf("stdout:\n%s", out.String())
	}
	printed := out.String()
	out.Reset()
	old := syscall.Umask(0o077)
	err := (MetricsCmd{Textfile: dir}).Run(env)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	if out.Len() != 0 {
		t.Errorf("--textfile printed %q", out.String())
	}
	file := filepath.Join(dir, TextfileName)
	b, err := os.ReadFile(file)
	if err != nil || string(b) != printed {
		t.Errorf("%s: %v\n%s\nwant what stdout had:\n%s", file, err, b, printed)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("%s: mode %v, %v; want 0644", file, st.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%s holds %v; want svcwrap.prom alone", dir, ents)
	}
	// A symlink in its place is refused, and its target left alone.
	os.Remove(file)
	target := filepath.Join(root, "target")
	os.WriteFile(target, []byte("keep\n"), 0o644)
	os.Symlink(target, file)
	if err := (MetricsCmd{Textfile: dir}).Run(env); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("writing through a symlink: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "keep\n" {
		t.Errorf("the symlink's target was written: %q", b)
	}
}
