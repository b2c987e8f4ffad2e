package watchdog

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/safefile"
)

// repair is the watchdog's answer to SigRepair, and to a state file it could not
// write: recreate RUNDIR and its lock if they vanished (rm -rf, a tmpfs /run
// remounted), and rewrite a missing or wrong pidfile; the caller then publishes
// the state.
func (w *world) repair(daemon proc.Ref) {
	if err := w.files.Ensure(); err != nil {
		w.logEvent(err.Error())
		return
	}
	w.relock()
	if w.def.Forks || !daemon.Alive() {
		return
	}
	if pf, err := safefile.ReadPidfile(w.def.PidFile); err != nil || pf == nil || pf.PID != daemon.PID {
		w.writePidfile(daemon.PID)
	}
}

// relock makes sure the watchdog's lock is held on the file that is now at its
// path: after RUNDIR was removed, the lock held is on an unlinked inode, invisible
// to other commands.
func (w *world) relock() {
	path := w.files.WatchdogLock(w.def.Name)
	if safefile.SameFile(w.wdLock, path) {
		return
	}
	f, err := safefile.HoldLock(path, wdLockWait)
	if err != nil {
		w.logEvent(fmt.Sprintf("cannot retake %s: %v", path, err))
		return
	}
	if w.wdLock != nil {
		w.wdLock.Close()
	}
	w.wdLock = f
	self, _ := proc.Identify(os.Getpid())
	protocol.NameHolder(f, self)
}

// stopStrayForks stops what a FORKS=yes DAEMON left running when its PIDFILE
// never named it (the start failed, or the watchdog was told to leave while
// waiting): the forked daemon left our session, so it is found in /proc as a
// process that runs DAEMON's program, started no earlier than the foreground
// process (fgStart), with exactly the environment svcwrap gave it. Without the
// pidfile there is no better record.
func (w *world) stopStrayForks(fgStart uint64) {
	d := w.def
	if fgStart == 0 || d.Path == "" {
		return
	}
	want := map[string]bool{}
	for _, kv := range d.Env {
		want[kv] = true
	}
	proc.Each(func(pid int) bool {
		ref, err := proc.Identify(pid)
		if err != nil || ref.Start < fgStart || !ref.SameExe(d.Path) {
			return true
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/environ")
		if err != nil {
			return true
		}
		env := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		same := len(env) == len(want)
		for _, kv := range env {
			same = same && want[string(kv)]
		}
		if same {
			w.logEvent(fmt.Sprintf("stopping pid %d, left running by DAEMON (FORKS=yes) without a valid PIDFILE", pid))
			proc.Stop(proc.TargetOf(ref), d.StopSchedule.Steps)
		}
		return true
	})
}
