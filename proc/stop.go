package proc

import (
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Step is one step of a stop schedule: send Signal (none when 0), then wait up to
// Timeout for the process to exit and its group to empty.
type Step struct {
	Signal  unix.Signal
	Timeout time.Duration
}

// Forever is the timeout of a step that waits without a bound (STOP_SCHEDULE's
// "forever"): about 36 years, small enough that a few of them still add up
// without overflow.
const Forever = time.Duration(1 << 60)

// FinalKill bounds how long Stop waits after the SIGKILL that WithFinalKill adds.
const FinalKill = 5 * time.Second

// WithFinalKill is steps followed by SIGKILL and a wait of FinalKill, unless the
// last signal already is SIGKILL. It is for stops nobody asked for and whose
// survivors would break the service (what a dead daemon's group left behind
// before its respawn): there the schedule's end is not the end of trying.
func WithFinalKill(steps []Step) []Step {
	for i := len(steps) - 1; i >= 0; i-- {
		if steps[i].Signal != 0 {
			if steps[i].Signal == unix.SIGKILL {
				return steps
			}
			break
		}
	}
	return append(append([]Step(nil), steps...), Step{Signal: unix.SIGKILL, Timeout: FinalKill})
}

// Target is what Stop stops: a process (Ref; its PID is 0 when it is gone
// already) and the process group it leads (Group; 0 for the process alone).
// Exited, when set, is closed once the process has exited and been reaped by its
// parent (the watchdog's own child): then the group's emptiness is answered by
// kill(2) alone, without a zombie leader to scan past.
type Target struct {
	Ref    Ref
	Group  int
	Exited <-chan struct{}
	// Members, when set, is the service's cgroup: every step's signal reaches
	// each of its processes (a helper in a session of its own included), the
	// stop waits for it to empty, and what the schedule left is killed.
	Members Members
}

// Members is a set of processes that signals reach all at once and that says
// when it is empty: a cgroup (package cgroup).
type Members interface {
	Populated() bool
	Signal(unix.Signal)
	WaitEmpty(deadline time.Time) bool
	Kill() error
}

// TargetOf is the target that stops ref and, when ref leads its process group,
// the whole group.
func TargetOf(ref Ref) Target {
	t := Target{Ref: ref}
	if st, err := ReadStat(ref.PID); err == nil && st.PGID == ref.PID {
		t.Group = ref.PID
	}
	return t
}

// StillRunning is Stop's error: something is left after the last step.
type StillRunning struct{ What string }

func (e *StillRunning) Error() string { return e.What + " still runs" }

// Stop runs a stop schedule on t: each step's signal goes to the whole group when
// there is one (its children stop with it), else to the process through a pidfd;
// then Stop waits, up to the step's timeout, for the process to exit (on its
// pidfd or Exited: an event, no sleep) and for the group to empty (polled with a
// short bounded backoff: the kernel has no event for an empty process group). It
// returns nil once nothing is left, *StillRunning after the last step, and at once
// when nothing runs.
func Stop(t Target, steps []Step) error {
	exited := t.Ref.PID <= 0
	var h *Handle
	if !exited && t.Exited == nil {
		var err error
		if h, err = t.Ref.Open(); err != nil {
			exited = true
		} else {
			defer h.Close()
		}
	}
	// With Members (a cgroup), the stop also waits for every member, and what
	// is left after the last step is killed at once with cgroup.kill: nothing
	// escapes. The process itself is still awaited through its pidfd: one that
	// is not a member (adopted from before its cgroup) counts too.
	m := t.Members
	gone := func(deadline time.Time) bool {
		if !exited {
			exited = waitExit(h, t.Exited, deadline)
		}
		return exited && (m == nil || m.WaitEmpty(deadline)) && (t.Group == 0 || WaitGroupEmpty(t.Group, deadline))
	}
	if exited && (m == nil || !m.Populated()) && (t.Group == 0 || !GroupAlive(t.Group)) {
		return nil
	}
	for _, step := range steps {
		deadline := time.Now().Add(step.Timeout)
		if step.Signal != 0 {
			if t.Group != 0 {
				unix.Kill(-t.Group, step.Signal)
			} else if h != nil {
				h.Signal(step.Signal)
			}
			if m != nil {
				m.Signal(step.Signal)
			}
		}
		if gone(deadline) {
			return nil
		}
	}
	if m != nil {
		if m.Populated() {
			m.Kill()
			if gone(time.Now().Add(FinalKill)) {
				return nil
			}
		}
		if exited {
			return &StillRunning{"the service's cgroup"}
		}
		return &StillRunning{"pid " + strconv.Itoa(t.Ref.PID)}
	}
	if t.Group != 0 {
		return &StillRunning{"process group " + strconv.Itoa(t.Group)}
	}
	return &StillRunning{"pid " + strconv.Itoa(t.Ref.PID)}
}

func waitExit(h *Handle, exited <-chan struct{}, deadline time.Time) bool {
	if exited == nil {
		ok, _ := h.Wait(deadline)
		return ok
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	select {
	case <-exited:
		return true
	case <-t.C:
		return false
	}
}
