package service

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Recovery from lost or damaged run-time files. The state file is the fast path
// for status and the record of which processes belong to a service; when it is
// gone (RUNDIR removed, like a tmpfs /run after a reboot, or deleted by hand) or
// corrupt, svcwrap falls back on what the kernel knows: the watchdog's command line
// (`svcwrap __watchdog MODE NAME FILE`) and the pidfile, whose PID must run
// DAEMON's program. This scan of /proc runs only on that slow path, never in the
// common case.

// findWatchdogs lists the live watchdogs of the service defined by name and file.
func findWatchdogs(name, file string) []ProcRef {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	me := os.Getpid()
	want := [][]byte{[]byte(WatchdogArg), nil, []byte(name), []byte(file)}
	var out []ProcRef
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == me {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !bytes.Contains(b, want[0]) {
			continue
		}
		args := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		if len(args) != 5 || !bytes.Equal(args[1], want[0]) || !bytes.Equal(args[3], want[2]) || !bytes.Equal(args[4], want[3]) {
			continue
		}
		if ref, err := Identify(pid); err == nil {
			out = append(out, ref)
		}
	}
	return out
}

// watchdogOf returns the live watchdog of the service (the first found), if any.
func (s *Service) watchdogOf() (ProcRef, bool) {
	if w := findWatchdogs(s.Def.Name, s.Def.File); len(w) > 0 {
		return w[0], true
	}
	return ProcRef{}, false
}

// repairWatchdog asks a live watchdog whose state file or pidfile is missing or
// damaged to recreate RUNDIR, retake its lock and rewrite its state and pidfile
// (SIGHUP), and waits, with a bound, until the state file names it again and the
// pidfile names the daemon. Files have no event, so this is a short bounded poll.
func (s *Service) repairWatchdog(ref ProcRef) error {
	p, err := ref.Open()
	if err != nil {
		return nil // gone meanwhile
	}
	defer p.Close()
	if err := p.Signal(unix.SIGHUP); err != nil {
		return nil
	}
	deadline := time.Now().Add(watchdogStopTimeout)
	wait := 500 * time.Microsecond
	for {
		if st, err := s.Paths.ReadState(s.Def.Name); err == nil && st != nil && st.Watchdog.PID == ref.PID && st.Watchdog.Start == ref.Start {
			if s.Def.Forks || !st.Daemon.Alive() {
				return nil
			}
			if pf, err := ReadPidfile(s.Def.PidFile); err == nil && pf != nil && pf.PID == st.Daemon.PID {
				return nil
			}
		}
		if exited, _ := p.Wait(time.Now().Add(wait)); exited {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the watchdog (pid " + strconv.Itoa(ref.PID) + ") did not rewrite its state file and pidfile on SIGHUP")
		}
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// killSession stops every live process left in session sid (a watchdog that died
// before it reported: the daemon it may have started lives in its session, in its
// own process group, and may not be recorded anywhere yet).
func killSession(sid int, sched Schedule) {
	if sid <= 1 {
		return
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.Session != sid || st.dead() {
			continue
		}
		if ref, err := Identify(pid); err == nil {
			RunSchedule(ref, sched)
		}
	}
}

// orphanOf finds the daemon a dead watchdog wd left behind: a live process that
// leads its own process group (spawn: Setpgid) in wd's session and runs DAEMON's
// program. The watchdog started that session (setsid), so the session ID is wd's
// PID, which the kernel does not hand out again while the session has members. A
// live process with wd's PID and another start time means the PID was reused
// after the session ended: nothing is left then. This scans /proc, but only after
// a watchdog was killed.
func (d *Definition) orphanOf(wd ProcRef) (ProcRef, bool) {
	if wd.PID <= 1 {
		return ProcRef{}, false
	}
	if st, err := readStat(wd.PID); err == nil && st.Start != wd.Start {
		return ProcRef{}, false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return ProcRef{}, false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == wd.PID || pid == os.Getpid() {
			continue
		}
		st, err := readStat(pid)
		if err != nil || st.Session != wd.PID || st.PGID != pid || st.dead() || st.Start < wd.Start {
			continue
		}
		if ref, ok := d.matchProgram(pid); ok {
			return ref, true
		}
	}
	return ProcRef{}, false
}

// relock makes sure the watchdog's lock is held on the file that is now at path:
// after RUNDIR was removed, the lock held is on an unlinked inode, invisible to
// other commands.
func (w *watchdog) relock() {
	path := w.paths.wdLockFile(w.def.Name)
	if w.wdLock != nil {
		var held, cur unix.Stat_t
		if unix.Fstat(int(w.wdLock.Fd()), &held) == nil && unix.Stat(path, &cur) == nil &&
			held.Dev == cur.Dev && held.Ino == cur.Ino {
			return
		}
	}
	f, err := holdWatchdogLock(path)
	if err != nil {
		w.logEvent("cannot retake %s: %v", path, err)
		return
	}
	if w.wdLock != nil {
		w.wdLock.Close()
	}
	w.wdLock = f
}

// repair is the watchdog's answer to SIGHUP: recreate RUNDIR and its lock if they
// vanished, and rewrite a missing or wrong pidfile; the caller then publishes the
// state.
func (w *watchdog) repair() {
	if err := w.paths.ensureRunDir(); err != nil {
		w.logEvent("%v", err)
		return
	}
	w.relock()
	if w.def.Forks || !w.st.Daemon.Alive() {
		return
	}
	if pf, err := ReadPidfile(w.def.PidFile); err != nil || pf == nil || pf.PID != w.st.Daemon.PID {
		if err := WritePidfile(w.def.PidFile, w.st.Daemon.PID); err != nil {
			w.logEvent("cannot write pidfile: %v", err)
		}
	}
}

// killStrayForks stops what a FORKS=yes DAEMON left running when its PIDFILE never
// named it (start failed, or the watchdog was told to leave while waiting): the
// forked daemon left our session, so it is found in /proc as a process that runs
// DAEMON's program, started no earlier than the foreground process, with exactly
// the environment svcwrap gave it. Without the pidfile there is no better record.
func (w *watchdog) killStrayForks() {
	d := w.def
	if !d.Forks || w.forkStart == 0 || d.Path == "" {
		return
	}
	var prog unix.Stat_t
	if unix.Stat(d.Path, &prog) != nil {
		return
	}
	want := map[string]bool{}
	for _, kv := range d.Env {
		want[kv] = true
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		ref, err := Identify(pid)
		if err != nil || ref.Start < w.forkStart || ref.Dev != prog.Dev || ref.Ino != prog.Ino {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		env := bytes.Split(bytes.TrimRight(b, "\x00"), []byte{0})
		same := len(env) == len(want)
		for _, kv := range env {
			same = same && want[string(kv)]
		}
		if same {
			w.logEvent("stopping pid %d, left running by DAEMON (FORKS=yes) without a valid PIDFILE", pid)
			RunSchedule(ref, d.StopSchedule)
		}
	}
}

// stopLeftovers stops what is left of the process group a dead daemon led (the
// workers of an nginx whose master was killed keep its port): respawning next to
// them would run the service twice, or fail to bind forever. The group's ID stays
// reserved while it has members, so it cannot name anybody else's processes.
func (w *watchdog) stopLeftovers(pgid int) {
	if !groupAlive(pgid) {
		return
	}
	w.logEvent("stopping what is left of process group %d of the dead daemon", pgid)
	for _, step := range w.def.StopSchedule.Steps {
		if step.Signal != 0 {
			unix.Kill(-pgid, step.Signal)
		}
		if waitGroupEmpty(pgid, time.Now().Add(step.Timeout)) {
			return
		}
	}
	unix.Kill(-pgid, unix.SIGKILL)
	waitGroupEmpty(pgid, time.Now().Add(watchdogStopTimeout))
}

// awaitStart waits, bounded by START_TIMEOUT, for a start that is in progress
// without its CLI (killed, or its terminal closed) to end, and returns the state
// then. The state file has no event: this polls it with a growing interval, and
// returns early when the watchdog exits.
func (s *Service) awaitStart(cur Status) Status {
	p, err := cur.watchdog.Open()
	if err != nil {
		return s.Inspect()
	}
	defer p.Close()
	deadline := time.Now().Add(s.Def.StartTimeout + time.Second)
	wait := time.Millisecond
	for cur.State == "starting" && time.Now().Before(deadline) {
		p.Wait(time.Now().Add(wait))
		wait = min(wait*2, 100*time.Millisecond)
		cur = s.Inspect()
	}
	return cur
}
