// Command bench is `make bench`: it measures svcwrap and its peers (runit,
// supervisord, a Debian LSB init script with start-stop-daemon) side by side, in
// one run, on this machine, with the same daemon (benchd), and prints a table of
// min/median/max with ratios svcwrap/peer and svcwrap/floor, the floors (a trivial
// Go exec, one fork+exec of benchd from a minimal Go program) being measured in the
// same run, interleaved with the measurements.
//
//	bench [-quick] [-out FILE] [-svcwrap BIN] [-peers=false] [-load quiet|busy|both] [-phases LIST]
//
// The latency phase runs twice by default: on the machine as it is, then with one
// CPU hog (a busy loop) per CPU, each with its own floors. The escape phase
// (escape.go) stops a daemon that left 50 processes in sessions of their own and
// counts what is left; the restart phase (restart.go) restarts a daemon that
// serves HTTP to client loops and counts the connections refused.
//
// It runs under its own child subreaper and leaves no process behind.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

type bench struct {
	quick   bool
	svcwrap string // absolute paths of the binaries under test
	benchd  string
	floor   string
	sock    string // benchd's report socket
	tmp     string
	base    int // first TCP port
	peers   bool
	only    string
	load    string // loadQuiet, loadBusy or loadBoth: which latency phases run
	// ssdNotify: start-stop-daemon has --notify-await (dpkg 1.21+), and peers run.
	ssdNotify bool
	hub       *hub
	results   *results
	log       func(format string, args ...any)
}

// id and port of service i of system idx. The systems of the table are 0-3; the
// start-to-ready variants and their floor have indices of their own (readyIdx).
func (b *bench) id(idx, i int) int   { return idx*1000 + i }
func (b *bench) port(idx, i int) int { return b.base + idx*300 + i }

func main() {
	if os.Getenv(hogEnv) != "" {
		hog() // a CPU hog of the latency phase under load (hog.go)
	}
	if os.Getenv(innerEnv) == "" {
		os.Exit(subreaper())
	}
	os.Exit(inner())
}

func inner() int {
	var (
		quick  = flag.Bool("quick", false, "CI-sized smoke run: few samples, 8 services; checks that the harness works")
		out    = flag.String("out", "", "also write the report (markdown) to this file")
		bin    = flag.String("svcwrap", "bin/svcwrap", "the svcwrap binary under test")
		peers  = flag.Bool("peers", true, "measure the peers (runit, supervisord, LSB script) where installed and root")
		cmdStr = flag.String("cmd", "make bench", "the command line recorded in the report")
		phases = flag.String("phases", "latency,footprint,scale,escape,restart", "which phases to run (for profiling one of them)")
		load   = flag.String("load", loadBoth, "the latency phase on a quiet machine ("+loadQuiet+"), with one CPU hog per CPU ("+loadBusy+"), or both, one after the other ("+loadBoth+")")
	)
	flag.Parse()
	switch *load {
	case loadQuiet, loadBusy, loadBoth:
	default:
		fmt.Fprintf(os.Stderr, "bench: -load %q: want %s, %s or %s\n", *load, loadQuiet, loadBusy, loadBoth)
		return 2
	}
	b := &bench{quick: *quick, peers: *peers, results: newResults(), only: *phases, load: *load}
	b.log = func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	}
	code, err := b.run(*bin, *out, *cmdStr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	return code
}

func (b *bench) run(bin, out, cmdline string) (int, error) {
	var err error
	if b.svcwrap, err = filepath.Abs(bin); err != nil {
		return 1, err
	}
	if _, err := os.Stat(b.svcwrap); err != nil {
		return 1, fmt.Errorf("svcwrap binary: %v (run `make build` first)", err)
	}
	if b.tmp, err = os.MkdirTemp("", "svcwrap-bench-"); err != nil {
		return 1, err
	}
	defer os.RemoveAll(b.tmp)
	if err := b.buildHelpers(); err != nil {
		return 1, err
	}
	b.sock = filepath.Join(b.tmp, "report.sock")
	if b.hub, err = listenHub(b.sock); err != nil {
		return 1, err
	}
	defer b.hub.close()
	if b.base, err = freePorts(300 * (restartIdx + 1)); err != nil {
		return 1, err
	}
	machine := describeMachine() + "; service trees in " + describeFS(b.tmp)
	started := time.Now()
	systems := b.systemList()
	names := []string{}
	for _, s := range systems {
		names = append(names, s(0, "").Name())
	}
	b.log("systems: %s; quick=%v", strings.Join(names, ", "), b.quick)
	if err := b.phases(systems); err != nil {
		return 1, err
	}
	report := b.report(machine, cmdline, time.Since(started), names)
	fmt.Print(report)
	if out != "" {
		if err := os.WriteFile(out, []byte(report), 0o644); err != nil {
			return 1, err
		}
	}
	return 0, nil
}

// buildHelpers builds benchd and floor next to this program's source.
func (b *bench) buildHelpers() error {
	src, err := sourceDir()
	if err != nil {
		return err
	}
	for _, h := range []string{"benchd", "floor"} {
		dst := filepath.Join(b.tmp, h)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", dst, "./"+h)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", h, err, out)
		}
	}
	b.benchd, b.floor = filepath.Join(b.tmp, "benchd"), filepath.Join(b.tmp, "floor")
	return nil
}

// sourceDir finds the bench package: ./bench from the module root, or . inside it.
func sourceDir() (string, error) {
	for _, d := range []string{"bench", "."} {
		if _, err := os.Stat(filepath.Join(d, "benchd", "main.go")); err == nil {
			return filepath.Abs(d)
		}
	}
	return "", fmt.Errorf("cannot find bench/benchd/main.go: run from the module root")
}

type newSystem func(idx int, root string) system

// systemList is svcwrap and, when root and installed, its peers.
func (b *bench) systemList() []newSystem {
	list := []newSystem{func(idx int, root string) system { return &svcwrapSys{b: b, idx: idx, root: root} }}
	if !b.peers {
		return list
	}
	if os.Geteuid() != 0 {
		b.log("not root: peers skipped")
		return list
	}
	have := func(progs ...string) bool {
		for _, p := range progs {
			if _, err := exec.LookPath(p); err != nil {
				b.log("%s not installed: peer skipped (scripts/install-test-deps.sh installs it)", p)
				return false
			}
		}
		return true
	}
	if have("runsv", "sv") {
		list = append(list, func(idx int, root string) system { return &runitSys{b: b, idx: idx, root: root} })
	}
	if have("supervisord", "supervisorctl") {
		list = append(list, func(idx int, root string) system { return &supervisordSys{b: b, idx: idx, root: root} })
	}
	if _, err := os.Stat("/lib/lsb/init-functions"); err == nil && have("start-stop-daemon") {
		list = append(list, func(idx int, root string) system { return &lsbSys{b: b, idx: idx, root: root} })
	}
	if have("start-stop-daemon") {
		out, _ := exec.Command("start-stop-daemon", "--help").CombinedOutput()
		if b.ssdNotify = strings.Contains(string(out), "--notify-await"); !b.ssdNotify {
			b.log("start-stop-daemon has no --notify-await (dpkg before 1.21): not in the start-to-ready rows")
		}
	}
	return list
}

// instantiate creates fresh instances of every system, each with n services
// defined in its own temporary tree.
func (b *bench) instantiate(phase string, systems []newSystem, n int) ([]system, func(), error) {
	return b.instantiateWith(phase, systems, n, nil)
}

// instantiateWith is instantiate with tweak (when not nil) applied to each system
// before its Define (benchd's further arguments, a peer's extra settings).
func (b *bench) instantiateWith(phase string, systems []newSystem, n int, tweak func(system)) ([]system, func(), error) {
	var out []system
	closeAll := func() {
		for _, s := range out {
			if err := s.Close(); err != nil {
				b.log("%s: close: %v", s.Name(), err)
			}
		}
	}
	for idx, mk := range systems {
		root := filepath.Join(b.tmp, phase, strconv.Itoa(idx))
		s := mk(idx, root)
		if tweak != nil {
			tweak(s)
		}
		out = append(out, s)
		if err := s.Define(n); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s: define %d services: %v", s.Name(), n, err)
		}
	}
	return out, closeAll, nil
}

// ---- events from benchd ----

type event struct {
	kind string
	id   int
	pid  int
	t    time.Time // benchd's own clock reading
}

type hub struct {
	conn *net.UnixConn
	mu   sync.Mutex
	ch   map[int]chan event
	pid  map[int]int // the latest started pid of each id
}

func listenHub(path string) (*hub, error) {
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, err
	}
	c.SetReadBuffer(4 << 20)
	h := &hub{conn: c, ch: map[int]chan event{}, pid: map[int]int{}}
	go h.read()
	return h, nil
}

func (h *hub) close() { h.conn.Close() }

func (h *hub) chanFor(id int) chan event {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.ch[id]
	if c == nil {
		c = make(chan event, 1024)
		h.ch[id] = c
	}
	return c
}

func (h *hub) read() {
	buf := make([]byte, 512)
	for {
		n, _, err := h.conn.ReadFromUnix(buf)
		if err != nil {
			return
		}
		f := strings.Fields(string(buf[:n]))
		if len(f) != 4 {
			continue
		}
		id, _ := strconv.Atoi(f[1])
		pid, _ := strconv.Atoi(f[2])
		ns, _ := strconv.ParseInt(f[3], 10, 64)
		if f[0] == "start" {
			h.mu.Lock()
			h.pid[id] = pid
			h.mu.Unlock()
		}
		select {
		case h.chanFor(id) <- event{kind: f[0], id: id, pid: pid, t: time.Unix(0, ns)}:
		default:
		}
	}
}

// lastPID is the pid of the latest daemon that reported its start as id.
func (h *hub) lastPID(id int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pid[id]
}

// drain forgets the pending events of id.
func (h *hub) drain(id int) {
	c := h.chanFor(id)
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

// wait returns the next event of kind from id (skipping others), with a bound.
func (h *hub) wait(id int, kind string, bound time.Duration) (event, error) {
	c := h.chanFor(id)
	t := time.NewTimer(bound)
	defer t.Stop()
	for {
		select {
		case ev := <-c:
			if ev.kind == kind {
				return ev, nil
			}
		case <-t.C:
			return event{}, fmt.Errorf("benchd %d sent no %q event within %v", id, kind, bound)
		}
	}
}

// freePorts finds n consecutive free loopback TCP ports below the ephemeral range,
// where no client socket (a READY probe's, supervisorctl's) can take one first.
func freePorts(n int) (int, error) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				low = v
			}
		}
	}
	if low-n <= 10000 {
		return 0, fmt.Errorf("the ephemeral port range starts at %d: no room for %d ports below it", low, n)
	}
	for try := 0; try < 20; try++ {
		base := 10000 + rand.Intn(low-n-10000)
		ok := true
		for p := base; p < base+n && ok; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				ok = false
				break
			}
			ln.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no range of %d free TCP ports on 127.0.0.1", n)
}

// ---- machine ----

func describeMachine() string {
	var parts []string
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, v, _ := strings.Cut(l, ":")
				parts = append(parts, strings.TrimSpace(v))
				break
			}
		}
	}
	if out, err := exec.Command("nproc").Output(); err == nil {
		parts = append(parts, strings.TrimSpace(string(out))+" CPUs")
	}
	if m, err := procKB(os.Getpid(), "../meminfo"); err == nil {
		parts = append(parts, fmt.Sprintf("%.0f GiB RAM", m["MemTotal"]/1024/1024))
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		parts = append(parts, strings.TrimSpace(string(out)))
	}
	if b, err := os.ReadFile("/etc/debian_version"); err == nil {
		parts = append(parts, "Debian "+strings.TrimSpace(string(b)))
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		parts = append(parts, strings.TrimPrefix(strings.TrimSpace(string(out)), "go version "))
	}
	var vers []string
	for _, p := range []string{"runit", "supervisor", "dpkg", "lsb-base", "sysvinit-utils"} {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", p).Output(); err == nil && len(out) > 0 {
			vers = append(vers, p+" "+string(out))
		}
	}
	s := strings.Join(parts, ", ")
	if len(vers) > 0 {
		s += "; peers: " + strings.Join(vers, ", ")
	}
	return s
}

// describeFS names the filesystem that holds dir, from /proc/self/mounts: every
// system's run, pid and log files live there. On Debian /run is a tmpfs; on a disk
// filesystem mounted with discard, each removal of a file that has a block on
// disk (a state file, a pidfile) is a synchronous discard, which start and stop
// then include (issue 11: 0.1-0.5 ms each on a VM's virtio disk).
func describeFS(dir string) string {
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return dir
	}
	best, desc := "", dir
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 4 {
			continue
		}
		mnt := strings.ReplaceAll(f[1], "\\040", " ")
		if (dir == mnt || strings.HasPrefix(dir, strings.TrimSuffix(mnt, "/")+"/")) && len(mnt) >= len(best) {
			best = mnt
			desc = fmt.Sprintf("%s (%s on %s", dir, f[2], mnt)
			if strings.Contains(","+f[3]+",", ",discard,") {
				desc += ", mounted with discard"
			}
			desc += ")"
		}
	}
	return desc
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

var _ = sort.Float64s
