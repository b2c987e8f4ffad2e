package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The restart phase: `restart` of a daemon that serves HTTP (benchd -http,
// graceful on SIGTERM) while clients connect to it in a loop; how many
// connections are refused, how many fail after connect (reset), and the p99 of
// the connect and of the whole request. svcwrap LISTEN holds the socket in its
// watchdog (benchd -listen-fds, READY=notify, RESTART=overlap); every other
// column is a daemon with a socket of its own, stopped, then started.

// restartListen is the column of svcwrap with LISTEN.
const restartListen = "svcwrap LISTEN"

// restartIdx is the index (id, port) of the svcwrap LISTEN service, after the
// start-to-ready variants.
const restartIdx = readyFloorIdx + 1

const (
	restartClients = 2                      // client loops, one connection at a time each
	restartPace    = time.Millisecond       // at most one connection per loop per restartPace
	restartBefore  = 100 * time.Millisecond // load before the restart's call
	restartAfter   = 200 * time.Millisecond // load after its return and the new daemon's listen()
)

type restartVariant struct {
	col string
	idx int
	s   system
}

func (b *bench) restartPhase(systems []newSystem, z sizes) error {
	httpArgs := func(int) string { return "-http" }
	sys, closeAll, err := b.instantiateWith("restart", systems, 1, func(s system) {
		switch s := s.(type) {
		case *svcwrapSys:
			s.extra = httpArgs
		case *runitSys:
			s.extra = httpArgs
		case *supervisordSys:
			s.extra = httpArgs
		case *lsbSys:
			s.extra = httpArgs
		}
	})
	if err != nil {
		return err
	}
	defer closeAll()
	lis := &svcwrapSys{b: b, idx: restartIdx, root: filepath.Join(b.tmp, "restart", "listen"), listenFDs: true, ready: "notify",
		extra: func(int) string { return "-http -notify" }}
	if err := lis.Define(1); err != nil {
		return fmt.Errorf("%s: define: %v", restartListen, err)
	}
	defer func() {
		if err := lis.Close(); err != nil {
			b.log("%s: close: %v", restartListen, err)
		}
	}()
	vs := []restartVariant{{restartListen, restartIdx, lis}}
	for idx, s := range sys {
		vs = append(vs, restartVariant{s.Name(), idx, s})
	}
	for _, v := range vs {
		id := b.id(v.idx, 0)
		b.hub.drain(id)
		if err := v.s.Start(0); err != nil {
			return fmt.Errorf("%s: start: %v", v.col, err)
		}
		if _, err := b.hub.wait(id, "listen", 10*time.Second); err != nil {
			return fmt.Errorf("%s: %v", v.col, err)
		}
	}
	b.log("restart under load: %d rounds", z.restart)
	for r := 0; r < z.restart; r++ {
		for _, v := range vs {
			if err := b.restartRound(v); err != nil {
				return fmt.Errorf("%s: %v", v.col, err)
			}
		}
	}
	b.results.note("restart.took", restartListen, "RESTART=overlap, READY=notify")
	b.results.note("restart.took", "svcwrap", "READY tcp")
	b.results.note("restart.took", "runit", "sv restart")
	b.results.note("restart.took", "supervisord", "supervisorctl restart")
	b.results.note("restart.took", "lsb", "returns before readiness")
	for _, v := range vs {
		if err := v.s.Stop(0); err != nil {
			return fmt.Errorf("%s: stop: %v", v.col, err)
		}
	}
	return nil
}

// restartRound restarts v's service while the client loops run, from
// restartBefore before the call to restartAfter after the later of its return
// and the new daemon's listen().
func (b *bench) restartRound(v restartVariant) error {
	id := b.id(v.idx, 0)
	r, ok := v.s.(restarter)
	if !ok {
		return fmt.Errorf("no restart")
	}
	b.hub.drain(id)
	l := startLoad(fmt.Sprintf("127.0.0.1:%d", b.port(v.idx, 0)))
	time.Sleep(restartBefore)
	t0 := time.Now()
	err := r.Restart(0)
	took := time.Since(t0)
	if err == nil {
		_, err = b.hub.wait(id, "listen", 15*time.Second)
	}
	if err == nil {
		time.Sleep(restartAfter)
	}
	res := l.end()
	if err != nil {
		return fmt.Errorf("restart: %v", err)
	}
	if res.ok == 0 {
		return fmt.Errorf("no connection succeeded (first error: %v)", res.first)
	}
	b.results.add("restart.took", v.col, ms(took))
	b.results.add("restart.conns", v.col, float64(res.ok+res.refused+res.reset))
	b.results.add("restart.refused", v.col, float64(res.refused))
	b.results.add("restart.reset", v.col, float64(res.reset))
	b.results.add("restart.failspan", v.col, ms(res.failSpan))
	b.results.add("restart.p99.connect", v.col, ms(res.p99Connect))
	b.results.add("restart.p99.request", v.col, ms(res.p99Request))
	return nil
}

// load is restartClients client loops against one address.
type load struct {
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	res  loadResult
	// every connection's connect and request time (successful ones), and the
	// span of the failed ones.
	connect, request   []time.Duration
	failFrom, failTill time.Time
}

type loadResult struct {
	ok, refused, reset     int
	p99Connect, p99Request time.Duration
	failSpan               time.Duration // first failed connection's start to the last one's end
	first                  error
}

func startLoad(addr string) *load {
	l := &load{stop: make(chan struct{})}
	for c := 0; c < restartClients; c++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			next := time.Now()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = time.Now().Add(restartPace)
				l.one(addr)
			}
		}()
	}
	return l
}

// one is one connection: connect, send a request, read the status line.
func (l *load) one(addr string) {
	t0 := time.Now()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	tc := time.Since(t0)
	if err == nil {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err = io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err == nil {
			var line string
			line, err = bufio.NewReader(conn).ReadString('\n')
			if err == nil && !strings.Contains(line, " 200 ") {
				err = fmt.Errorf("answer %q", line)
			}
		}
	}
	end := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case err == nil:
		l.res.ok++
		l.connect = append(l.connect, tc)
		l.request = append(l.request, end.Sub(t0))
		return
	case conn == nil && errors.Is(err, syscall.ECONNREFUSED):
		l.res.refused++
	default: // reset, or any failure after connect (or a connect timeout)
		l.res.reset++
	}
	if l.res.first == nil {
		l.res.first = err
	}
	if l.failFrom.IsZero() || t0.Before(l.failFrom) {
		l.failFrom = t0
	}
	if end.After(l.failTill) {
		l.failTill = end
	}
}

// end stops the loops and sums them up.
func (l *load) end() loadResult {
	close(l.stop)
	l.wg.Wait()
	r := l.res
	r.p99Connect, r.p99Request = p99(l.connect), p99(l.request)
	if !l.failFrom.IsZero() {
		r.failSpan = l.failTill.Sub(l.failFrom)
	}
	return r
}

// p99 is the 99th percentile (nearest rank) of v, 0 for none.
func p99(v []time.Duration) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := (99*len(s) + 99) / 100 // ceil(0.99 n)
	return s[k-1]
}
