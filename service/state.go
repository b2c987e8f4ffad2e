package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Phase is what the watchdog is doing with the daemon.
type Phase string

const (
	PhaseStarting  Phase = "starting"   // spawned, START_WAIT/READY not passed yet
	PhaseRunning   Phase = "running"    // up and supervised
	PhaseBackoff   Phase = "respawning" // died; waiting RESPAWN_DELAY before the next spawn
	PhaseStopped   Phase = "stopped"    // not running on purpose (stopped, start failed, exited normally)
	PhaseFailed    Phase = "failed"     // gave up after RESPAWN_LIMIT
	PhaseDetached  Phase = "detached"   // the watchdog exited on SIGTERM and left the daemon running
	PhaseUnwatched Phase = "launched"   // RESPAWN=no: started without a watchdog
)

// State is RUNDIR/NAME.state. The watchdog owns it while it lives and rewrites it
// atomically (temp file + rename) on every transition, so status and list are file
// reads plus a /proc check, with no IPC and no lock (runsv's supervise/stat design).
type State struct {
	Name     string  `json:"name"`
	Phase    Phase   `json:"phase"`
	Watchdog ProcRef `json:"watchdog"`
	Daemon   ProcRef `json:"daemon"`
	PidFile  string  `json:"pidfile,omitempty"`
	// StopSchedule is the definition's STOP_SCHEDULE, so that `stop` can still stop
	// the daemon gently when the definition has since become unusable.
	StopSchedule string    `json:"stop_schedule,omitempty"`
	Started      time.Time `json:"started,omitzero"` // when the current daemon started
	Respawns     int       `json:"respawns"`
	LastExit     string    `json:"last_exit,omitempty"` // "exit N", "signal NAME", "" (unknown or none)
	Reason       string    `json:"reason,omitempty"`    // why it is stopped or failed
	// HealthRestarts counts restarts of a daemon that was still running (CHECK or
	// MAX_RSS); LastRestart is the reason of the last one.
	HealthRestarts int       `json:"health_restarts,omitempty"`
	LastRestart    string    `json:"last_restart,omitempty"`
	Updated        time.Time `json:"updated"`
}

// errCorruptState marks a state file that exists but cannot be decoded.
var errCorruptState = errors.New("corrupt state file")

// ReadState reads RUNDIR/NAME.state; a missing file is (nil, nil).
func (p Paths) ReadState(name string) (*State, error) {
	b, err := ReadFileSafe(p.stateFile(name), 1<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", p.stateFile(name), errCorruptState, err)
	}
	return &st, nil
}

// SaveState writes the state atomically.
func (p Paths) SaveState(st *State) error {
	st.Updated = time.Now()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return writeAtomic(p.stateFile(st.Name), append(b, '\n'), 0o644)
}

// RemoveState forgets the service's state (never its lock).
func (p Paths) RemoveState(name string) {
	os.Remove(p.stateFile(name))
}

// writeAtomic writes data to path through a temp file renamed over it, never
// following a symlink: see WriteFileSafe.
func writeAtomic(path string, data []byte, mode uint32) error {
	return WriteFileSafe(path, data, mode)
}
