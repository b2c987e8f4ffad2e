package integration_test

// Health supervision through the real binary: CHECK restarts a hung daemon, a hung
// exec CHECK is bounded by CHECK_TIMEOUT, MAX_RSS restarts a leaking daemon, an idle
// watchdog without CHECK/MAX_RSS never wakes up, and supervision events reach the
// service log and syslog (SVCWRAP_SYSLOG).

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// healthEntry is the part of `svcwrap list --json` about health restarts.
type healthEntry struct {
	Name           string `json:"name"`
	State          string `json:"state"`
	Pid            int    `json:"pid"`
	WatchdogPid    int    `json:"watchdog_pid"`
	Respawns       int    `json:"respawns"`
	HealthRestarts int    `json:"health_restarts"`
	LastRestart    string `json:"last_restart"`
}

func (e *Env) healthEntryE(name string) (healthEntry, error) {
	r := e.Admin("list", "--json")
	if r.Err != nil || r.Code != 0 {
		return healthEntry{}, fmt.Errorf("%s", r)
	}
	var l []healthEntry
	if err := json.Unmarshal([]byte(r.Stdout), &l); err != nil {
		return healthEntry{}, fmt.Errorf("list --json: %v in %q", err, r.Stdout)
	}
	for _, ent := range l {
		if ent.Name == name {
			return ent, nil
		}
	}
	return healthEntry{}, fmt.Errorf("no %q in list --json: %s", name, r.Stdout)
}

// freePort returns a TCP port that was free a moment ago on 127.0.0.1.
// freePortStr is freePort as a string, for command lines.
func freePortStr(t *testing.T) string { return strconv.Itoa(freePort(t)) }

// waitHealthRestart waits for the first daemon's replacement (a start event of
// another pid, child of the same watchdog), for the first daemon's exit, and for
// list --json to count the restart; it returns the new start event and the entry.
func waitHealthRestart(t *testing.T, e *Env, name string, ev *Events, first Event, wd int, bound time.Duration) (Event, healthEntry) {
	t.Helper()
	st2 := ev.WaitFor(t, bound, func(x Event) bool { return x.Ev == "start" && x.Pid != first.Pid })
	if st2.Ppid != wd || st2.Pgid != st2.Pid {
		t.Errorf("restarted daemon %s; want ppid %d (the same watchdog), its own process group", st2.Raw, wd)
	}
	waitExit(t, first.Pid, 20*time.Second)
	var ent healthEntry
	eventually(t, 20*time.Second, "list --json to count the health restart", func() (bool, string) {
		var err error
		ent, err = e.healthEntryE(name)
		return err == nil && ent.HealthRestarts >= 1 && ent.LastRestart != "", fmt.Sprintf("%+v %v", ent, err)
	})
	if ent.Respawns != 0 {
		t.Errorf("respawns = %d after a health restart; want 0 (a health restart is not a crash)", ent.Respawns)
	}
	if !alive(wd) {
		t.Errorf("watchdog %d died", wd)
	}
	return st2, ent
}

// logLines returns the lines of path that match re.
func logLines(t *testing.T, path string, re *regexp.Regexp) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if re.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

func TestHealthCheckRestartsHungDaemon(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	port := freePortStr(t)
	url := "http://127.0.0.1:" + port + "/"
	// READY's connection and two checks are answered, then the daemon hangs: it
	// accepts connections and never answers, so each check times out.
	e.Script("hung", e.Daemon("-report", sock, "-listen", "127.0.0.1:"+port, "-hang-after", "3")+`
READY="tcp 127.0.0.1:`+port+`"
CHECK="http `+url+`"
CHECK_INTERVAL=200ms
CHECK_TIMEOUT=500ms
CHECK_FAILURES=2
`)
	sl := newSyslog(t, e)
	wantCode(t, e.ExecWith(ExecOpts{Env: e.CLIEnv("SVCWRAP_SYSLOG=" + sl.path)}, e.InitScript("hung"), "start"), 0)
	st1 := ev.WaitFor(t, 10*time.Second, isStart)
	wd := e.Entry(t, "hung").WatchdogPid
	_, ent := waitHealthRestart(t, e, "hung", ev, st1, wd, 30*time.Second)

	want := "health check failed: http " + url + ": timed out"
	if ent.LastRestart != want {
		t.Errorf("last_restart %q; want %q", ent.LastRestart, want)
	}
	sl.waitFor(t, 10*time.Second, regexp.MustCompile(fmt.Sprintf(rfc3164, 29)+`svcwrap/hung\[`+strconv.Itoa(wd)+`\]: `+
		regexp.QuoteMeta(fmt.Sprintf("restarting daemon (pid %d): %s", st1.Pid, want))+`$`))
	r := e.Run("hung", "status")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "last restart: "+want) {
		t.Errorf("status does not give the reason %q: %s", want, r)
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\S+ svcwrap: hung: restarting daemon \(pid ` + strconv.Itoa(st1.Pid) + `\): ` + regexp.QuoteMeta(want) + `$`)
	if got := logLines(t, e.LogPath("hung"), re); len(got) != 1 {
		t.Errorf("service log: %d lines matching %s; want 1", len(got), re)
	}
	if got := logLines(t, e.LogPath("hung"), regexp.MustCompile(`svcwrap: hung: health check failed \(1 of 2\)`)); len(got) == 0 {
		t.Errorf("service log does not record the first failed check")
	}
}

func TestHealthCheckExecTimeoutBounded(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	// The check never returns by itself: CHECK_TIMEOUT must end it (and kill it).
	e.Script("slowcheck", e.Daemon("-report", sock)+`
CHECK="exec /bin/sleep 1000"
CHECK_INTERVAL=100ms
CHECK_TIMEOUT=300ms
CHECK_FAILURES=1
`)
	wantCode(t, e.Run("slowcheck", "start"), 0)
	st1 := ev.WaitFor(t, 10*time.Second, isStart)
	wd := e.Entry(t, "slowcheck").WatchdogPid
	_, ent := waitHealthRestart(t, e, "slowcheck", ev, st1, wd, 30*time.Second)
	if want := "health check failed: exec /bin/sleep: timed out after 300ms (CHECK_TIMEOUT)"; ent.LastRestart != want {
		t.Errorf("last_restart %q; want %q", ent.LastRestart, want)
	}
	wantCode(t, e.Run("slowcheck", "stop"), 0)
	// A check that timed out was killed; the one running when stop detached the
	// watchdog dies with it (Pdeathsig).
	eventually(t, 20*time.Second, "no check command left running", func() (bool, string) {
		var left []string
		for _, p := range e.Procs() {
			if strings.Contains(p.Cmdline, "sleep") {
				left = append(left, fmt.Sprintf("%d %s", p.Pid, p.Cmdline))
			}
		}
		return len(left) == 0, strings.Join(left, "; ")
	})
}

func TestMaxRSSRestartsLeakingDaemon(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	e.Script("leaky", e.Daemon("-report", sock, "-leak", "8", "-leak-every", "100ms")+`
MAX_RSS=64M
CHECK_INTERVAL=200ms
`)
	wantCode(t, e.Run("leaky", "start"), 0)
	st1 := ev.WaitFor(t, 10*time.Second, isStart)
	wd := e.Entry(t, "leaky").WatchdogPid
	// The kernel's view: the first daemon grows past 32M before it is restarted.
	peak := 0
	eventually(t, 30*time.Second, "the first daemon's VmRSS to pass 32M", func() (bool, string) {
		s, err := procStatus(st1.Pid)
		if err != nil {
			return true, "" // restarted already
		}
		kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s["VmRSS"]), " kB"))
		peak = max(peak, kb)
		return kb > 32<<10, fmt.Sprintf("VmRSS %d kB", kb)
	})
	_, ent := waitHealthRestart(t, e, "leaky", ev, st1, wd, 60*time.Second)
	if !regexp.MustCompile(`^rss \d+M > MAX_RSS 64M$`).MatchString(ent.LastRestart) {
		t.Errorf("last_restart %q; want \"rss NM > MAX_RSS 64M\"", ent.LastRestart)
	}
	t.Logf("first daemon's VmRSS seen up to %d kB; last restart: %s", peak, ent.LastRestart)
	r := e.Run("leaky", "status")
	if !strings.Contains(r.Stdout, "last restart: rss ") || !strings.Contains(r.Stdout, "health restart") {
		t.Errorf("status does not show the MAX_RSS restart: %s", r)
	}
	if r := e.Admin("list"); !regexp.MustCompile(`(?m)^leaky .* rss \d+M > MAX_RSS 64M \(\d+ health restarts?\)$`).MatchString(r.Stdout) {
		t.Errorf("svcwrap list does not show the last restart: %s", r)
	}
	if got := logLines(t, e.LogPath("leaky"), regexp.MustCompile(`svcwrap: leaky: restarting daemon \(pid `+strconv.Itoa(st1.Pid)+`\): rss \d+M > MAX_RSS 64M$`)); len(got) != 1 {
		t.Errorf("service log: %d restart lines for pid %d; want 1", len(got), st1.Pid)
	}
}

// ctxSwitches sums the voluntary and involuntary context switches of every
// thread of pid.
func ctxSwitches(t *testing.T, pid int) int {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		if err != nil {
			continue // the thread exited
		}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				sum += n
			}
		}
	}
	return sum
}

// An idle watchdog without CHECK or MAX_RSS arms no timer (and its log watch sees
// no write): over 3 s its threads are switched in at most a handful of times. A
// watchdog with a 100ms CHECK_INTERVAL, measured over the same window, shows that
// the measurement sees timer wake-ups.
func TestIdleWatchdogDoesNotWakeUp(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	port := freePortStr(t)
	e.Script("idle", e.Daemon("-report", sock))
	e.Script("checked", e.Daemon("-report", sock, "-listen", "127.0.0.1:"+port)+`
CHECK="tcp 127.0.0.1:`+port+`"
CHECK_INTERVAL=100ms
`)
	wantCode(t, e.Run("idle", "start"), 0)
	wantCode(t, e.Run("checked", "start"), 0)
	idle, checked := e.Entry(t, "idle").WatchdogPid, e.Entry(t, "checked").WatchdogPid
	// Let start's last bits (state file, GC after start) settle: wait for both
	// daemons' start events and a quiet moment of the idle watchdog.
	ev.WaitFor(t, 10*time.Second, isStart)
	ev.WaitFor(t, 10*time.Second, isStart)
	eventually(t, 20*time.Second, "the idle watchdog to go quiet", func() (bool, string) {
		a := ctxSwitches(t, idle)
		ev.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		ev.conn.ReadFrom(make([]byte, 65536)) // a bounded wait for an event that should not come
		b := ctxSwitches(t, idle)
		return b == a, fmt.Sprintf("%d switches in 300ms", b-a)
	})

	i0, c0 := ctxSwitches(t, idle), ctxSwitches(t, checked)
	// The window: 3 s in which nothing may happen to the services.
	ev.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 65536)
	if n, _, err := ev.conn.ReadFrom(buf); err == nil {
		t.Fatalf("unexpected event during the idle window: %s", buf[:n])
	}
	i1, c1 := ctxSwitches(t, idle), ctxSwitches(t, checked)
	t.Logf("context switches in 3 s: idle watchdog %d, watchdog with CHECK_INTERVAL=100ms %d", i1-i0, c1-c0)
	if i1-i0 > 5 {
		t.Errorf("idle watchdog %d was switched in %d times in 3 s; want at most 5 (no timer, no poll)", idle, i1-i0)
	}
	if c1-c0 < 10 {
		t.Errorf("watchdog %d with CHECK_INTERVAL=100ms was switched in only %d times in 3 s: the measurement does not see wake-ups", checked, c1-c0)
	}
}

// syslogListener is a unixgram socket standing in for /dev/log. A goroutine
// reads every message at once (a real syslog daemon does not let its queue fill
// up: svcwrap drops a message it cannot send within 100ms).
type syslogListener struct {
	path string
	mu   sync.Mutex
	msgs []string
	more chan struct{}
}

func newSyslog(t *testing.T, e *Env) *syslogListener {
	t.Helper()
	path := filepath.Join(e.Root, "log.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := &syslogListener{path: path, more: make(chan struct{}, 1)}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, string(buf[:n]))
			s.mu.Unlock()
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
	}()
	return s
}

// waitFor returns the submatches of the first message (received so far or
// later) matching re, failing after bound.
func (s *syslogListener) waitFor(t *testing.T, bound time.Duration, re *regexp.Regexp) []string {
	t.Helper()
	timer := time.NewTimer(bound)
	defer timer.Stop()
	for {
		s.mu.Lock()
		msgs := s.msgs
		s.mu.Unlock()
		for _, m := range msgs {
			if sub := re.FindStringSubmatch(m); sub != nil {
				return sub
			}
		}
		select {
		case <-s.more:
		case <-timer.C:
			t.Fatalf("no syslog message matching %s within %v; %d messages, the last ones: %q", re, bound, len(msgs), msgs[max(0, len(msgs)-5):])
		}
	}
}

// rfc3164 is the header svcwrap's syslog messages start with: <PRI>Mmm dd hh:mm:ss.
const rfc3164 = `^<%d>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d `

func TestEventsGoToSyslogAndServiceLog(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	sl := newSyslog(t, e)
	e.Script("evsvc", e.Daemon("-report", sock))
	wantCode(t, e.ExecWith(ExecOpts{Env: e.CLIEnv("SVCWRAP_SYSLOG=" + sl.path)}, e.InitScript("evsvc"), "start"), 0)
	st1 := ev.WaitFor(t, 10*time.Second, isStart)
	wd := e.Entry(t, "evsvc").WatchdogPid
	if err := syscallKill(st1.Pid); err != nil {
		t.Fatal(err)
	}
	st2 := ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "start" && x.Pid != st1.Pid })
	text := fmt.Sprintf("respawned daemon (pid %d) after signal KILL", st2.Pid)
	// facility daemon (3), severity notice (5): <29>; tag svcwrap/NAME[watchdog pid]
	m := sl.waitFor(t, 10*time.Second, regexp.MustCompile(fmt.Sprintf(rfc3164, 29)+`svcwrap/evsvc\[(\d+)\]: `+regexp.QuoteMeta(text)+`$`))
	if m[1] != strconv.Itoa(wd) {
		t.Errorf("syslog tag pid %s; want the watchdog %d", m[1], wd)
	}
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\S* svcwrap: evsvc: ` + regexp.QuoteMeta(text) + `$`)
	eventually(t, 10*time.Second, "the respawn in the service log", func() (bool, string) {
		got := logLines(t, e.LogPath("evsvc"), re)
		return len(got) == 1, fmt.Sprint(got)
	})
}

func syscallKill(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}

// A watchdog that adopted a running daemon (its first watchdog was killed) checks
// it too, and replaces it, once hung, with a daemon that is its own child.
func TestHealthCheckAfterAdoption(t *testing.T) {
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	port := freePortStr(t)
	url := "http://127.0.0.1:" + port + "/"
	e.Script("adopted", e.Daemon("-report", sock, "-listen", "127.0.0.1:"+port, "-hang-on", "USR1")+`
READY="http `+url+`"
CHECK="http `+url+`"
CHECK_INTERVAL=200ms
CHECK_TIMEOUT=500ms
CHECK_FAILURES=2
`)
	wantCode(t, e.Run("adopted", "start"), 0)
	st1 := ev.WaitFor(t, 10*time.Second, isStart)
	wd1 := e.Entry(t, "adopted").WatchdogPid
	syscallKill(wd1)
	waitExit(t, wd1, 10*time.Second)
	wantCode(t, e.Run("adopted", "start"), 0)
	wd2 := e.Entry(t, "adopted").WatchdogPid
	if wd2 == wd1 || wd2 == 0 || e.Entry(t, "adopted").Pid != st1.Pid {
		t.Fatalf("no new watchdog adopted daemon %d: %+v", st1.Pid, e.Entry(t, "adopted"))
	}
	// The daemon hangs: it keeps accepting connections and never answers.
	p, _ := os.FindProcess(st1.Pid)
	p.Signal(syscall.SIGUSR1)
	_, ent := waitHealthRestart(t, e, "adopted", ev, st1, wd2, 30*time.Second)
	if want := "health check failed: http " + url + ": timed out"; ent.LastRestart != want {
		t.Errorf("last_restart %q; want %q", ent.LastRestart, want)
	}
	if got := logLines(t, e.LogPath("adopted"), regexp.MustCompile(`svcwrap: adopted: adopted running daemon \(pid `+strconv.Itoa(st1.Pid)+`\)$`)); len(got) != 1 {
		t.Errorf("service log: %d adoption lines; want 1", len(got))
	}
}
