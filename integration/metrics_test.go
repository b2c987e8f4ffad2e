package integration_test

// `svcwrap metrics`: the Prometheus text exposition of every service passes
// promtool's checks with the values of the services as they are (running after
// a respawn, never started, failed, an instance), and node_exporter's textfile
// collector serves what `metrics --textfile` wrote, a rewrite included.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// requireTool is the path of a program of a Debian package the metrics tests
// drive: without it they skip when not root, and fail as root, where
// scripts/install-test-deps.sh installs it.
func requireTool(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err == nil {
		return p
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s (Debian package %s) is not installed, and only root installs it (scripts/install-test-deps.sh)", prog, pkg)
	}
	t.Fatalf("%s (Debian package %s) is not installed: run scripts/install-test-deps.sh", prog, pkg)
	return ""
}

// sample is one line of exposition text. Labels with empty values are left
// out: Prometheus treats them as absent, and node_exporter adds them to
// every series of a family that has them on some.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseExposition reads the samples of exposition text (format 0.0.4),
// undoing the label escapes.
func parseExposition(t *testing.T, text string) []sample {
	t.Helper()
	var out []sample
	for n, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) { t.Fatalf("exposition line %d %q: %s", n+1, line, why) }
		s := sample{labels: map[string]string{}}
		i := strings.IndexAny(line, "{ ")
		if i <= 0 {
			bad("no metric name")
		}
		s.name, line = line[:i], line[i:]
		if line[0] == '{' {
			line = line[1:]
			for line != "" && line[0] != '}' {
				k, rest, ok := strings.Cut(line, `="`)
				if !ok {
					bad("a label without =\"")
				}
				var v strings.Builder
				for ; ; rest = rest[1:] {
					if rest == "" {
						bad("an unterminated label value")
					}
					if rest[0] == '"' {
						break
					}
					if rest[0] == '\\' && len(rest) > 1 {
						rest = rest[1:]
						switch rest[0] {
						case 'n':
							v.WriteByte('\n')
						case '\\', '"':
							v.WriteByte(rest[0])
						default:
							bad("an unknown escape")
						}
						continue
					}
					v.WriteByte(rest[0])
				}
				if v.Len() > 0 {
					s.labels[strings.TrimLeft(k, ",")] = v.String()
				}
				line = rest[1:]
				line = strings.TrimPrefix(line, ",")
			}
			if line == "" {
				bad("no closing }")
			}
			line = line[1:]
		}
		f := strings.Fields(line)
		if len(f) != 1 {
			bad("want one value and no timestamp")
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			bad(err.Error())
		}
		s.value = v
		out = append(out, s)
	}
	return out
}

// find is the value of the series name with exactly labels (name, value
// pairs; empty values left out).
func find(ss []sample, name string, labels ...string) (float64, bool) {
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		if labels[i+1] != "" {
			want[labels[i]] = labels[i+1]
		}
	}
	for _, s := range ss {
		if s.name != name || len(s.labels) != len(want) {
			continue
		}
		match := true
		for k, v := range want {
			match = match && s.labels[k] == v
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// webStatus is the STATUS= text of metricsWorld's web: quotes, a backslash
// and a letter beyond ASCII, which the exposition must escape and keep.
const webStatus = `ready: "all" \ é`

// metricsWorld is what the metrics tests measure: web runs (2 children; its
// first daemon was SIGKILLed and respawned; STATUS= webStatus) and idle was
// never started; with full, also crash, failed after RESPAWN_LIMIT (exit 3),
// and tpl@a, a stopped instance of the template tpl.
type metricsWorld struct {
	web     Event  // tdaemon's start report of the running web daemon
	cgroup  string // its cgroup directory, "" when it has none
	memSums bool   // the cgroup has no memory.current: memory is the RSS sum
}

func newMetricsWorld(t *testing.T, e *Env, full bool) metricsWorld {
	t.Helper()
	sock, ev := e.Reporter(t)
	e.Script("web", fmt.Sprintf(`DAEMON="%s -report %s -children 2 -notify-after 0s -notify-status '%s'"
READY=notify
RESPAWN_DELAY=0
`, e.TDaemon, sock, strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(webStatus)), svcMarker("web"))
	e.Script("idle", e.Daemon(), svcMarker("idle"))
	if full {
		e.Script("crash", e.Daemon("-exit-after", "100ms", "-exit-code", "3")+
			"\nSTART_WAIT=0\nRESPAWN_DELAY=0\nRESPAWN_LIMIT=1/60s\n", svcMarker("crash"))
		e.Script("tpl", e.Daemon()+"\nINSTANCES=a\n", svcMarker("tpl"))
		wantCode(t, e.Run("crash", "start"), 0)
	}
	wantCode(t, e.Run("web", "start"), 0)
	first := ev.WaitFor(t, 10*time.Second, isStart)
	syscall.Kill(first.Pid, syscall.SIGKILL)
	w := metricsWorld{web: ev.WaitFor(t, 10*time.Second, func(x Event) bool { return isStart(x) && x.Pid != first.Pid })}
	eventually(t, 10*time.Second, "web running again after the SIGKILL", func() (bool, string) {
		ent, err := e.EntryE("web")
		return err == nil && ent.State == "running" && ent.Pid == w.web.Pid && ent.StatusText == webStatus, fmt.Sprintf("%+v %v", ent, err)
	})
	if full {
		eventually(t, 30*time.Second, "crash failed after RESPAWN_LIMIT", func() (bool, string) {
			ent, err := e.EntryE("crash")
			return err == nil && ent.State == "failed", fmt.Sprintf("%+v %v", ent, err)
		})
	}
	if rel := cgroupOf(w.web.Pid); strings.Contains(rel, "/svcwrap") && strings.HasSuffix(rel, "/web") {
		for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
			if _, err := os.Stat(filepath.Join(root, rel, "cgroup.procs")); err == nil {
				w.cgroup = filepath.Join(root, rel)
				_, err := os.Stat(filepath.Join(w.cgroup, "memory.current"))
				w.memSums = err != nil
			}
		}
	}
	return w
}

// checkRunning checks what the samples say of web (running) and idle (never
// started).
func (w metricsWorld) checkRunning(t *testing.T, ss []sample) {
	t.Helper()
	want := func(v float64, name string, labels ...string) {
		t.Helper()
		if got, ok := find(ss, name, labels...); !ok || got != v {
			t.Errorf("%s%v = %v (present: %v); want %v", name, labels, got, ok, v)
		}
	}
	absent := func(name string, labels ...string) {
		t.Helper()
		if got, ok := find(ss, name, labels...); ok {
			t.Errorf("%s%v = %v; want no such series", name, labels, got)
		}
	}
	want(1, "svcwrap_up", "service", "web")
	want(0, "svcwrap_up", "service", "idle")
	for _, st := range []string{"running", "starting", "respawning", "unsupervised", "stopped", "failed", "dead", "disabled", "invalid", "unknown"} {
		want(map[bool]float64{true: 1}[st == "running"], "svcwrap_state", "service", "web", "state", st)
		want(map[bool]float64{true: 1}[st == "stopped"], "svcwrap_state", "service", "idle", "state", st)
	}
	want(1, "svcwrap_respawns_total", "service", "web")
	want(0, "svcwrap_respawns_total", "service", "idle")
	want(0, "svcwrap_health_restarts_total", "service", "web")
	want(128+9, "svcwrap_last_exit_code", "service", "web") // the SIGKILLed first daemon
	absent("svcwrap_last_exit_code", "service", "idle")
	want(1, "svcwrap_status_info", "service", "web", "status", webStatus)
	absent("svcwrap_status_info", "service", "idle")
	// The watchdog records the start just before tdaemon's main reports it.
	if got, ok := find(ss, "svcwrap_start_time_seconds", "service", "web"); !ok || got < float64(w.web.T)/1e9-2 || got > float64(w.web.T)/1e9+0.01 {
		t.Errorf("svcwrap_start_time_seconds{web} = %v (present: %v); want just before the daemon's start %.3f", got, ok, float64(w.web.T)/1e9)
	}
	absent("svcwrap_start_time_seconds", "service", "idle")
	absent("svcwrap_processes", "service", "idle")
	absent("svcwrap_memory_bytes", "service", "idle")
	if w.cgroup == "" {
		absent("svcwrap_processes", "service", "web")
		absent("svcwrap_memory_bytes", "service", "web")
		t.Logf("web has no cgroup here: svcwrap_processes and svcwrap_memory_bytes are absent")
		return
	}
	// The daemon and its two children, as tdaemon reported them.
	if len(w.web.Children) != 2 {
		t.Fatalf("web reported children %v, want 2", w.web.Children)
	}
	want(3, "svcwrap_processes", "service", "web")
	mem, ok := find(ss, "svcwrap_memory_bytes", "service", "web")
	if !w.memSums {
		if !ok || mem <= 0 {
			t.Errorf("svcwrap_memory_bytes{web} = %v (present: %v); want memory.current of %s", mem, ok, w.cgroup)
		}
		return
	}
	var rss float64
	for _, pid := range append([]int{w.web.Pid}, w.web.Children...) {
		rss += float64(procRSSKiB(t, pid)) * 1024
	}
	if !ok || mem < rss*0.75 || mem > rss*1.25 {
		t.Errorf("svcwrap_memory_bytes{web} = %v (present: %v); want about the sum of its 3 processes' VmRSS, %v (no memory.current in %s)", mem, ok, rss, w.cgroup)
	}
}

// TestMetricsExposition: `svcwrap metrics` passes `promtool check metrics`
// (syntax and Prometheus's naming lint) and says what each service is.
func TestMetricsExposition(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	e := newEnv(t)
	w := newMetricsWorld(t, e, true)
	r := e.Admin("metrics")
	wantCode(t, r, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	check := exec.CommandContext(ctx, promtool, "check", "metrics")
	check.Stdin = strings.NewReader(r.Stdout)
	if out, err := check.CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s\n--- input:\n%s", err, out, r.Stdout)
	}
	ss := parseExposition(t, r.Stdout)
	w.checkRunning(t, ss)
	if v, ok := find(ss, "svcwrap_state", "service", "crash", "state", "failed"); !ok || v != 1 {
		t.Errorf("crash: svcwrap_state{failed} = %v, %v; want 1\n%s", v, ok, r.Stdout)
	}
	for name, want := range map[string]float64{"svcwrap_up": 0, "svcwrap_respawns_total": 1, "svcwrap_last_exit_code": 3} {
		if v, ok := find(ss, name, "service", "crash"); !ok || v != want {
			t.Errorf("crash: %s = %v, %v; want %v", name, v, ok, want)
		}
	}
	// An instance: its name, its template and the instance as labels.
	if v, ok := find(ss, "svcwrap_state", "service", "tpl@a", "template", "tpl", "instance", "a", "state", "stopped"); !ok || v != 1 {
		t.Errorf("tpl@a: svcwrap_state{stopped} = %v, %v; want 1 with template and instance labels\n%s", v, ok, r.Stdout)
	}
	for _, s := range ss {
		if s.labels["service"] == "tpl" {
			t.Errorf("the template itself has a series: %+v", s)
		}
	}
	// A directory others can write is refused (exit 6), a missing one is exit 1;
	// nothing is written.
	open := filepath.Join(e.Root, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if r := e.Admin("metrics", "--textfile", open); r.Code != 6 || !strings.Contains(r.Stderr, "can be written by group or others") {
		t.Errorf("metrics --textfile into a mode 0777 directory: %s", r)
	}
	if ents, _ := os.ReadDir(open); len(ents) != 0 {
		t.Errorf("%s: %v written", open, ents)
	}
	wantCode(t, e.Admin("metrics", "--textfile", filepath.Join(e.Root, "missing")), 1)
}

// TestMetricsNodeExporter: node_exporter's textfile collector reads what
// `metrics --textfile DIR` wrote, and the next write replaces it.
func TestMetricsNodeExporter(t *testing.T) {
	exporter := requireTool(t, "prometheus-node-exporter", "prometheus-node-exporter")
	e := newEnv(t)
	w := newMetricsWorld(t, e, false)
	dir := filepath.Join(e.Root, "textfile")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := e.Admin("metrics", "--textfile", dir)
	wantCode(t, r, 0)
	if r.Stdout != "" {
		t.Errorf("metrics --textfile printed: %s", r)
	}
	if st, err := os.Stat(filepath.Join(dir, "svcwrap.prom")); err != nil || st.Mode().Perm() != 0o644 {
		t.Fatalf("%s/svcwrap.prom: %v %v; want mode 0644", dir, st, err)
	}

	// Only the textfile collector: the others would read the host.
	port := freePort(t)
	logf, err := os.Create(filepath.Join(e.Root, "node_exporter.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(exporter, "--collector.disable-defaults", "--collector.textfile",
		"--collector.textfile.directory="+dir, "--web.disable-exporter-metrics",
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port))
	cmd.Env, cmd.Stdout, cmd.Stderr = cleanEnviron(), logf, logf
	ne := startProcCmd(t, cmd)
	client := &http.Client{Timeout: 5 * time.Second}
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	scrape := func() (string, error) {
		resp, err := client.Get(url)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("HTTP %s", resp.Status)
		}
		return string(b), err
	}
	log := func() string { b, _ := os.ReadFile(logf.Name()); return string(b) }
	var body string
	eventually(t, 30*time.Second, "node_exporter to serve "+url, func() (bool, string) {
		select {
		case <-ne.done:
			t.Fatalf("node_exporter exited: %v\n%s", ne.err, log())
		default:
		}
		var err error
		body, err = scrape()
		return err == nil, fmt.Sprint(err)
	})
	ss := parseExposition(t, body)
	if v, ok := find(ss, "node_textfile_scrape_error"); !ok || v != 0 {
		t.Fatalf("node_textfile_scrape_error = %v (present: %v): node_exporter did not read svcwrap.prom:\n%s\n--- its log:\n%s", v, ok, body, log())
	}
	mtime := false
	for _, s := range ss {
		mtime = mtime || s.name == "node_textfile_mtime_seconds" && strings.HasSuffix(s.labels["file"], "svcwrap.prom")
	}
	if !mtime {
		t.Errorf("no node_textfile_mtime_seconds for svcwrap.prom:\n%s", body)
	}
	w.checkRunning(t, ss)

	// Stopped, and written again: the next scrape reads the new file.
	wantCode(t, e.Run("web", "stop"), 0)
	wantCode(t, e.Admin("metrics", "--textfile", dir), 0)
	if body, err = scrape(); err != nil {
		t.Fatal(err)
	}
	ss = parseExposition(t, body)
	// stop forgets the state: the counters start again from 0 (a counter reset).
	for name, want := range map[string]float64{"svcwrap_up": 0, "svcwrap_respawns_total": 0, "svcwrap_health_restarts_total": 0} {
		if v, ok := find(ss, name, "service", "web"); !ok || v != want {
			t.Errorf("web after stop: %s = %v (present: %v); want %v\n%s", name, v, ok, want, body)
		}
	}
	if v, ok := find(ss, "svcwrap_state", "service", "web", "state", "stopped"); !ok || v != 1 {
		t.Errorf("web after stop: svcwrap_state{stopped} = %v (present: %v); want 1\n%s", v, ok, body)
	}
	for _, name := range []string{"svcwrap_start_time_seconds", "svcwrap_last_exit_code", "svcwrap_processes", "svcwrap_memory_bytes"} {
		if v, ok := find(ss, name, "service", "web"); ok {
			t.Errorf("web after stop: %s = %v; want no such series", name, v)
		}
	}
	if _, ok := find(ss, "svcwrap_status_info", "service", "web", "status", webStatus); ok {
		t.Errorf("web after stop still has its status_info")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%s holds %v; want svcwrap.prom alone (no temp file left)", dir, ents)
	}
}
