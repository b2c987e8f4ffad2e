package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
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
	Name     string    `json:"name"`
	Phase    Phase     `json:"phase"`
	Watchdog ProcRef   `json:"watchdog"`
	Daemon   ProcRef   `json:"daemon"`
	PidFile  string    `json:"pidfile,omitempty"`
	Started  time.Time `json:"started,omitzero"` // when the current daemon started
	Respawns int       `json:"respawns"`
	LastExit string    `json:"last_exit,omitempty"` // "exit N", "signal NAME", "" (unknown or none)
	Reason   string    `json:"reason,omitempty"`    // why it is stopped or failed
	Updated  time.Time `json:"updated"`
}

// errCorruptState marks a state file that exists but cannot be decoded.
var errCorruptState = errors.New("corrupt state file")

// ReadState reads RUNDIR/NAME.state; a missing file is (nil, nil).
func (p Paths) ReadState(name string) (*State, error) {
	b, err := os.ReadFile(p.stateFile(name))
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

// writeAtomic writes data to path through a sibling temp file created with
// O_EXCL|O_NOFOLLOW and renamed over path: a reader sees the old or the new file,
// never a torn one, and a symlink planted at either name is never followed (rename
// replaces a symlink at path instead of writing through it).
func writeAtomic(path string, data []byte, mode uint32) error {
	dir, base := filepath.Split(path)
	var tmp string
	var fd int
	var err error
	for i := 0; i < 10; i++ {
		tmp = filepath.Join(dir, "."+base+"."+strconv.Itoa(os.Getpid())+"."+strconv.Itoa(i))
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
		os.Remove(tmp) // left by a crashed svcwrap with our PID; O_EXCL keeps this safe
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	if err := f.Chmod(os.FileMode(mode)); err != nil { // the umask must not weaken or strengthen it
		f.Close()
		os.Remove(tmp)
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}
