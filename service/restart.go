package service

import (
	"time"

	"svcwrap/lsb"
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
	// No event reaches the CLI: the state file is polled, with a growing
	// interval, bounded by the start, the stop of the old daemon and a margin.
	deadline := time.Now().Add(d.StartTimeout + d.StopBound() + stopMargin)
	for wait := time.Millisecond; ; wait = min(wait*2, 50*time.Millisecond) {
		if cur, err := s.files().ReadState(d.Name); err == nil && cur != nil && cur.Restarts > before {
			if cur.RestartError != "" {
				return true, lsb.Errorf(lsb.Failed, "restart failed; the daemon (pid %d) serves on: %s", cur.Daemon.PID, cur.RestartError)
			}
			return true, nil
		}
		if exited, _ := h.Wait(time.Now().Add(wait)); exited {
			return true, lsb.Errorf(lsb.Failed, "the watchdog (pid %d) exited during the restart", st.Watchdog.PID)
		}
		if time.Now().After(deadline) {
			return true, lsb.Errorf(lsb.Failed, "the watchdog did not finish the restart of pid %d within %v", old, d.StartTimeout+d.StopBound()+stopMargin)
		}
	}
}
