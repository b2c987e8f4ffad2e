package integration_test

// The storm: for STRESS_TIME (default 8s; `make stress` runs 60s), a few
// workers run random verbs (start, stop, restart, try-restart, reload,
// force-reload, status, a custom verb) on several services at once while a
// fault injector SIGKILLs random CLIs, watchdogs and daemons. Throughout, a
// sampler checks from /proc that no service ever has two daemons; every
// command must finish within its bound with an expected exit code. After the
// storm every service gets a final start or stop, and must end exactly in the
// state that command implies: one supervised daemon (pidfile naming it) or
// nothing, no stray watchdog, no held lock. The counts are printed; any
// invariant violation fails the test.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func stressTime(t *testing.T) time.Duration {
	s := os.Getenv("STRESS_TIME")
	if s == "" {
		return 8 * time.Second
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("STRESS_TIME=%q: want a duration like 60s", s)
	}
	return d
}

// stormVerbs are the verbs workers pick from, with the exit codes each may
// end with under faults (137 when the injector killed the CLI itself).
var stormVerbs = []struct {
	verb   string
	weight int
	codes  []int
}{
	{"start", 25, []int{0, 1}}, // 1: its watchdog was killed before it reported
	{"stop", 20, []int{0}},
	{"restart", 12, []int{0, 1}},
	{"try-restart", 5, []int{0, 1}},
	{"reload", 10, []int{0, 1, 7}}, // 1: the injector killed the daemon while reload watched it
	{"force-reload", 5, []int{0, 1, 7}},
	{"status", 15, []int{0, 1, 3, 4}}, // 4: a corrupt state file and nothing running
	{"hello", 8, []int{0}},
}

type stormStats struct {
	commands, faults, violations atomic.Int64
	mu                           sync.Mutex
	messages                     []string
	tally                        map[string]int // "verb exit N" -> count
	failures                     []string       // a sample of non-zero exits, for the log
}

func (s *stormStats) record(verb string, r Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tally == nil {
		s.tally = map[string]int{}
	}
	s.tally[fmt.Sprintf("%s exit %d", verb, r.Code)]++
	if r.Code != 0 && r.Code != 137 && verb != "status" && verb != "reload" && verb != "force-reload" && len(s.failures) < 10 {
		s.failures = append(s.failures, r.String())
	}
}

func (s *stormStats) violation(format string, args ...any) {
	s.violations.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.messages) < 50 {
		s.messages = append(s.messages, fmt.Sprintf(format, args...))
	}
}

func TestStress(t *testing.T) {
	e := newEnv(t)
	rng := seededRand(t)
	var rngMu sync.Mutex
	randn := func(n int) int {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Intn(n)
	}
	dur := stressTime(t)
	const nsvc, workers = 3, 6
	var names []string
	for i := 0; i < nsvc; i++ {
		name := fmt.Sprintf("storm%d", i)
		body := e.Daemon() + "\nSTART_WAIT=100ms\nRESPAWN_DELAY=10ms\nRESPAWN_LIMIT=1000/60s\nRELOAD_SIGNAL=HUP\nCOMMAND_HELLO=/bin/true\n"
		if i == nsvc-1 { // one service with a READY probe
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			body = e.Daemon("-listen", addr) + "\nREADY=\"tcp " + addr + "\"\nSTART_WAIT=0\nRESPAWN_DELAY=10ms\nRESPAWN_LIMIT=1000/60s\nRELOAD_SIGNAL=HUP\nCOMMAND_HELLO=/bin/true\n"
		}
		if i%2 == 0 {
			e.Script(name, body, svcMarker(name))
		} else {
			e.Symlink(name, body, svcMarker(name))
		}
		names = append(names, name)
	}
	total := 0
	for _, v := range stormVerbs {
		total += v.weight
	}
	pick := func() (string, []int) {
		n := randn(total)
		for _, v := range stormVerbs {
			if n < v.weight {
				return v.verb, v.codes
			}
			n -= v.weight
		}
		panic("unreachable")
	}

	var stats stormStats
	var inflight sync.Map // *asyncCmd -> struct{}
	// RUNDIR vanishes at a reboot, when no command runs: removing it under a
	// command that holds its lock file lets the next command lock a new file, so
	// two commands would run at once (a documented limit, not a fault svcwrap can
	// meet). The injector removes it only between commands.
	var reboot sync.RWMutex
	stop := make(chan struct{})
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup

	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				name := names[randn(nsvc)]
				verb, codes := pick()
				reboot.RLock()
				a := e.runAsync(t, name, verb)
				inflight.Store(a, struct{}{})
				r := a.wait(t)
				inflight.Delete(a)
				reboot.RUnlock()
				stats.commands.Add(1)
				stats.record(verb, r)
				ok := r.Err == nil && (containsInt(codes, r.Code) || r.Code == 128+int(syscall.SIGKILL))
				if !ok {
					stats.violation("%s: unexpected result: %s", name, r)
				}
				if strings.Contains(r.Output(), "panic") || strings.Contains(r.Output(), "goroutine ") {
					stats.violation("%s: a panic: %s", name, r)
				}
			}
		}()
	}

	// The fault injector.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Now().Before(deadline) {
			tm := time.NewTimer(time.Duration(50+randn(250)) * time.Millisecond)
			<-tm.C
			name := names[randn(nsvc)]
			p := e.serviceProcs(name)
			switch randn(6) {
			case 0: // a CLI in flight
				var victims []*asyncCmd
				inflight.Range(func(k, _ any) bool { victims = append(victims, k.(*asyncCmd)); return true })
				if len(victims) > 0 {
					victims[randn(len(victims))].cmd.Process.Kill()
					stats.faults.Add(1)
				}
			case 1:
				if len(p.Watchdogs) > 0 {
					syscall.Kill(p.Watchdogs[randn(len(p.Watchdogs))], syscall.SIGKILL)
					stats.faults.Add(1)
				}
			case 2:
				if len(p.Daemons) > 0 {
					syscall.Kill(p.Daemons[randn(len(p.Daemons))], syscall.SIGKILL)
					stats.faults.Add(1)
				}
			case 3: // a deleted pidfile
				if os.Remove(e.PidfilePath(name)) == nil {
					stats.faults.Add(1)
				}
			case 4: // a corrupt state file (written in place, as a broken disk or editor would)
				if os.WriteFile(filepath.Join(e.RunDir, name+".state"), []byte("{\"name\":"), 0o644) == nil {
					stats.faults.Add(1)
				}
			case 5: // RUNDIR vanishes, like a tmpfs /run after a reboot (between commands)
				if randn(4) == 0 {
					reboot.Lock()
					if os.RemoveAll(e.RunDir) == nil {
						stats.faults.Add(1)
					}
					reboot.Unlock()
				}
			}
		}
	}()

	// The sampler: never two daemons for one service.
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, name := range names {
				if p := e.serviceProcs(name); len(p.Daemons) > 1 {
					// A daemon SIGKILLed a moment ago may still be exiting: look again.
					if p2 := e.serviceProcs(name); len(p2.Daemons) > 1 && overlap(p.Daemons, p2.Daemons) > 1 {
						stats.violation("%s: two daemons at once: %v", name, p2)
					}
				}
			}
			tm := time.NewTimer(20 * time.Millisecond)
			select {
			case <-stop:
				tm.Stop()
				return
			case <-tm.C:
			}
		}
	}()

	wg.Wait()
	close(stop)
	<-sampled

	// The final command decides the state.
	for _, name := range names {
		settle(t, e, name)
		verb, want, code := "start", "running", 0
		if randn(2) == 0 {
			verb, want, code = "stop", "stopped", 3
		}
		stats.commands.Add(1)
		if r := e.Run(name, verb); r.Err != nil || r.Code != 0 {
			stats.violation("%s: final %s: %s", name, verb, r)
		}
		for _, msg := range e.invariantErrs(name, want) {
			stats.violation("after the final %s: %s", verb, msg)
		}
		if r := e.Run(name, "status"); r.Code != code {
			stats.violation("%s: status after the final %s: %s", name, verb, r)
		}
	}

	summary := fmt.Sprintf("stress: %v, %d services, %d workers: %d commands run, %d faults injected, %d invariant violations",
		dur, nsvc, workers, stats.commands.Load(), stats.faults.Load(), stats.violations.Load())
	fmt.Println(summary)
	t.Log(summary)
	t.Logf("exit codes: %v", stats.tally)
	for _, f := range stats.failures {
		t.Logf("sample failure (expected under faults): %s", f)
	}
	for _, m := range stats.messages {
		t.Error(m)
	}
}

// overlap counts the pids present in both lists.
func overlap(a, b []int) int {
	n := 0
	for _, x := range a {
		if containsInt(b, x) {
			n++
		}
	}
	return n
}
