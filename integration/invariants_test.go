package integration_test

// Invariants of a service, read from the kernel and the file system only:
// processes from /proc (daemons by a per-service marker in their environment,
// watchdogs by their command line), the command lock by a flock test, and the
// pidfile. Used by the adoption, fault-injection and storm tests.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// svcMarker is the env-file line that marks a service's daemons in /proc.
func svcMarker(name string) string { return "SWTEST_SVC=" + name }

// svcProcs is what /proc says about one service.
type svcProcs struct {
	Daemons   []int // live processes whose environment holds SWTEST_SVC=name
	Watchdogs []int // live `svcwrap __watchdog MODE NAME FILE` processes of this Env
}

func (p svcProcs) String() string {
	return fmt.Sprintf("daemons %v, watchdogs %v", p.Daemons, p.Watchdogs)
}

// serviceProcs scans /proc for the daemons and watchdogs of name.
func (e *Env) serviceProcs(name string) svcProcs {
	var out svcProcs
	marker := []byte(svcMarker(name))
	for _, p := range e.Procs() {
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.Pid))
		args := strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")
		if len(args) == 5 && args[1] == "__watchdog" && args[3] == name {
			out.Watchdogs = append(out.Watchdogs, p.Pid)
			continue
		}
		if filepath.Base(p.Exe) == "true" {
			// A custom verb's command (COMMAND_HELLO=/bin/true) gets the service's
			// environment too, marker included, for the moment it runs: not a daemon.
			continue
		}
		env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.Pid))
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, marker) {
				out.Daemons = append(out.Daemons, p.Pid)
				break
			}
		}
	}
	return out
}

// invariantErrs checks what must hold for name at any quiet moment (no command
// running): at most one daemon and one watchdog, a watchdog only with a state
// file, no held command lock, and a pidfile (when there is a supervised daemon)
// naming that daemon. want is "running", "stopped" or "" (either).
func (e *Env) invariantErrs(name, want string) []string {
	var errs []string
	p := e.serviceProcs(name)
	if len(p.Daemons) > 1 {
		errs = append(errs, fmt.Sprintf("%s: %d daemons: %v", name, len(p.Daemons), p))
	}
	if len(p.Watchdogs) > 1 {
		errs = append(errs, fmt.Sprintf("%s: %d watchdogs: %v", name, len(p.Watchdogs), p))
	}
	if holder := lockHeld(filepath.Join(e.RunDir, name+".lock")); holder != "" {
		errs = append(errs, fmt.Sprintf("%s: command lock still held with no command running: %s", name, holder))
	}
	switch want {
	case "running":
		if len(p.Daemons) != 1 || len(p.Watchdogs) != 1 {
			errs = append(errs, fmt.Sprintf("%s: want one supervised daemon, got %v", name, p))
		} else if pid, err := e.PidE(name); err != nil || pid != p.Daemons[0] {
			errs = append(errs, fmt.Sprintf("%s: pidfile names %d (%v), want the daemon %d", name, pid, err, p.Daemons[0]))
		}
	case "stopped":
		if len(p.Daemons) != 0 || len(p.Watchdogs) != 0 {
			errs = append(errs, fmt.Sprintf("%s: want nothing running, got %v", name, p))
		}
		if _, err := os.Lstat(e.PidfilePath(name)); err == nil {
			errs = append(errs, fmt.Sprintf("%s: pidfile %s left behind", name, e.PidfilePath(name)))
		}
	}
	return errs
}

// checkInvariants fails the test (and goes on) for each broken invariant.
func (e *Env) checkInvariants(t testing.TB, name, want, when string) bool {
	t.Helper()
	errs := e.invariantErrs(name, want)
	for _, s := range errs {
		t.Errorf("%s: %s", when, s)
	}
	return len(errs) == 0
}

// killPid sends SIGKILL to pid and waits for its death.
func killPid(t testing.TB, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %d: %v", pid, err)
	}
	waitExit(t, pid, 10*time.Second)
}
