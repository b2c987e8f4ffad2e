package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

type row struct {
	key, title, unit string
	vals             map[string][]float64
	notes            map[string]string
	busy             bool   // measured under load: key ends in busySuffix
	section          string // "": the main table; sectionReady: the start-to-ready table; …
	noRatio          bool   // no `×N` after the peers' figures
	count            bool   // a number of things: whole numbers where they are
}

// sectionReady marks the start-to-ready rows (ready.go), which have columns of
// their own; sectionEscape and sectionRestart the escape and restart phases'
// (escape.go, restart.go), which have tables of their own.
const (
	sectionReady   = "ready"
	sectionEscape  = "escape"
	sectionRestart = "restart"
)

type results struct {
	mu    sync.Mutex
	rows  []*row
	byKey map[string]*row
	z     sizes
	load  [2]string
	// busy: figures now go to the rows of key+busySuffix (the latency phase
	// under load); hogs and busyLoad describe that pass for the report.
	busy     bool
	hogs     int
	busyLoad string
}

// busySuffix marks the key of a figure taken while CPU hogs ran.
const busySuffix = ".busy"

// latencyKeys are the rows of the latency phase, which -load busy repeats.
var latencyKeys = []string{"floor.exec", "floor.spawn", "respawn.young", "respawn.young.listen", "status", "list.1", "start", "start.ready", "stop",
	"ready.now", "ready.now.after", "ready.slow", "ready.slow.after"}

// setBusy sends the figures that follow to the rows under load (or back).
func (r *results) setBusy(busy bool, hogs int, load string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.busy = busy
	if busy {
		r.hogs, r.busyLoad = hogs, load
	}
}

const (
	refFloor = "floor"
	refGo    = "idle Go (benchd)"
)

func newResults() *results {
	r := &results{byKey: map[string]*row{}}
	return r
}

// setSizes fixes the rows, whose titles name the sizes of the run.
func (r *results) setSizes(z sizes) {
	r.z = z
	n, f, p := z.scale, z.footprint, z.parallel
	for _, d := range [][3]string{
		{"floor.exec", "Floor: exec of a trivial Go binary, call to return", "ms"},
		{"floor.spawn", "Floor: fork+exec of benchd by a minimal Go program, to benchd's first statement", "ms"},
		{"respawn.old", "Respawn of a daemon older than 10 s: SIGKILL to the new daemon's first statement", "ms"},
		{"respawn.old.listen", "… and to its TCP port accepting again", "ms"},
		{"respawn.young", "Respawn of a young daemon (killed 20 ms after its start; svcwrap RESPAWN_DELAY=0): SIGKILL to first statement", "ms"},
		{"respawn.young.listen", "… and to its TCP port accepting again", "ms"},
		{"status", "`status` of a running service", "ms"},
		{"list.1", "`list` (`sv status`, `supervisorctl status`), 1 service defined", "ms"},
		{"list.n.stopped", fmt.Sprintf("`list`, %d services defined, stopped", n), "ms"},
		{"list.n.running", fmt.Sprintf("`list`, %d services running", n), "ms"},
		{"metrics.n.running", fmt.Sprintf("`svcwrap metrics` (Prometheus text), %d services running", n), "ms"},
		{"start", "`start` (START_WAIT=0, READY tcp; runit ./check) minus the daemon's own time to listen", "ms"},
		{"start.ready", "`start` (as above): from the daemon's listen() to the return", "ms"},
		{"stop", "`stop` of a daemon that exits at once on SIGTERM, call to return", "ms"},
		{"mem.anon.1", "Private memory (RssAnon) of one supervisor", "kB"},
		{"mem.pss.1", "Pss of one supervisor", "kB"},
		{"mem.anon.n", fmt.Sprintf("RssAnon per service, %d running (supervisord: its total / %d)", f, f), "kB"},
		{"mem.pss.n", fmt.Sprintf("Pss per service, %d running", f), "kB"},
		{"size", "Binary size", "kB"},
		{"idle.ticks", "Idle supervisor: CPU ticks per minute", "ticks/min"},
		{"idle.ctxsw", "Idle supervisor: context switches per minute (all threads)", "/min"},
		{"scale.start.seq", fmt.Sprintf("Start %d services one after another (total)", n), "s"},
		{"scale.stop.seq", fmt.Sprintf("Stop %d services one after another (total)", n), "s"},
		{"scale.start.par", fmt.Sprintf("Start %d services, %d at a time (total)", n, p), "s"},
		{"scale.stop.par", fmt.Sprintf("Stop %d services, %d at a time (total)", n, p), "s"},
		{"ready.now", "`start`, call to return with the daemon ready; benchd listens at once, then sends READY=1 (floor: fork+exec to its READY=1)", "ms"},
		{"ready.now.after", "… of which after the daemon was ready (its listen(), then READY=1)", "ms"},
		{"ready.slow", fmt.Sprintf("`start`, as above; benchd listens %v after its start (floor: the same)", readyDelays[1].delay), "ms"},
		{"ready.slow.after", "… of which after the daemon was ready", "ms"},
	} {
		rw := &row{key: d[0], title: d[1], unit: d[2], vals: map[string][]float64{}, notes: map[string]string{}}
		if strings.HasPrefix(d[0], "ready.") {
			rw.section = sectionReady
		}
		r.rows = append(r.rows, rw)
		r.byKey[d[0]] = rw
	}
	for _, d := range []struct {
		key, title, unit, section string
		noRatio                   bool
	}{
		{"escape.stop", fmt.Sprintf("`stop` of a daemon that left %d processes in sessions of their own, call to return", escapeeCount), "ms", sectionEscape, false},
		{"escape.left", fmt.Sprintf("… processes of those %d still alive when `stop` returned", escapeeCount), unitProcs, sectionEscape, true},
		{"restart.took", "`restart`, call to return", "ms", sectionRestart, true},
		{"restart.conns", "Connections in the window", unitConns, sectionRestart, true},
		{"restart.refused", "… refused", unitConns, sectionRestart, true},
		{"restart.reset", "… reset, or failed after connect", unitConns, sectionRestart, true},
		{"restart.failspan", "From the first failed connection's start to the last one's end", "ms", sectionRestart, true},
		{"restart.p99.connect", "p99 of connect(), connections that connected", "ms", sectionRestart, true},
		{"restart.p99.request", "p99 of a request, connect to the answer's status line", "ms", sectionRestart, true},
	} {
		rw := &row{key: d.key, title: d.title, unit: d.unit, vals: map[string][]float64{}, notes: map[string]string{}, section: d.section,
			noRatio: d.noRatio, count: d.unit == unitProcs || d.unit == unitConns}
		r.rows = append(r.rows, rw)
		r.byKey[d.key] = rw
	}
	for _, k := range latencyKeys {
		base := r.byKey[k]
		rw := &row{key: k + busySuffix, title: base.title, unit: base.unit, vals: map[string][]float64{}, notes: map[string]string{}, busy: true, section: base.section}
		r.rows = append(r.rows, rw)
		r.byKey[rw.key] = rw
	}
}

// keyNow is key, or its row under load while the busy pass runs.
func (r *results) keyNow(key string) string {
	if r.busy {
		return key + busySuffix
	}
	return key
}

func (r *results) add(key, sys string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rw := r.byKey[r.keyNow(key)]; rw != nil {
		rw.vals[sys] = append(rw.vals[sys], v)
	}
}

func (r *results) note(key, sys, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rw := r.byKey[r.keyNow(key)]; rw != nil {
		rw.notes[sys] = note
	}
}

// measured reports whether any row of the main or start-to-ready tables, of the
// busy (or quiet) kind, has a figure.
func (r *results) measured(busy bool) bool {
	for _, rw := range r.rows {
		if rw.busy == busy && (rw.section == "" || rw.section == sectionReady) && len(rw.vals) > 0 {
			return true
		}
	}
	return false
}

// measuredReady reports whether a start-to-ready row of the kind has a figure.
func (r *results) measuredReady(busy bool) bool { return r.measuredIn(sectionReady, busy) }

// measuredIn reports whether a row of section, of the kind, has a figure.
func (r *results) measuredIn(section string, busy bool) bool {
	for _, rw := range r.rows {
		if rw.busy == busy && rw.section == section && len(rw.vals) > 0 {
			return true
		}
	}
	return false
}

type stat struct {
	n                int
	min, median, max float64
}

func summarize(v []float64) stat {
	if len(v) == 0 {
		return stat{}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{len(s), s[0], med, s[len(s)-1]}
}

// cell is median [min–max], or the median alone for one sample.
func (st stat) cell() string { return st.cellWith(num) }

// countCell is cell for a count: whole numbers without decimals.
func (st stat) countCell() string { return st.cellWith(countNum) }

func (st stat) cellWith(f func(float64) string) string {
	c := f(st.median)
	if st.n > 1 {
		c += " [" + f(st.min) + "–" + f(st.max) + "]"
	}
	return c
}

// The units of counts.
const (
	unitProcs = "processes"
	unitConns = "connections"
)

// countNum is v without decimals when it is whole (a median of two may not be).
func countNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func (r *results) median(key, sys string) (float64, bool) {
	rw := r.byKey[key]
	if rw == nil || len(rw.vals[sys]) == 0 {
		return 0, false
	}
	return summarize(rw.vals[sys]).median, true
}

func num(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a == 0:
		return "0"
	}
	return fmt.Sprintf("%.3f", v)
}

// target is one goal of docs/benchmarks.md's Targets table: svcwrap's median against a floor of the same run
// (factor × floor) or an absolute limit. sys is the column of svcwrap's figure
// (default svcwrap); the "floor" may be another svcwrap figure of the run, in
// column floorSys (default the floor) under the name floorName (default floor).
type target struct {
	key, what string
	sys       string
	floor     string
	floorSys  string
	floorName string
	factor    float64
	limit     float64
	worst     bool // judge the largest figure of the run, not the median
}

var targets = []target{
	{key: "respawn.old", what: "respawn, old daemon", floor: "floor.spawn", factor: 2.5},
	{key: "respawn.young", what: "respawn, young daemon, RESPAWN_DELAY=0", floor: "floor.spawn", factor: 2.5},
	{key: "status", what: "`status`", floor: "floor.exec", factor: 2},
	{key: "stop", what: "`stop`, TERM-honouring daemon", floor: "floor.exec", factor: 3},
	{key: "start.ready", what: "`start` returns after the daemon's listen()", floor: "floor.exec", factor: 3},
	{key: "list.n.running", what: "`list` over the scale services (running)", floor: "floor.exec", factor: 10},
	{key: "list.n.stopped", what: "`list` over the scale services (stopped)", floor: "floor.exec", factor: 10},
	{key: "metrics.n.running", what: "`metrics` over the scale services (running), `list`'s target", floor: "floor.exec", factor: 10},
	{key: "mem.anon.1", what: "one watchdog, private (RssAnon)", limit: 1024},
	{key: "mem.pss.n", what: "Pss per watchdog, many running", limit: 1536},
	{key: "idle.ticks", what: "idle watchdog, CPU ticks per minute", limit: 0},
	{key: "idle.ctxsw", what: "idle watchdog, context switches per minute", limit: 6},
	// The same daemon, ready at the same time: what differs is start's time after it.
	{key: "escape.left", what: fmt.Sprintf("no process left after `stop` of a daemon with %d escapees (CGROUP=yes)", escapeeCount), limit: 0, worst: true},
	{key: "restart.refused", what: "no connection refused across `restart` with LISTEN", sys: restartListen, limit: 0, worst: true},
	{key: "restart.reset", what: "no connection reset across `restart` with LISTEN (a graceful daemon)", sys: restartListen, limit: 0, worst: true},
	{key: "ready.slow.after", what: fmt.Sprintf("`start` with READY=notify not slower than with READY tcp, from the daemon's readiness (%v after its start) to the return", readyDelays[1].delay),
		sys: readyNotify, floor: "ready.slow.after", floorSys: readyTCP, floorName: "READY tcp", factor: 1},
}

func (b *bench) report(machine, cmdline string, took time.Duration, systems []string) string {
	r := b.results
	var w strings.Builder
	mode := "full"
	if b.quick {
		mode = "quick (smoke: few samples, numbers not meaningful)"
	}
	fmt.Fprintf(&w, "# svcwrap benchmarks\n\n")
	fmt.Fprintf(&w, "Generated by `%s` (bench/, %s run); do not edit by hand.\n\n", cmdline, mode)
	fmt.Fprintf(&w, "- Machine: %s\n", machine)
	fmt.Fprintf(&w, "- Date: %s; the run took %v; load average %s at the start, %s at the end\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second), r.load[0], r.load[1])
	fmt.Fprintf(&w, "- Samples: %d interleaved rounds of each command; %d young respawns for peers that wait 1 s; %d old daemons; %d services for memory; idle window %v; %d services for scale; %d stops with escapees; %d restarts under load\n",
		r.z.rounds, r.z.youngPeer, r.z.old, r.z.footprint, r.z.idle, r.z.scale, r.z.escape, r.z.restart)
	fmt.Fprintf(&w, "- Every system runs the same daemon (benchd) on the same machine in the same run; `lsb` is a Debian init script with start-stop-daemon and /lib/lsb/init-functions (no supervisor: no respawn, no memory)\n\n")

	w.WriteString(method)
	fmt.Fprintf(&w, "Cells: median [min–max]; `×N` after a peer's figure is svcwrap's median divided by the peer's.\n\n")
	cols := append(append([]string{}, systems...), "reference")
	if r.measured(false) {
		r.table(&w, cols, false)
		if r.measuredReady(false) {
			fmt.Fprintf(&w, "\n## Start to ready: READY=notify, READY tcp, start-stop-daemon --notify-await\n\n")
			w.WriteString(readyMethod)
			r.readyTable(&w, false)
		}
	}
	if r.measured(false) || r.measuredIn(sectionEscape, false) || r.measuredIn(sectionRestart, false) {
		fmt.Fprintf(&w, "\n## Targets: svcwrap's medians against floors of this run\n\n")
		r.targetTable(&w, "")
	}
	if r.measuredIn(sectionEscape, false) {
		fmt.Fprintf(&w, "\n## Stop of a daemon with %d escapees\n\n", escapeeCount)
		w.WriteString(escapeMethod)
		r.sectionTable(&w, sectionEscape, systems)
	}
	if r.measuredIn(sectionRestart, false) {
		fmt.Fprintf(&w, "\n## Restart under load\n\n")
		w.WriteString(restartMethod)
		r.sectionTable(&w, sectionRestart, append([]string{restartListen}, systems...))
	}
	if r.measured(true) {
		fmt.Fprintf(&w, "\n## Latency under load: %d CPU hogs\n\n", r.hogs)
		fmt.Fprintf(&w, "The latency phase again, in trees of its own, with floors of its own, while %d busy loops (one per CPU, default priority) run; load average %s at its start. "+
			"Every command, the floors included, then waits for a CPU whenever it wakes up, so every figure grows: "+
			"compare the ratios to the floors with the quiet tables, not the milliseconds.\n\n", r.hogs, r.busyLoad)
		r.table(&w, cols, true)
		if r.measuredReady(true) {
			fmt.Fprintf(&w, "\n### Start to ready under load\n\n")
			r.readyTable(&w, true)
		}
		fmt.Fprintf(&w, "\n## Targets under load, svcwrap's medians against the floors measured under the same load\n\n")
		r.targetTable(&w, busySuffix)
	}
	w.WriteString("\n")
	return w.String()
}

// table prints the rows of one kind (quiet or under load) with a column per system.
func (r *results) table(w *strings.Builder, cols []string, busy bool) {
	fmt.Fprintf(w, "| measurement | unit | %s |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|---|---|%s\n", strings.Repeat("---|", len(cols)))
	for _, rw := range r.rows {
		if rw.busy != busy || rw.section != "" || (busy && len(rw.vals) == 0) {
			continue
		}
		var cells []string
		sv, haveSv := r.median(rw.key, "svcwrap")
		for _, c := range cols {
			var cell string
			sysName := c
			if c == "reference" {
				if len(rw.vals[refFloor]) > 0 {
					sysName = refFloor
				} else {
					sysName = refGo
				}
			}
			if v := rw.vals[sysName]; len(v) > 0 {
				st := summarize(v)
				cell = st.cell()
				if c != "svcwrap" && c != "reference" && haveSv && st.median > 0 {
					cell += fmt.Sprintf(" ×%s", num(sv/st.median))
				}
				if c == "reference" && sysName == refGo {
					cell += " (idle Go program)"
				}
			} else {
				cell = "–"
			}
			if n := rw.notes[sysName]; n != "" {
				cell += " (" + n + ")"
			}
			cells = append(cells, cell)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", rw.title, rw.unit, strings.Join(cells, " | "))
	}
}

// targetTable prints the verdict on each target whose row key+suffix was
// measured, against the floors of the same kind (suffix "" or busySuffix).
func (r *results) targetTable(w *strings.Builder, suffix string) {
	fmt.Fprintf(w, "| target | limit | svcwrap | ratio to floor | |\n|---|---|---|---|---|\n")
	for _, t := range targets {
		rw := r.byKey[t.key+suffix]
		if rw == nil {
			continue // not a latency figure: measured once, on the quiet machine
		}
		sys, floorSys, floorName := or(t.sys, "svcwrap"), or(t.floorSys, refFloor), or(t.floorName, "floor")
		v, ok := r.median(t.key+suffix, sys)
		shown := num(v)
		if ok && t.worst {
			v = summarize(rw.vals[sys]).max
			shown = "max " + countNum(v)
		}
		if !ok {
			fmt.Fprintf(w, "| %s | | not measured | | |\n", t.what)
			continue
		}
		limit, lim, ratio := t.limit, "", ""
		if t.floor != "" {
			f, ok := r.median(t.floor+suffix, floorSys)
			if !ok {
				continue
			}
			limit = t.factor * f
			lim = fmt.Sprintf("%s × %s %s = %s %s", num(t.factor), floorName, num(f), num(limit), rw.unit)
			ratio = num(v/f) + "×"
			if floorName != "floor" {
				ratio += " " + floorName
			}
		} else {
			lim = fmt.Sprintf("≤ %s %s", num(limit), rw.unit)
		}
		verdict := "meets"
		if v > limit {
			verdict = "**misses**"
		}
		fmt.Fprintf(w, "| %s | %s | %s %s | %s | %s |\n", t.what, lim, shown, rw.unit, ratio, verdict)
	}
}

// or is s, or def when s is empty.
func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// readyTable prints the start-to-ready rows of one kind (quiet or under load),
// a column per variant; `×N` is READY=notify's median divided by the figure's.
func (r *results) readyTable(w *strings.Builder, busy bool) {
	fmt.Fprintf(w, "| measurement | unit | %s |\n", strings.Join(readyCols, " | "))
	fmt.Fprintf(w, "|---|---|%s\n", strings.Repeat("---|", len(readyCols)))
	for _, rw := range r.rows {
		if rw.busy != busy || rw.section != sectionReady {
			continue
		}
		base, haveBase := r.median(rw.key, readyNotify)
		var cells []string
		for _, c := range readyCols {
			cell := "–"
			if v := rw.vals[c]; len(v) > 0 {
				st := summarize(v)
				cell = st.cell()
				if c != readyNotify && c != refFloor && haveBase && st.median > 0 {
					cell += " ×" + num(base/st.median)
				}
			}
			if n := rw.notes[c]; n != "" {
				cell += " (" + n + ")"
			}
			cells = append(cells, cell)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", rw.title, rw.unit, strings.Join(cells, " | "))
	}
}

// sectionTable prints the rows of section (escape, restart: measured once, on
// the quiet machine), a column per system; `×N` after a peer's figure, on rows
// that are not counts, is svcwrap's median divided by the peer's.
func (r *results) sectionTable(w *strings.Builder, section string, cols []string) {
	fmt.Fprintf(w, "| measurement | unit | %s |\n", strings.Join(cols, " | "))
	fmt.Fprintf(w, "|---|---|%s\n", strings.Repeat("---|", len(cols)))
	for _, rw := range r.rows {
		if rw.busy || rw.section != section {
			continue
		}
		sv, haveSv := r.median(rw.key, "svcwrap")
		var cells []string
		for _, c := range cols {
			cell := "–"
			if v := rw.vals[c]; len(v) > 0 {
				st := summarize(v)
				cell = st.cell()
				if rw.count {
					cell = st.countCell()
				}
				if !rw.noRatio && c != "svcwrap" && haveSv && st.median > 0 {
					cell += " ×" + num(sv/st.median)
				}
			}
			if n := rw.notes[c]; n != "" {
				cell += " (" + n + ")"
			}
			cells = append(cells, cell)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", rw.title, rw.unit, strings.Join(cells, " | "))
	}
}

// escapeMethod introduces the escape table.
var escapeMethod = fmt.Sprintf(`benchd -escapees %[1]d starts %[1]d processes that leave it, as a daemon's helpers
that double-fork do: each is /bin/sh started with setsid (a session of its own),
which forks a sleep and exits; each carries a marker of the run in its
environment. Once all %[1]d are there, `+"`stop`"+` is timed, call to return, and the
processes with the marker that are still alive (from /proc, zombies not counted)
are counted the moment it returns; then they are killed by PID (a pidfd, the
marker checked again) before the next round. svcwrap runs the daemon in a
cgroup of its own (CGROUP=yes, the default) and signals every member;
start-stop-daemon --stop (the LSB script) signals the pidfile's process;
supervisord has stopasgroup=true and killasgroup=true, which signal the daemon's
process group; runsv (`+"`sv stop`"+`) signals the daemon. `+"`×N`"+` after a peer's
stop time is svcwrap's median divided by the peer's.

`, escapeeCount)

// restartMethod introduces the restart table.
var restartMethod = fmt.Sprintf(``+"`restart`"+` of benchd -http, which answers each connection with a minimal HTTP
response and, on SIGTERM, closes its listening socket, answers what it accepted
and exits, while %[1]d client loops each make one connection at a time (at most
one per %[2]v per loop): connect, send a request, read the status line. Every
connection begun from %[3]v before the call to %[4]v after the later of its
return and the new daemon's listen() is counted: refused (ECONNREFUSED at
connect), reset (or any failure after connect), the p99 of connect() and of the
whole request. svcwrap LISTEN holds the socket in its watchdog and passes it to
each daemon (benchd -listen-fds: LISTEN_FDS, LISTEN_PID), READY=notify,
RESTART=overlap: the new daemon starts on the same socket and the old one is
stopped once the new one is ready. Every other column is a daemon with a socket of
its own, stopped, then started: svcwrap without LISTEN (READY tcp), `+"`sv restart`"+`,
`+"`supervisorctl restart`"+`, the LSB script's restart (start-stop-daemon --stop, then
--start; it returns before the new daemon listens). Figures are per restart.

`, restartClients, restartPace, restartBefore, restartAfter)

// readyMethod introduces the start-to-ready table.
var readyMethod = fmt.Sprintf(`How long `+"`start`"+` takes to return with the daemon ready, on a daemon that says
when it is: benchd -notify sends READY=1 on $NOTIFY_SOCKET right after listen(),
either at once or %v after its start (a daemon that reads its configuration
first). svcwrap READY=notify waits for that datagram; svcwrap READY tcp connects
to the port, pausing an eighth of the time waited so far between two connects
(250 µs to 500 ms); both are the init.d scripts of the table above, START_WAIT=0.
start-stop-daemon --start --background --notify-await --make-pidfile is run
directly, not from an init script (which adds a shell and
/lib/lsb/init-functions, as in lsb's `+"`start`"+` above). The floor is floor
notify: a minimal Go program that binds the socket, forks and execs benchd, and
returns at its READY=1 (floor's own exec excluded). Each second row is the part
of the first after the daemon was ready (benchd's clock after listen()). Every
start is checked not to return before the daemon listened. `+"`×N`"+` after a figure is
READY=notify's median divided by it.

`, readyDelays[1].delay)

// method is how the figures are taken, printed with every report.
const method = `How: bench/ (make bench) builds benchd, the daemon every system runs, and
floor, a minimal Go program; it runs under its own child subreaper (PID 1 here
does not reap orphans) and fails if any process outlives it. benchd takes the
wall-clock time in its first statement and after listen() and sends both over a
datagram socket, so respawn is timed from the SIGKILL to the new daemon's first
statement and to its port accepting, with no polling. Commands are timed from
fork to exit, output captured; the floors (a trivial Go binary's exec; a
fork+exec of benchd by floor) are sampled in the same rounds, interleaved with
every system's start, status, list and stop, and with the start-to-ready
rows (services of their own, below). svcwrap services use
START_WAIT=0, READY tcp, RESPAWN_DELAY=0, LOG=none; runit services have a
./check script (bash /dev/tcp) as readiness and a ./run that execs benchd;
supervisord programs have startsecs=0 and autorestart; the LSB script is the
Debian skeleton (start-stop-daemon --background --make-pidfile, --retry
TERM/10/KILL/5, status_of_proc). Memory is RssAnon (/proc/PID/status) and Pss
(/proc/PID/smaps_rollup) of the supervising processes (svcwrap: the watchdog;
runit: runsv; supervisord: the daemon, divided by its programs). Idle cost is
the change of utime+stime and of the context switches of all threads over the
idle window, scaled to a minute.

`
