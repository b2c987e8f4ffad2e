package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"svcwrap/proc"
	"svcwrap/safefile"
)

// Phase is what the watchdog is doing with the daemon, as the state file says.
type Phase string

const (
	PhaseStarting   Phase = "starting"   // spawned, START_WAIT/READY not passed yet; the CLI waits
	PhaseRunning    Phase = "running"    // up and supervised
	PhaseRespawning Phase = "respawning" // died (or is being restarted); a new daemon is on its way
	PhaseStopped    Phase = "stopped"    // not running on purpose (stopped, start failed, exited normally)
	PhaseFailed     Phase = "failed"     // gave up after RESPAWN_LIMIT
	PhaseDetached   Phase = "detached"   // the watchdog left on SigDetach, the daemon runs on
	PhaseLaunched   Phase = "launched"   // RESPAWN=no: started without a watchdog
)

// State is RUNDIR/NAME.state. The watchdog owns it while it lives and rewrites it
// atomically (temp file + rename) on every transition, so status and list are file
// reads plus a /proc check, with no IPC and no lock (runsv's supervise/stat design).
type State struct {
	Name     string   `json:"name"`
	Phase    Phase    `json:"phase"`
	Watchdog proc.Ref `json:"watchdog"`
	Daemon   proc.Ref `json:"daemon"`
	// Spawn is the foreground process of a FORKS=yes start or respawn in progress:
	// a daemon that PIDFILE names and that started after it is the new one, even
	// before the watchdog has found it.
	Spawn   proc.Ref `json:"spawn,omitzero"`
	PidFile string   `json:"pidfile,omitempty"`
	// StopSchedule is the definition's STOP_SCHEDULE, so that `stop` can still stop
	// the daemon gently when the definition has since become unusable.
	StopSchedule string    `json:"stop_schedule,omitempty"`
	Started      time.Time `json:"started,omitzero"` // when the current daemon started
	Respawns     int       `json:"respawns"`
	LastExit     string    `json:"last_exit,omitempty"` // "exit N", "signal NAME", "" (unknown or none)
	Reason       string    `json:"reason,omitempty"`    // why it is stopped or failed
	// HealthRestarts counts restarts of a daemon that was still running (CHECK or
	// MAX_RSS); LastRestart is the reason of the last one.
	HealthRestarts int    `json:"health_restarts,omitempty"`
	LastRestart    string `json:"last_restart,omitempty"`
	// Cgroup is the daemon's cgroup (package cgroup), "" when it has none;
	// CgroupV1 its cgroups v1 that enforce limits (a hybrid host), which a
	// stop removes.
	Cgroup   string   `json:"cgroup,omitempty"`
	CgroupV1 []string `json:"cgroup_v1,omitempty"`
	// OOMKills counts the processes of the daemon's cgroup that the kernel's
	// OOM killer ended (MEMORY_MAX), seen at the daemon's deaths.
	OOMKills int `json:"oom_kills,omitempty"`
	// Restarts counts the restarts the watchdog did (SigRestart); RestartError
	// is the last one's failure ("" when it succeeded).
	Restarts     int    `json:"restarts,omitempty"`
	RestartError string `json:"restart_error,omitempty"`
	// READY=notify: the daemon's last STATUS=, how many READY=1 the current
	// daemon sent (a reload waits for one more), and whether it said RELOADING=1
	// since the last.
	NotifyStatus string    `json:"status_text,omitempty"`
	Readies      int       `json:"readies,omitempty"`
	Reloading    bool      `json:"reloading,omitempty"`
	Updated      time.Time `json:"updated"`
}

// ErrCorrupt marks a state file that exists but cannot be decoded.
var ErrCorrupt = errors.New("corrupt state file")

// ReadState reads the state file of name; a missing file is (nil, nil).
func (f Files) ReadState(name string) (*State, error) {
	b, err := safefile.Read(f.State(name), 1<<20)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", f.State(name), ErrCorrupt, err)
	}
	return &st, nil
}

// SaveState writes the state atomically.
func (f Files) SaveState(st *State) error {
	st.Updated = time.Now()
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return safefile.Write(f.State(st.Name), append(b, '\n'), 0o644)
}

// RemoveState forgets the service's state (never its lock).
func (f Files) RemoveState(name string) { os.Remove(f.State(name)) }
