package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// sizes of one run.
type sizes struct {
	rounds      int           // interleaved samples of each command latency
	youngPeer   int           // samples of a young daemon's respawn for peers that wait 1 s
	footprint   int           // services running together for the footprint
	old         int           // daemons killed after they ran longer than the quick-death window
	idle        time.Duration // idle window (also ages the daemons past 10 s)
	scale       int           // services in the scale phase
	parallel    int
	listSamples int
	escape      int // rounds of the escape phase (escape.go)
	restart     int // rounds of the restart phase (restart.go)
}

func (b *bench) sizes() sizes {
	if b.quick {
		return sizes{rounds: 3, youngPeer: 1, footprint: 4, old: 2, idle: 11 * time.Second, scale: 8, parallel: 4, listSamples: 2, escape: 3, restart: 3}
	}
	return sizes{rounds: 21, youngPeer: 3, footprint: 50, old: 15, idle: 30 * time.Second, scale: 200, parallel: 16, listSamples: 7, escape: 11, restart: 11}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (b *bench) phases(systems []newSystem) error {
	z := b.sizes()
	b.results.setSizes(z)
	b.results.load[0] = loadavg()
	if strings.Contains(b.only, "latency") {
		if b.load != loadBusy {
			if err := b.latencyPhase(systems, z, "latency"); err != nil {
				return fmt.Errorf("latency phase: %v", err)
			}
		}
		if b.load != loadQuiet {
			if err := b.busyLatencyPhase(systems, z); err != nil {
				return fmt.Errorf("latency phase under load: %v", err)
			}
		}
	}
	if !strings.Contains(b.only, "footprint") {
	} else if err := b.footprintPhase(systems, z); err != nil {
		return fmt.Errorf("footprint phase: %v", err)
	}
	if !strings.Contains(b.only, "scale") {
	} else if err := b.scalePhase(systems, z); err != nil {
		return fmt.Errorf("scale phase: %v", err)
	}
	if !strings.Contains(b.only, "escape") {
	} else if err := b.escapePhase(systems, z); err != nil {
		return fmt.Errorf("escape phase: %v", err)
	}
	if !strings.Contains(b.only, "restart") {
	} else if err := b.restartPhase(systems, z); err != nil {
		return fmt.Errorf("restart phase: %v", err)
	}
	b.results.load[1] = loadavg()
	return nil
}

// floorExec is one exec of a trivial Go binary, from call to return.
func (b *bench) floorExec() error {
	t0 := time.Now()
	if _, err := run(baseEnv(), b.floor); err != nil {
		return err
	}
	b.results.add("floor.exec", "floor", ms(time.Since(t0)))
	return nil
}

// floorSpawn is one fork+exec of benchd by a minimal Go program: from the moment
// before the fork to benchd's first statement.
func (b *bench) floorSpawn() error {
	const id = 999999
	b.hub.drain(id)
	cmd := exec.Command(b.floor, "spawn", b.benchd, "-id", strconv.Itoa(id), "-report", b.sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer waitCmd(cmd, 10*time.Second)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return fmt.Errorf("floor spawn: %v", err)
	}
	ns, _ := strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	ev, err := b.hub.wait(id, "start", 10*time.Second)
	if err != nil {
		cmd.Process.Kill()
		return err
	}
	b.results.add("floor.spawn", "floor", ms(ev.t.Sub(time.Unix(0, ns))))
	syscall.Kill(ev.pid, syscall.SIGTERM)
	return nil
}

// busyLatencyPhase is the latency phase again (its own trees, its own floors)
// while one CPU hog per CPU runs (hog.go); its figures are recorded under
// busySuffix.
func (b *bench) busyLatencyPhase(systems []newSystem, z sizes) error {
	hogs, err := startHogs(runtime.NumCPU())
	if err != nil {
		return err
	}
	defer hogs.stop()
	b.results.setBusy(true, len(hogs.cmds), loadavg())
	defer b.results.setBusy(false, 0, "")
	b.log("latency under load: %d CPU hogs", len(hogs.cmds))
	return b.latencyPhase(systems, z, "latency-busy")
}

// latencyPhase: one service per system; interleaved rounds of start, status,
// list, stop and the floors, and of the start-to-ready rows (ready.go); then the
// respawn of a young daemon.
func (b *bench) latencyPhase(systems []newSystem, z sizes, tree string) error {
	sys, closeAll, err := b.instantiate(tree, systems, 1)
	if err != nil {
		return err
	}
	defer closeAll()
	vs, closeReady, err := b.readyVariants(tree)
	if err != nil {
		return err
	}
	defer closeReady()
	b.log("latency: %d rounds", z.rounds)
	for r := 0; r < z.rounds; r++ {
		if err := b.floorExec(); err != nil {
			return err
		}
		if err := b.floorSpawn(); err != nil {
			return err
		}
		for idx, s := range sys {
			if err := b.startStopRound(idx, s); err != nil {
				return fmt.Errorf("%s: %v", s.Name(), err)
			}
		}
		if err := b.readyRound(vs); err != nil {
			return fmt.Errorf("start to ready: %v", err)
		}
	}
	b.results.note("start", "lsb", "returns before readiness")
	b.results.note("start.ready", "lsb", "returns before readiness")
	b.results.note("start", "supervisord", "startsecs=0: no readiness")
	b.results.note("start.ready", "supervisord", "startsecs=0: no readiness")
	// A young daemon (younger than svcwrap's 10 s quick-death window, runit's 1 s).
	b.log("respawn of a young daemon")
	for idx, s := range sys {
		if !s.Respawns() {
			continue
		}
		id := b.id(idx, 0)
		b.hub.drain(id)
		if err := s.Start(0); err != nil {
			return fmt.Errorf("%s: start: %v", s.Name(), err)
		}
		if _, err := b.hub.wait(id, "listen", 10*time.Second); err != nil {
			return fmt.Errorf("%s: %v", s.Name(), err)
		}
	}
	// Back to back per system: each daemon killed is the one just respawned (runit
	// waits 1 s only for a daemon younger than 1 s). Each is killed once it is
	// youngAge old: young for every system, and past svcwrap's 10 ms rate limit of
	// RESPAWN_DELAY=0, which is a crash-loop guard, not part of a respawn.
	for idx, s := range sys {
		born := time.Now()
		for r := 0; r < z.rounds; r++ {
			if !s.Respawns() || (s.Name() != "svcwrap" && r >= z.youngPeer) {
				continue
			}
			time.Sleep(time.Until(born.Add(youngAge)))
			st, err := b.respawnOnce(idx, 0, s, "respawn.young")
			if err != nil {
				return fmt.Errorf("%s: %v", s.Name(), err)
			}
			born = st
		}
	}
	for _, s := range sys {
		if s.Respawns() {
			if err := s.Stop(0); err != nil {
				return fmt.Errorf("%s: stop: %v", s.Name(), err)
			}
		}
	}
	return nil
}

// startStopRound: start (minus the daemon's own time to listen), status and list
// while it runs, stop (call to return, the daemon gone).
func (b *bench) startStopRound(idx int, s system) error {
	name, id := s.Name(), b.id(idx, 0)
	b.hub.drain(id)
	t0 := time.Now()
	if err := s.Start(0); err != nil {
		return fmt.Errorf("start: %v", err)
	}
	took := time.Since(t0)
	st, err := b.hub.wait(id, "start", 10*time.Second)
	if err != nil {
		return err
	}
	ln, err := b.hub.wait(id, "listen", 10*time.Second)
	if err != nil {
		return err
	}
	b.results.add("start", name, ms(took-ln.t.Sub(st.t)))
	b.results.add("start.ready", name, ms(t0.Add(took).Sub(ln.t)))

	t0 = time.Now()
	if err := s.Status(0); err != nil {
		return fmt.Errorf("status: %v", err)
	}
	b.results.add("status", name, ms(time.Since(t0)))

	t0 = time.Now()
	if err := s.List(); err == nil {
		b.results.add("list.1", name, ms(time.Since(t0)))
	} else if err != errNA {
		return fmt.Errorf("list: %v", err)
	}

	t0 = time.Now()
	if err := s.Stop(0); err != nil {
		return fmt.Errorf("stop: %v", err)
	}
	b.results.add("stop", name, ms(time.Since(t0)))
	return b.gone(st.pid) // LSB's daemon is an orphan
}

// respawnOnce kills service i's daemon with SIGKILL and measures the time to the
// new daemon's first statement, and to its port accepting again.
// youngAge is how long a "young" daemon has run when the bench kills it.
const youngAge = 20 * time.Millisecond

// respawnOnce kills service i's daemon and times its respawn; it returns when the
// new daemon started.
func (b *bench) respawnOnce(idx, i int, s system, key string) (time.Time, error) {
	id := b.id(idx, i)
	pid := b.hub.lastPID(id)
	if pid == 0 || !alive(pid) {
		return time.Time{}, fmt.Errorf("service %d: no live daemon to kill", i)
	}
	b.hub.drain(id)
	t0 := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return time.Time{}, err
	}
	st, err := b.hub.wait(id, "start", 15*time.Second)
	if err != nil {
		return time.Time{}, fmt.Errorf("respawn: %v", err)
	}
	ln, err := b.hub.wait(id, "listen", 15*time.Second)
	if err != nil {
		return time.Time{}, fmt.Errorf("respawn: %v", err)
	}
	b.results.add(key, s.Name(), ms(st.t.Sub(t0)))
	b.results.add(key+".listen", s.Name(), ms(ln.t.Sub(t0)))
	return st.t, nil
}

// footprintPhase: z.footprint services per system; memory of one supervisor and
// of all together; idle cost over z.idle; then, the daemons being older than the
// quick-death window, the respawn of old daemons.
func (b *bench) footprintPhase(systems []newSystem, z sizes) error {
	sys, closeAll, err := b.instantiate("footprint", systems, z.footprint)
	if err != nil {
		return err
	}
	defer closeAll()
	b.log("footprint: starting %d services per system", z.footprint)
	for i := 0; i < z.footprint; i++ {
		for idx, s := range sys {
			b.hub.drain(b.id(idx, i))
			if err := s.Start(i); err != nil {
				return fmt.Errorf("%s: start %d: %v", s.Name(), i, err)
			}
		}
	}
	for i := 0; i < z.footprint; i++ {
		for idx, s := range sys {
			if _, err := b.hub.wait(b.id(idx, i), "listen", 20*time.Second); err != nil {
				return fmt.Errorf("%s: %v", s.Name(), err)
			}
		}
	}
	allUp := time.Now()
	for _, s := range sys {
		one := s.Supervisors(0)
		if one == nil {
			b.results.note("mem.anon.1", s.Name(), "no supervisor")
			continue
		}
		var anon, pss float64
		for _, p := range one {
			a, ps, err := footprint(p)
			if err != nil {
				return fmt.Errorf("%s: footprint of %d: %v", s.Name(), p, err)
			}
			anon, pss = anon+a, pss+ps
		}
		b.results.add("mem.anon.1", s.Name(), anon)
		b.results.add("mem.pss.1", s.Name(), pss)
		seen := map[int]bool{}
		var tanon, tpss float64
		for i := 0; i < z.footprint; i++ {
			for _, p := range s.Supervisors(i) {
				if seen[p] {
					continue
				}
				seen[p] = true
				a, ps, err := footprint(p)
				if err != nil {
					return fmt.Errorf("%s: footprint of %d: %v", s.Name(), p, err)
				}
				tanon, tpss = tanon+a, tpss+ps
			}
		}
		n := float64(z.footprint)
		b.results.add("mem.anon.n", s.Name(), tanon/n)
		b.results.add("mem.pss.n", s.Name(), tpss/n)
	}
	// An idle Go program for reference: benchd itself.
	if pid := b.hub.lastPID(b.id(0, 0)); pid != 0 {
		if a, ps, err := footprint(pid); err == nil {
			b.results.add("mem.anon.1", "idle Go (benchd)", a)
			b.results.add("mem.pss.1", "idle Go (benchd)", ps)
		}
	}
	for _, bin := range []struct{ sys, path string }{
		{"svcwrap", b.svcwrap}, {"runit", "/usr/bin/runsv"}, {"lsb", "/sbin/start-stop-daemon"},
		{"idle Go (benchd)", b.benchd},
	} {
		if fi, err := os.Stat(bin.path); err == nil {
			b.results.add("size", bin.sys, float64(fi.Size())/1024)
		}
	}
	b.results.note("size", "runit", "runsv; sv is separate")
	b.results.note("size", "supervisord", "Python")

	// Idle cost of the supervisor of service 0 (supervisord: the whole daemon).
	b.log("idle window: %v", z.idle)
	type watch struct {
		sys  string
		pid  int
		from idleSample
	}
	var watches []watch
	for _, s := range sys {
		for _, p := range s.Supervisors(0) {
			if v, err := threadsIdle(p); err == nil {
				watches = append(watches, watch{s.Name(), p, v})
			}
		}
	}
	if pid := b.hub.lastPID(b.id(0, 0)); pid != 0 {
		if v, err := threadsIdle(pid); err == nil {
			watches = append(watches, watch{"idle Go (benchd)", pid, v})
		}
	}
	idleEnd := time.NewTimer(z.idle) // the window itself is the measurement
	<-idleEnd.C
	for _, w := range watches {
		v, err := threadsIdle(w.pid)
		if err != nil {
			return fmt.Errorf("%s: idle: %v", w.sys, err)
		}
		perMin := float64(time.Minute) / float64(z.idle)
		b.results.add("idle.ticks", w.sys, (v.ticks-w.from.ticks)*perMin)
		b.results.add("idle.ctxsw", w.sys, (v.ctxsw-w.from.ctxsw)*perMin)
	}
	b.results.note("idle.ticks", "supervisord", fmt.Sprintf("one process for %d programs", z.footprint))

	// Old daemons: every one has run longer than 10 s by now.
	if age := time.Since(allUp); age < 10*time.Second {
		return fmt.Errorf("internal: daemons only %v old", age)
	}
	b.log("respawn of %d old daemons per system", z.old)
	for i := 0; i < z.old; i++ {
		for idx, s := range sys {
			if !s.Respawns() {
				continue
			}
			if _, err := b.respawnOnce(idx, i, s, "respawn.old"); err != nil {
				return fmt.Errorf("%s: %v", s.Name(), err)
			}
		}
	}
	return nil
}

// scalePhase: z.scale services per system: list them stopped; start them all
// sequentially, list them running, stop them sequentially; then the same start
// and stop z.parallel at a time.
func (b *bench) scalePhase(systems []newSystem, z sizes) error {
	sys, closeAll, err := b.instantiate("scale", systems, z.scale)
	if err != nil {
		return err
	}
	defer closeAll()
	for idx, s := range sys {
		name := s.Name()
		b.log("scale: %s, %d services", name, z.scale)
		// timeList times z.listSamples runs of s.List under key.
		timeList := func(key string) error {
			for k := 0; k < z.listSamples; k++ {
				t0 := time.Now()
				if err := s.List(); err == errNA {
					return nil
				} else if err != nil {
					return fmt.Errorf("%s: list: %v", name, err)
				}
				b.results.add(key, name, ms(time.Since(t0)))
			}
			return nil
		}
		if err := timeList("list.n.stopped"); err != nil {
			return err
		}
		seq := func(key string, fn func(int) error) error {
			t0 := time.Now()
			for i := 0; i < z.scale; i++ {
				if err := fn(i); err != nil {
					return fmt.Errorf("%s: %s %d: %v", name, key, i, err)
				}
			}
			b.results.add(key, name, time.Since(t0).Seconds())
			return nil
		}
		par := func(key string, fn func(int) error) error {
			t0 := time.Now()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var first error
			next := make(chan int)
			for w := 0; w < z.parallel; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range next {
						if err := fn(i); err != nil {
							mu.Lock()
							if first == nil {
								first = fmt.Errorf("%s: %s %d: %v", name, key, i, err)
							}
							mu.Unlock()
						}
					}
				}()
			}
			for i := 0; i < z.scale; i++ {
				next <- i
			}
			close(next)
			wg.Wait()
			b.results.add(key, name, time.Since(t0).Seconds())
			return first
		}
		// Every daemon must be up before the stops (an LSB script's start returns
		// before its daemon wrote the pidfile; a stop then would miss it).
		allUp := func() error {
			for i := 0; i < z.scale; i++ {
				if _, err := b.hub.wait(b.id(idx, i), "listen", 30*time.Second); err != nil {
					return fmt.Errorf("%s: %v", name, err)
				}
			}
			return nil
		}
		for i := 0; i < z.scale; i++ {
			b.hub.drain(b.id(idx, i))
		}
		if err := seq("scale.start.seq", s.Start); err != nil {
			return err
		}
		if err := allUp(); err != nil {
			return err
		}
		if m, ok := s.(metricser); ok {
			// metrics and list in interleaved samples: the same load for both.
			for k := 0; k < z.listSamples; k++ {
				t0 := time.Now()
				if err := m.Metrics(); err != nil {
					return fmt.Errorf("%s: metrics: %v", name, err)
				}
				b.results.add("metrics.n.running", name, ms(time.Since(t0)))
				t0 = time.Now()
				if err := s.List(); err != nil {
					return fmt.Errorf("%s: list: %v", name, err)
				}
				b.results.add("list.n.running", name, ms(time.Since(t0)))
			}
		} else if err := timeList("list.n.running"); err != nil {
			return err
		}
		if err := seq("scale.stop.seq", s.Stop); err != nil {
			return err
		}
		if err := par("scale.start.par", s.Start); err != nil {
			return err
		}
		if err := allUp(); err != nil {
			return err
		}
		if err := par("scale.stop.par", s.Stop); err != nil {
			return err
		}
	}
	return nil
}
