package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The escape phase: `stop` of a daemon that left escapeeCount processes behind,
// each in a session of its own (benchd -escapees: /bin/sh started with setsid
// forks a sleep and exits), and how many of them are left when stop returns.
// svcwrap (CGROUP=yes, the default) signals its cgroup; start-stop-daemon signals
// the pidfile's process; supervisord with stopasgroup and killasgroup its process
// group; runsv the daemon. What a stop leaves is killed (by PID, from /proc)
// before the next round.

// escapeeCount is how many escapees each daemon of the escape phase starts.
const escapeeCount = 50

// escapeeEnv is the variable that marks an escapee: its value is the benchmark's
// report socket (unique to the run), a colon and the daemon's id (benchd/main.go
// has the same name).
const escapeeEnv = "SVCWRAP_BENCH_ESCAPEE"

// escapeeMark is the marker of the escapees of daemon id ("" + prefix: of any).
func (b *bench) escapeeMark(id int) string { return b.sock + ":" + strconv.Itoa(id) }

// supervisordGroup is what the escape phase adds to each supervisord program.
const supervisordGroup = "stopasgroup=true\nkillasgroup=true\n"

func (b *bench) escapePhase(systems []newSystem, z sizes) error {
	args := func(int) string { return fmt.Sprintf("-escapees %d", escapeeCount) }
	sys, closeAll, err := b.instantiateWith("escape", systems, 1, func(s system) {
		switch s := s.(type) {
		case *svcwrapSys:
			s.extra = args
		case *runitSys:
			s.extra = args
		case *supervisordSys:
			s.extra, s.progConf = args, supervisordGroup
		case *lsbSys:
			s.extra = args
		}
	})
	if err != nil {
		return err
	}
	defer closeAll()
	defer killEscapees(b.sock + ":") // what a failed round left
	b.log("escape: %d rounds, %d escapees per daemon", z.escape, escapeeCount)
	for r := 0; r < z.escape; r++ {
		for idx, s := range sys {
			if err := b.escapeRound(idx, s); err != nil {
				return fmt.Errorf("%s: %v", s.Name(), err)
			}
		}
	}
	b.results.note("escape.left", "svcwrap", "CGROUP=yes")
	b.results.note("escape.left", "supervisord", "stopasgroup, killasgroup")
	b.results.note("escape.left", "lsb", "start-stop-daemon --stop")
	b.results.note("escape.left", "runit", "sv stop")
	return nil
}

// escapeRound starts the daemon, waits until its escapees are all there, times
// its stop, counts the escapees alive when stop returned, then kills them.
func (b *bench) escapeRound(idx int, s system) error {
	id := b.id(idx, 0)
	mark := b.escapeeMark(id)
	b.hub.drain(id)
	if err := s.Start(0); err != nil {
		return fmt.Errorf("start: %v", err)
	}
	st, err := b.hub.wait(id, "start", 10*time.Second)
	if err != nil {
		return err
	}
	if _, err := b.hub.wait(id, "escaped", 30*time.Second); err != nil {
		return err
	}
	if n := len(escapees(mark)); n != escapeeCount {
		return fmt.Errorf("%d escapees before stop, want %d", n, escapeeCount)
	}
	t0 := time.Now()
	if err := s.Stop(0); err != nil {
		return fmt.Errorf("stop: %v", err)
	}
	took := time.Since(t0)
	left := len(escapees(mark))
	b.results.add("escape.stop", s.Name(), ms(took))
	b.results.add("escape.left", s.Name(), float64(left))
	if err := b.gone(st.pid); err != nil {
		return err
	}
	return killEscapees(mark)
}

// escapees lists the live processes (not zombies) whose environment has
// escapeeEnv=mark, or a value that starts with mark when mark ends in ':'.
func escapees(mark string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !marked(pid, mark) {
			continue
		}
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// marked reports whether process pid has escapeeEnv=mark in its environment
// (a prefix of the value when mark ends in ':').
func marked(pid int, mark string) bool {
	env, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	want := escapeeEnv + "=" + mark
	for _, kv := range bytes.Split(env, []byte{0}) {
		if string(kv) == want || (strings.HasSuffix(mark, ":") && bytes.HasPrefix(kv, []byte(want))) {
			return true
		}
	}
	return false
}

// killEscapees kills every escapee of mark with SIGKILL, by PID: through a pidfd
// opened before the marker is checked again, so a PID reused in between is never
// signalled. It waits (bounded) until none is left; the benchmark's subreaper
// reaps them.
func killEscapees(mark string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := escapees(mark)
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("escapees %v still alive 10 s after SIGKILL", pids)
		}
		for _, pid := range pids {
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue // gone already
			}
			if marked(pid, mark) {
				unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
			}
			unix.Close(fd)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
