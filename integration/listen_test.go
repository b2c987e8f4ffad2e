package integration_test

// LISTEN: the watchdog holds the listening sockets, so that restart, respawn
// and a failed restart refuse no connection; without LISTEN, restart has a gap
// (the test shows it is real).

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// clients runs connections to addr in a loop, one at a time, until stop is
// closed, and counts those that fail (refused, reset, no answer).
type clients struct {
	ok, failed, refused atomic.Int64
	firstErr            atomic.Value
	stop                chan struct{}
	wg                  sync.WaitGroup
}

func startClients(addr string) *clients { return startClientsIn(addr, nil) }

// startClientsIn is startClients from a thread that enter (when not nil) has
// put in another network namespace first; the thread dies with the loop.
func startClientsIn(addr string, enter func() error) *clients {
	c := &clients{stop: make(chan struct{})}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		if enter != nil {
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			if err := enter(); err != nil {
				c.failed.Add(1)
				c.firstErr.CompareAndSwap(nil, err.Error())
				return
			}
		}
		for {
			select {
			case <-c.stop:
				return
			default:
			}
			if err := get(addr); err != nil {
				c.failed.Add(1)
				if errors.Is(err, syscall.ECONNREFUSED) {
					c.refused.Add(1)
				}
				c.firstErr.CompareAndSwap(nil, err.Error())
			} else {
				c.ok.Add(1)
			}
		}
	}()
	return c
}

// until runs the loop for at least n successful connections more (bounded).
func (c *clients) until(t *testing.T, n int64) {
	t.Helper()
	want := c.ok.Load() + n
	eventually(t, 30*time.Second, fmt.Sprintf("%d more connections", n), func() (bool, string) {
		return c.ok.Load() >= want, fmt.Sprint(c.ok.Load())
	})
}

// phase fails the test if a connection failed since the last phase, and
// starts the next one.
func (c *clients) phase(t *testing.T, what string) {
	t.Helper()
	if n := c.failed.Swap(0); n != 0 {
		first, _ := c.firstErr.Load().(string)
		t.Errorf("%s: %d connections failed (first: %s); want none", what, n, first)
	}
}

func (c *clients) end() (ok, failed int64, first string) {
	close(c.stop)
	c.wg.Wait()
	s, _ := c.firstErr.Load().(string)
	return c.ok.Load(), c.failed.Load(), s
}

func get(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET / HTTP/1.0\r\n\r\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.Contains(line, " 200 ") && !strings.Contains(line, " 404 ") {
		return fmt.Errorf("answer %q", line)
	}
	return nil
}

func TestListenZeroRefused(t *testing.T) {
	e := newEnv(t)
	addr := freeAddr(t)
	sock, ev := e.Reporter(t)
	e.Script(svc, e.Daemon("-report", sock, "-listen-fds", "-notify-after", "50ms")+
		"\nLISTEN=\"tcp "+addr+"\"\nREADY=notify\nSTART_WAIT=0\nRESPAWN_DELAY=0\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, wd := supervised(t, e, svc)
	if env := envOf(t, pid); env["LISTEN_FDS"] != "1" || env["LISTEN_FDNAMES"] != "tcp:"+addr {
		t.Errorf("LISTEN_FDS %q LISTEN_FDNAMES %q", env["LISTEN_FDS"], env["LISTEN_FDNAMES"])
	}
	if exe := procExe(pid); exe != e.TDaemon {
		t.Errorf("the daemon runs %s, not %s (the exec shim must be gone)", exe, e.TDaemon)
	}
	c := startClients(addr)
	c.until(t, 200)
	// restart: the new daemon first, on the same socket; the watchdog stays.
	wantCode(t, e.Run(svc, "restart"), 0)
	waitExit(t, pid, 10*time.Second)
	pid2, wd2 := supervised(t, e, svc)
	if pid2 == pid || wd2 != wd {
		t.Errorf("restart: daemon %d -> %d, watchdog %d -> %d; want a new daemon under the same watchdog", pid, pid2, wd, wd2)
	}
	c.until(t, 200)
	c.phase(t, "restart")
	// kill -9: connections wait in the backlog for the respawned daemon. The
	// one the killed daemon had accepted, if any, is reset: nothing can answer
	// it; none is refused.
	syscall.Kill(pid2, syscall.SIGKILL)
	ev.WaitFor(t, 10*time.Second, func(x Event) bool { return x.Ev == "listening-fds" && x.Pid != pid && x.Pid != pid2 })
	c.until(t, 200)
	if n := c.failed.Swap(0); n > 1 || c.refused.Load() != 0 {
		t.Errorf("kill -9: %d connections failed, %d refused; want at most the one in flight, none refused", n, c.refused.Load())
	}
	for i := 0; i < 3; i++ {
		wantCode(t, e.Run(svc, "restart"), 0)
		c.until(t, 200)
		c.phase(t, "restart again")
	}
	ok, _, _ := c.end()
	if ok < 2000 {
		t.Errorf("only %d connections", ok)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("something listens after stop")
	}
	noProcs(t, e, "after stop")
}

// A new daemon that fails leaves the old one serving, and restart says so.
func TestListenRestartFails(t *testing.T) {
	e := newEnv(t)
	addr := freeAddr(t)
	e.Script(svc, e.Daemon("-listen-fds", "-notify-after", "50ms", "-die-at-start=${DIE:-}")+
		"\nLISTEN=\"tcp "+addr+"\"\nREADY=notify\nSTART_WAIT=0\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	c := startClients(addr)
	c.until(t, 100)
	e.WriteEnvFile(svc, svcMarker(svc), "DIE=broken-config")
	r := e.Run(svc, "restart")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, fmt.Sprintf("serves on")) || !strings.Contains(r.Stderr, fmt.Sprint(pid)) {
		t.Errorf("restart with a failing new daemon: %s", r)
	}
	if got, _ := supervised(t, e, svc); got != pid {
		t.Errorf("the old daemon %d was replaced by %d", pid, got)
	}
	c.until(t, 100)
	ok, failed, first := c.end()
	if failed != 0 {
		t.Errorf("%d of %d connections failed (first: %s)", failed, ok+failed, first)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	noProcs(t, e, "after stop")
}

// Without LISTEN, restart stops, then starts: connections are refused meanwhile.
func TestRestartGapWithoutListen(t *testing.T) {
	e := newEnv(t)
	addr := freeAddr(t)
	e.Script(svc, e.Daemon("-listen", addr)+"\nREADY=\"tcp "+addr+"\"\nSTART_WAIT=0\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	c := startClients(addr)
	c.until(t, 50)
	for i := 0; i < 3; i++ {
		wantCode(t, e.Run(svc, "restart"), 0)
		c.until(t, 50)
	}
	_, failed, first := c.end()
	if failed == 0 {
		t.Error("no connection failed across three restarts without LISTEN: the gap LISTEN closes was not seen")
	}
	t.Logf("without LISTEN: %d connections failed across 3 restarts (first: %s)", failed, first)
	wantCode(t, e.Run(svc, "stop"), 0)
}

// A port in use: start fails at once, names the holder, leaves nothing.
func TestListenInUse(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e.Script(svc, e.Daemon("-listen-fds")+"\nLISTEN=\"tcp "+ln.Addr().String()+"\"\n", svcMarker(svc))
	r := e.Run(svc, "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "address already in use, by pid "+fmt.Sprint(os.Getpid())) {
		t.Errorf("start on a port in use: %s", r)
	}
	noProcs(t, e, "after a failed start")
}

// A unix socket: made with its mode, passed by name, removed by stop.
func TestListenUnix(t *testing.T) {
	e := newEnv(t)
	path := e.Root + "/app.sock"
	e.Script(svc, e.Daemon("-listen-fds")+"\nLISTEN=\"unix "+path+":0660\"\n", svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket %v %v", fi, err)
	}
	if env := envOf(t, pid); env["LISTEN_FDNAMES"] != "app.sock" {
		t.Errorf("LISTEN_FDNAMES %q", env["LISTEN_FDNAMES"])
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("the socket is left after stop: %v", err)
	}
	noProcs(t, e, "after stop")
}
