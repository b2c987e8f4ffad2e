package service

import (
	"errors"
	"time"

	"svcwrap/lsb"
	"svcwrap/proc"
	"svcwrap/protocol"
)

// RestartInPlace restarts a LISTEN service through its watchdog, which keeps its
// sockets (protocol.SigRestart): no connection is refused meanwhile. It reports
// false, doing nothing, when that cannot be done (no LISTEN, no running daemon,
// or a watchdog of another binary): the caller then stops and starts. The
// caller holds the lock and has run the GUARD.
func (s *Service) RestartInPlace() (bool, error) {
	d := s.Def
	if len(d.Listen) == 0 {
		return false, nil
	}
	st, err := s.files().ReadState(d.Name)
	if err != nil || st == nil || st.Phase != protocol.PhaseRunning || !st.Watchdog.Alive() || !st.Daemon.Alive() || !sameBinary(st.Watchdog) {
		return false, nil
	}
	h, err := st.Watchdog.Open()
	if err != nil {
		return false, nil
	}
	defer h.Close()
	before, old := st.Restarts, st.Daemon.PID
	if err := h.Signal(protocol.SigRestart); err != nil {
		return false, nil
	}
	// Bounded by the start, the stop of the old daemon and a margin.
	bound := d.StartTimeout + d.StopBound() + stopMargin
	cur, err := s.awaitState(h, time.Now().Add(bound), func(cur *protocol.State) bool { return cur.Restarts > before })
	switch {
	case err == errExited:
		return true, lsb.Errorf(lsb.Failed, "the watchdog (pid %d) exited during the restart", st.Watchdog.PID)
	case err == errTimedOut:
		return true, lsb.Errorf(lsb.Failed, "the watchdog did not finish the restart of pid %d within %v", old, bound)
	case cur.RestartError != "":
		return true, lsb.Errorf(lsb.Failed, "restart failed; the daemon (pid %d) serves on: %s", cur.Daemon.PID, cur.RestartError)
	}
	return true, nil
}

var (
	errExited   = errors.New("exited")
	errTimedOut = errors.New("timed out")
)

// awaitState polls the state file until done says so (no event reaches the
// CLI from the watchdog), with a growing interval up to 50 ms, while h's
// process lives (errExited), until deadline (errTimedOut).
func (s *Service) awaitState(h *proc.Handle, deadline time.Time, done func(*protocol.State) bool) (*protocol.State, error) {
	for wait := time.Millisecond; ; wait = min(wait*2, 50*time.Millisecond) {
		if st, err := s.files().ReadState(s.Def.Name); err == nil && st != nil && done(st) {
			return st, nil
		}
		if exited, _ := h.Wait(time.Now().Add(wait)); exited {
			return nil, errExited
		}
		if time.Now().After(deadline) {
			return nil, errTimedOut
		}
	}
}
