package commands

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"svcwrap/cgroup"
	"svcwrap/definition"
	"svcwrap/safefile"
)

// MetricsCmd prints every service's state in the Prometheus text exposition
// format (version 0.0.4), or writes it for node_exporter's textfile collector.
// Its metrics are listed in docs/metrics.md.
type MetricsCmd struct {
	Textfile string `name:"textfile" placeholder:"DIR" help:"Write DIR/svcwrap.prom atomically (node_exporter's textfile collector) instead of printing."`
}

// TextfileName is the file `metrics --textfile DIR` writes in DIR: node_exporter
// reads the *.prom files there, and never sees the temp file, which is named
// .svcwrap.prom.PID.N until its rename.
const TextfileName = "svcwrap.prom"

func (c MetricsCmd) Run(env *adminEnv) error {
	// The memory of a cgroup is a file read or a few more per service: on the
	// goroutine that inspected it.
	entries := listAll(env.paths, func(e *listEntry) {
		if st := e.status; st.Cgroup != "" {
			e.memory, e.hasMemory = (&cgroup.Group{Path: st.Cgroup}).Memory(st.Members), true
		}
	})
	text := renderMetrics(entries)
	if c.Textfile == "" {
		_, err := env.out.Write(text)
		return err
	}
	// A temp file beside it, renamed over it: the collector reads the old file
	// or the new one, never a torn one. safefile refuses a directory or file
	// that another user could use to redirect the write.
	return safefile.Write(filepath.Join(c.Textfile, TextfileName), text, 0o644)
}

// metricStates are the values of svcwrap_state's state label, each a series of
// every service (1 for its state, 0 for the others), so that a query never
// misses a series; a state not in the list gets a series of its own.
var metricStates = []string{"running", "starting", "respawning", "unsupervised", "stopped", "failed", "dead", "disabled", "invalid", "unknown"}

// metricFamily is one metric: its samples of a service, each a label set after
// the service's own (`,name="value"` pairs, or "") and a value.
type metricFamily struct {
	name, typ, help string
	samples         func(e *listEntry, add func(labels, value string))
}

var metricFamilies = []metricFamily{
	{"svcwrap_up", "gauge", "1 when the service's daemon runs and is ready (state running or unsupervised, or a daemon that still runs under a broken definition), else 0.",
		func(e *listEntry, add func(string, string)) {
			add("", boolValue(e.PID != 0 && e.State != "starting"))
		}},
	{"svcwrap_state", "gauge", "The service's state, as svcwrap list shows it: 1 for the series of the current state, 0 for the others.",
		func(e *listEntry, add func(string, string)) {
			states := metricStates
			if !slices.Contains(states, e.State) {
				states = append(slices.Clip(states), e.State)
			}
			for _, s := range states {
				add(label("state", s), boolValue(s == e.State))
			}
		}},
	{"svcwrap_respawns_total", "counter", "Respawns of the daemon by its watchdog since the service was started.",
		func(e *listEntry, add func(string, string)) { add("", strconv.Itoa(e.Respawns)) }},
	{"svcwrap_health_restarts_total", "counter", "Restarts of a daemon that was still running (CHECK, MAX_RSS, WATCHDOG_SEC) since the service was started.",
		func(e *listEntry, add func(string, string)) { add("", strconv.Itoa(e.HealthRestarts)) }},
	{"svcwrap_oom_kills_total", "counter", "Processes of the daemon's cgroup the kernel's OOM killer ended (MEMORY_MAX) since the service was started.",
		func(e *listEntry, add func(string, string)) { add("", strconv.Itoa(e.OOMKills)) }},
	// svcwrap_oom_kills_total comes when the state file counts OOM kills
	// (protocol.State has no such field yet): a 0 here would claim none.
	{"svcwrap_start_time_seconds", "gauge", "When the running daemon started, in seconds since the Unix epoch.",
		func(e *listEntry, add func(string, string)) {
			if st := e.status.Started; e.PID != 0 && !st.IsZero() {
				add("", strconv.FormatFloat(float64(st.UnixMilli())/1000, 'f', -1, 64))
			}
		}},
	{"svcwrap_last_exit_code", "gauge", "How the last daemon ended: its exit code, or 128+N when signal N killed it.",
		func(e *listEntry, add func(string, string)) {
			if code, ok := exitCodeOf(e.LastExit); ok {
				add("", strconv.Itoa(code))
			}
		}},
	{"svcwrap_processes", "gauge", "Live processes in the service's cgroup.",
		func(e *listEntry, add func(string, string)) {
			if e.status.Cgroup != "" {
				add("", strconv.Itoa(e.status.Procs))
			}
		}},
	{"svcwrap_memory_bytes", "gauge", "Memory of the service's cgroup: memory.current, or the sum of its processes' resident sets when the memory controller is not enabled there.",
		func(e *listEntry, add func(string, string)) {
			if e.hasMemory {
				add("", strconv.FormatInt(e.memory, 10))
			}
		}},
	{"svcwrap_status_info", "gauge", "The running daemon's own STATUS= text (READY=notify) in the label status; the value is always 1.",
		func(e *listEntry, add func(string, string)) {
			if e.StatusText != "" {
				add(label("status", e.StatusText), "1")
			}
		}},
}

// renderMetrics is the exposition text: each family's HELP and TYPE, then its
// samples of every service, in the order of entries. A template without
// instances is no service; a family without samples is left out.
func renderMetrics(entries []listEntry) []byte {
	var b bytes.Buffer
	b.Grow(len(entries) * 2048)
	own := make([]string, len(entries))
	for i := range entries {
		own[i] = serviceLabels(&entries[i])
	}
	var samples bytes.Buffer
	for _, f := range metricFamilies {
		samples.Reset()
		for i := range entries {
			if entries[i].State == "template" {
				continue
			}
			f.samples(&entries[i], func(labels, value string) {
				samples.WriteString(f.name)
				samples.WriteByte('{')
				samples.WriteString(own[i])
				samples.WriteString(labels)
				samples.WriteString("} ")
				samples.WriteString(value)
				samples.WriteByte('\n')
			})
		}
		if samples.Len() == 0 {
			continue
		}
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", f.name, escapeHelp(f.help), f.name, f.typ)
		b.Write(samples.Bytes())
	}
	return b.Bytes()
}

// serviceLabels are the labels of every series of a service: service, and for
// an instance of a template also template and instance.
func serviceLabels(e *listEntry) string {
	s := `service="` + escapeLabel(e.Name) + `"`
	if e.Instance != "" {
		s += label("template", e.Template) + label("instance", e.Instance)
	}
	return s
}

// label is `,name="value"`, the value escaped.
func label(name, value string) string { return "," + name + `="` + escapeLabel(value) + `"` }

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// escapeLabel escapes a label value as the text format requires (backslash,
// double quote, line feed); the text must be UTF-8, so an invalid byte becomes
// U+FFFD.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }

// escapeHelp escapes a HELP text (backslash and line feed).
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeHelp(s string) string { return helpEscaper.Replace(strings.ToValidUTF8(s, "\uFFFD")) }

// exitCodeOf reads a state file's last exit: "exit N" is N, "signal NAME" is
// 128 + the signal's number, as a shell reports it; anything else ("", "spawn
// failed") is unknown.
func exitCodeOf(last string) (int, bool) {
	if n, ok := strings.CutPrefix(last, "exit "); ok {
		code, err := strconv.Atoi(n)
		return code, err == nil
	}
	if name, ok := strings.CutPrefix(last, "signal "); ok {
		sig, err := definition.ParseSignal(name)
		return 128 + int(sig), err == nil
	}
	return 0, false
}
