package service

import (
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

// A watchdog lives as long as its service, one per service: what it keeps after
// the start is what every service costs. Its private memory is mostly the Go
// runtime's: the heap the start left behind, and for every OS thread a 16 kB
// system stack and a 32 kB signal stack. So the watchdog runs with one P from its
// first instruction (fewer threads are ever made), no allocation profiling, waits
// for its daemon through the netpoller instead of a thread blocked in wait4. It
// forces no collection after the start: measured, a debug.FreeOSMemory there left
// an idle watchdog with ~280 kB more RssAnon than none (968 vs 1248 kB), and
// ~560 kB more once the runtime's periodic 2-minute GC had run (1004 vs 1564 kB):
// a forced GC touches the collector's own structures, and what it hands back is
// faulted in again. See "Footprint" in docs/design.md.

// watchdogEnv is the environment of a watchdog process: svcwrap's own, plus runtime
// settings that must be in force before main (GOMAXPROCS is read at startup;
// runtime.GOMAXPROCS later only idles Ps whose threads exist already;
// memprofilerate=0 keeps the profiler's bucket table untouched). The daemon never
// sees them: it gets the service environment.
func watchdogEnv() []string {
	return append(svcwrapEnv(), "GOMAXPROCS=1", "GOGC=50", "GODEBUG=memprofilerate=0")
}

// waitChild waits for our child cmd to exit and reaps it. The wait is on a pidfd
// registered with the netpoller, so no OS thread sits blocked in wait4 for the
// daemon's whole life; without a pidfd it falls back to cmd.Wait alone.
func waitChild(cmd *exec.Cmd) {
	if fd, err := unix.PidfdOpen(cmd.Process.Pid, unix.PIDFD_NONBLOCK); err == nil {
		// The pid is our unreaped child: it cannot have been reused.
		p := &Proc{f: os.NewFile(uintptr(fd), "pidfd")}
		for {
			if exited, err := p.Wait(time.Time{}); exited || err != nil {
				break
			}
		}
		p.Close()
	}
	cmd.Wait()
}
