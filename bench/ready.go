package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The start-to-ready rows: `start`, call to return, of a daemon that says when it
// is ready (benchd -notify: READY=1 on $NOTIFY_SOCKET right after listen()),
// under svcwrap READY=notify, svcwrap READY tcp and start-stop-daemon
// --notify-await, against floor notify: a fork+exec of benchd by a minimal Go
// program that returns at its READY=1. They are part of the latency phase: the
// same rounds, quiet and under load.

// The columns of the start-to-ready rows (the systems their figures are kept
// under; the floor's is refFloor).
const (
	readyNotify = "svcwrap READY=notify"
	readyTCP    = "svcwrap READY tcp"
	readySSD    = "start-stop-daemon --notify-await"
)

// readyCols are the start-to-ready columns, in order; ratios are to the first.
var readyCols = []string{readyNotify, readyTCP, readySSD, refFloor}

// readyDelays: benchd's pause between its start and listen() in each pair of
// start-to-ready rows (-delay): none, and a short one, as a daemon that reads its
// configuration first. The tcp probe's pause between connects grows with the wait
// (probe.Interval: an eighth of it), so the second shows the polling.
var readyDelays = []struct {
	key   string
	delay time.Duration
}{
	{"ready.now", 0},
	{"ready.slow", 20 * time.Millisecond},
}

// The indices (ids, ports) of the start-to-ready variants, after the systems of
// the table (0-3): svcwrap READY=notify, svcwrap READY tcp, start-stop-daemon, and
// the floor's daemon.
const (
	readyIdx      = 4
	readyFloorIdx = readyIdx + 3
)

// readyID is the id of the floor's daemon (floorSpawn's is 999999).
const readyID = 999998

// starter is what a start-to-ready variant does.
type starter interface {
	Name() string
	Define(n int) error
	Start(i int) error
	Stop(i int) error
	Close() error
}

type readyVariant struct {
	col string // one of readyCols
	idx int
	s   starter
}

// readyArgs are benchd's further arguments for service i of a variant (one
// service per delay).
func readyArgs(i int) string { return "-delay " + readyDelays[i].delay.String() + " -notify" }

// readyVariants defines the start-to-ready services under tree, one per delay in
// each variant; start-stop-daemon only where it has --notify-await (and peers run
// as root).
func (b *bench) readyVariants(tree string) ([]readyVariant, func(), error) {
	root := func(name string) string { return filepath.Join(b.tmp, tree, name) }
	vs := []readyVariant{
		{readyNotify, readyIdx, &svcwrapSys{b: b, idx: readyIdx, root: root("ready-notify"), ready: "notify", extra: readyArgs}},
		{readyTCP, readyIdx + 1, &svcwrapSys{b: b, idx: readyIdx + 1, root: root("ready-tcp"), extra: readyArgs}},
	}
	if b.ssdNotify {
		vs = append(vs, readyVariant{readySSD, readyIdx + 2, &ssdSys{b: b, idx: readyIdx + 2, root: root("ready-ssd"), extra: readyArgs}})
	} else {
		for _, d := range readyDelays {
			b.results.note(d.key, readySSD, "not run: needs root, peers and dpkg 1.21+")
		}
	}
	var defined []readyVariant
	closeAll := func() {
		for _, v := range defined {
			if err := v.s.Close(); err != nil {
				b.log("%s: close: %v", v.col, err)
			}
		}
	}
	for _, v := range vs {
		defined = append(defined, v)
		if err := v.s.Define(len(readyDelays)); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("%s: define: %v", v.col, err)
		}
	}
	return vs, closeAll, nil
}

// readyRound is one round of the start-to-ready rows: per delay, the floor, then
// each variant's start (timed) and stop.
func (b *bench) readyRound(vs []readyVariant) error {
	for i := range readyDelays {
		if err := b.floorReady(i); err != nil {
			return err
		}
		for _, v := range vs {
			if err := b.startToReady(v, i); err != nil {
				return fmt.Errorf("%s: %v", v.col, err)
			}
		}
	}
	return nil
}

// startToReady times the start of service i of v, call to return, which must not
// return before the daemon is ready (listens, and has sent READY=1 if it was
// asked to), and then stops it.
func (b *bench) startToReady(v readyVariant, i int) error {
	id, key := b.id(v.idx, i), readyDelays[i].key
	b.hub.drain(id)
	t0 := time.Now()
	if err := v.s.Start(i); err != nil {
		return fmt.Errorf("start: %v", err)
	}
	took := time.Since(t0)
	end := t0.Add(took)
	st, err := b.hub.wait(id, "start", 10*time.Second)
	if err != nil {
		return err
	}
	ln, err := b.hub.wait(id, "listen", 10*time.Second)
	if err != nil {
		return err
	}
	if ln.t.After(end) {
		return fmt.Errorf("start returned %v before the daemon listened", ln.t.Sub(end))
	}
	b.results.add(key, v.col, ms(took))
	b.results.add(key+".after", v.col, ms(end.Sub(ln.t)))
	if err := v.s.Stop(i); err != nil {
		return fmt.Errorf("stop: %v", err)
	}
	return b.gone(st.pid)
}

// gone waits (bounded) until the daemon pid is no more: an orphan (a daemon
// start-stop-daemon put in the background) is reaped by the subreaper an
// instant after it exits.
func (b *bench) gone(pid int) error {
	if !alive(pid) {
		return nil
	}
	return poll(5*time.Second, fmt.Sprintf("daemon %d to be gone after stop", pid), func() bool { return !alive(pid) })
}

// floorReady is one run of floor notify with the daemon of delay i: from the
// moment before the fork to floor's receipt of READY=1, and from the daemon's
// listen() to that receipt.
func (b *bench) floorReady(i int) error {
	key := readyDelays[i].key
	b.hub.drain(readyID)
	args := []string{"notify", filepath.Join(b.tmp, "floor-notify.sock"), b.benchd,
		"-id", strconv.Itoa(readyID), "-report", b.sock, "-listen", fmt.Sprintf("127.0.0.1:%d", b.port(readyFloorIdx, 0))}
	cmd := exec.Command(b.floor, append(args, strings.Fields(readyArgs(i))...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer waitCmd(cmd, 10*time.Second)
	rd := bufio.NewReader(out)
	var ns [2]int64
	for k := range ns {
		line, err := rd.ReadString('\n')
		if err != nil {
			cmd.Process.Kill()
			return fmt.Errorf("floor notify: %v", err)
		}
		ns[k], _ = strconv.ParseInt(strings.TrimSpace(line), 10, 64)
	}
	st, err := b.hub.wait(readyID, "start", 10*time.Second)
	if err != nil {
		cmd.Process.Kill()
		return err
	}
	ln, err := b.hub.wait(readyID, "listen", 10*time.Second)
	if err != nil {
		syscall.Kill(st.pid, syscall.SIGKILL)
		return err
	}
	got := time.Unix(0, ns[1])
	b.results.add(key, refFloor, ms(got.Sub(time.Unix(0, ns[0]))))
	b.results.add(key+".after", refFloor, ms(got.Sub(ln.t)))
	syscall.Kill(st.pid, syscall.SIGTERM)
	return nil
}
