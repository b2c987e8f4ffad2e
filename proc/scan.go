package proc

import (
	"os"
	"strconv"
)

// Each calls fn for the PID of every process in /proc but svcwrap's own, until fn
// returns false. Scanning /proc is svcwrap's slow path (recovery after a lost state
// file or a killed watchdog, a group whose zombies keep kill(2) answering); the
// common case never scans.
func Each(fn func(pid int) bool) {
	f, err := os.Open("/proc")
	if err != nil {
		return
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	me := os.Getpid()
	for _, n := range names {
		if n[0] < '1' || n[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(n)
		if err != nil || pid == me {
			continue
		}
		if !fn(pid) {
			return
		}
	}
}
