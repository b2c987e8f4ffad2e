package integration_test

// READY probes: start returns only once the probe passes (the port accepts at
// the moment start returns), or fails with the probe's last error once
// START_TIMEOUT passes, leaving nothing behind.

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadyProbes(t *testing.T) {
	cases := []struct {
		name  string
		setup func(e *Env, port int, sock string) (daemonArgs []string, ready string, check func() error)
	}{
		{"tcp", func(e *Env, port int, sock string) ([]string, string, func() error) {
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			return []string{"-listen", addr}, "tcp " + addr, func() error { return dialOnce("tcp", addr) }
		}},
		{"unix", func(e *Env, port int, sock string) ([]string, string, func() error) {
			path := filepath.Join(e.Root, "app.sock")
			return []string{"-listen-unix", path}, "unix " + path, func() error { return dialOnce("unix", path) }
		}},
		{"http", func(e *Env, port int, sock string) ([]string, string, func() error) {
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			url := "http://" + addr + "/health"
			return []string{"-listen", addr}, "http " + url, func() error {
				c := http.Client{Timeout: 5 * time.Second}
				resp, err := c.Get(url)
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					return fmt.Errorf("GET %s: %s", url, resp.Status)
				}
				return nil
			}
		}},
		{"exec", func(e *Env, port int, sock string) ([]string, string, func() error) {
			path := filepath.Join(e.Root, "app.sock")
			return []string{"-listen-unix", path}, "exec /usr/bin/test -S " + path, func() error { return dialOnce("unix", path) }
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			sock, ev := e.Reporter(t)
			args, ready, check := c.setup(e, freePort(t), sock)
			args = append(args, "-report", sock, "-listen-delay", "800ms")
			e.Script(svc, e.Daemon(args...)+"\nREADY=\""+ready+"\"\nSTART_WAIT=0\nSTART_TIMEOUT=30s\n", svcMarker(svc))
			r := e.Run(svc, "start")
			// Checked before anything else: the probe target accepts the moment start returns.
			if err := check(); err != nil {
				t.Errorf("READY %s passed but %v right after start returned", ready, err)
			}
			wantCode(t, r, 0)
			ev.WaitFor(t, 5*time.Second, func(x Event) bool { return x.Ev == "listening" })
			e.checkInvariants(t, svc, "running", "after start")
			if ent := e.Entry(t, svc); ent.State != "running" {
				t.Errorf("list after READY: %+v", ent)
			}
			wantCode(t, e.Run(svc, "stop"), 0)
			e.checkInvariants(t, svc, "stopped", "after stop")
		})
	}
}

func dialOnce(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return err
	}
	return c.Close()
}

func TestReadyProbeTimesOut(t *testing.T) {
	for _, kind := range []string{"tcp", "exec"} {
		t.Run(kind, func(t *testing.T) {
			e := newEnv(t)
			sock, ev := e.Reporter(t)
			ready := fmt.Sprintf("tcp 127.0.0.1:%d", freePort(t)) // nobody listens there
			want := "connection refused"
			if kind == "exec" {
				ready, want = "exec /bin/false", "exit status 1"
			}
			e.Script(svc, e.Daemon("-report", sock, "-stderr", "booting")+"\nREADY=\""+ready+"\"\nSTART_WAIT=0\nSTART_TIMEOUT=2s\n", svcMarker(svc))
			r := e.Run(svc, "start")
			wantCode(t, r, 1)
			if !strings.Contains(r.Stderr, "READY") || !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "booting") {
				t.Errorf("start failure should name READY, the probe's last error (%q) and the daemon's log: %s", want, r)
			}
			if r.Dur > 25*time.Second {
				t.Errorf("start took %v with START_TIMEOUT=2s", r.Dur)
			}
			st := ev.WaitFor(t, 5*time.Second, isStart)
			waitExit(t, st.Pid, 10*time.Second)
			e.checkInvariants(t, svc, "stopped", "after the failed start")
			s := e.Run(svc, "status")
			checkCode(t, s, 3)
			if !strings.Contains(s.Stdout, "READY") {
				t.Errorf("status after a failed start should give the reason: %q", s.Stdout)
			}
			if ent := e.Entry(t, svc); ent.State != "stopped" || ent.Pid != 0 || ent.WatchdogPid != 0 {
				t.Errorf("list after a failed start: %+v", ent)
			}
		})
	}
}

// TestReadyExecLeavesNothingBehind: an exec READY probe that fails and leaves a
// background process holding its output does not hold the start: START_TIMEOUT
// is honoured to within a second, the failure names the probe, and nothing of
// the probe is left.
func TestReadyExecLeavesNothingBehind(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nREADY=\"exec /bin/sh -c 'sleep 30 & exit 1'\"\nSTART_WAIT=0\nSTART_TIMEOUT=2s\n", svcMarker(svc))
	r := e.Run(svc, "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "not ready within START_TIMEOUT 2s: READY exec /bin/sh -c 'sleep 30 & exit 1': exec /bin/sh: exit status 1") {
		t.Errorf("the failure should name the probe and its last result: %s", r)
	}
	if r.Dur > 3*time.Second {
		t.Errorf("start took %v with START_TIMEOUT=2s", r.Dur)
	}
	noProcs(t, e, "after a failed start") // the probe's sleep carries the test's marker too
}
