package watchdog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/cgroup"
	"svcwrap/definition"
	"svcwrap/notify"
	"svcwrap/probe"
	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/run"
	"svcwrap/safefile"
)

// world is the machine's effects on the real system. Its fields belong to the
// loop goroutine; the goroutines it starts only send events.
type world struct {
	def    *definition.Definition
	paths  definition.Paths
	files  protocol.Files
	rep    *protocol.Reporter
	events chan any
	sigc   chan os.Signal

	log      *os.File    // the daemon's stdout and stderr; nil means /dev/null
	elog     *os.File    // the daemon's stderr when it differs from log (LOG=syslog)
	rot      *logRotator // LOG_MAX_SIZE rotation; nil when off
	logStart int64       // log size when the current start began (for the failure report)
	wdLock   *os.File    // RUNDIR/NAME.wd.lock, held for life (retaken if RUNDIR vanishes)
	console  *console    // LOG=console: where the daemon's lines and the events go

	notify   *notify.Listener // READY=notify: NOTIFY_SOCKET
	listen   []*os.File       // LISTEN's sockets, held for life
	adopting bool             // started to adopt a running daemon
	hook     *eventHook       // ON_EVENT's runs
	cg       *cgroup.Group    // the daemon's cgroup; nil: none (CGROUP=no, no cgroup v2)
	cgFD     int              // cg's directory, for CLONE_INTO_CGROUP
	v1       *cgroup.V1       // the cgroups v1 that enforce its limits; nil: none
	oomOld   int              // OOM kills counted in cgroups since made anew (Renew)

	children map[int]<-chan struct{} // our children, each with a channel closed once it is reaped
	fgStart  uint64                  // FORKS=yes: start time of the last foreground process (strays)
}

func (w *world) now() time.Time { return time.Now() }

// spawn starts the daemon as our child in its own process group.
func (w *world) spawn() (proc.Ref, error) {
	d := w.def
	if err := d.Runnable(); err != nil {
		return proc.Ref{}, err
	}
	cmd := &exec.Cmd{Path: d.Path, Args: d.Argv, Env: d.Env, Dir: d.Chdir,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Credential: d.Cred}}
	if w.log != nil {
		cmd.Stdout, cmd.Stderr = w.log, w.log
		if w.elog != nil {
			cmd.Stderr = w.elog
		}
		if fi, err := w.log.Stat(); err == nil && fi.Mode().IsRegular() {
			w.logStart = fi.Size()
		}
	}
	if d.Forks {
		// A stale pidfile of the previous daemon must not be mistaken for the new one.
		os.Remove(d.PidFile)
	}
	if w.notify != nil {
		cmd.Env = append(slices.Clip(d.Env), "NOTIFY_SOCKET="+w.notify.Path)
		if d.WatchdogSec > 0 {
			// No WATCHDOG_PID: the PID is not known before the fork, and without
			// it sd_watchdog_enabled(3) applies WATCHDOG_USEC to the daemon itself.
			cmd.Env = append(cmd.Env, "WATCHDOG_USEC="+strconv.FormatInt(d.WatchdogSec.Microseconds(), 10))
		}
	}
	if len(d.Listen) > 0 && w.listen == nil {
		files, err := listenAll(d.Listen) // after an adopted daemon held them
		if err != nil {
			return proc.Ref{}, err
		}
		w.listen = files
	}
	if len(w.listen) > 0 {
		cmd.ExtraFiles = w.listen
		cmd.Env = append(slices.Clip(cmd.Env), listenEnv(d)...)
		if !d.ListenNginx {
			// LISTEN_PID is the daemon's own PID: set by the exec shim, in the
			// daemon's process, before it becomes the daemon.
			cmd.Path, cmd.Args = "/proc/self/exe", append([]string{"svcwrap", protocol.ExecArg, d.Path}, d.Argv...)
		}
	}
	var fdRead *os.File
	if d.Ready != nil && d.Ready.Kind == "fd" {
		// s6's notification-fd: a fresh pipe for every spawn, its write end on
		// fd N of the daemon (the fds between 3 and N are closed there).
		r, wr, err := os.Pipe()
		if err != nil {
			return proc.Ref{}, fmt.Errorf("READY=%s: %w", d.Ready, err)
		}
		n, _ := strconv.Atoi(d.Ready.Target)
		cmd.ExtraFiles = make([]*os.File, n-2)
		cmd.ExtraFiles[n-3] = wr
		defer wr.Close()
		fdRead = r
	}
	if w.cg != nil {
		if w.cg.Killed() {
			w.renewCgroup()
		}
		// Born in its cgroup (clone3 CLONE_INTO_CGROUP): it runs no
		// instruction outside, and nothing it forks can leave.
		cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, w.cgFD
	}
	err := w.start(cmd)
	if err != nil && w.cg != nil && !w.cg.Exists() {
		// Removed by hand: made again.
		if w.reopenCgroup() == nil {
			cmd.SysProcAttr.CgroupFD = w.cgFD
			cmd = &exec.Cmd{Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir, Stdout: cmd.Stdout, Stderr: cmd.Stderr,
				ExtraFiles: cmd.ExtraFiles, SysProcAttr: cmd.SysProcAttr} // a Cmd is started once
			err = w.start(cmd)
		}
	}
	if err != nil {
		if fdRead != nil {
			fdRead.Close()
		}
		return proc.Ref{}, describeSpawnError(d, err)
	}
	pid := cmd.Process.Pid
	if fdRead != nil {
		go func() { w.events <- evNotify{pid: pid, pgid: pid, msg: notify.ReadFd(fdRead)} }()
	}
	ref := proc.Child(pid)
	for old, c := range w.children {
		select {
		case <-c:
			delete(w.children, old) // reaped
		default:
		}
	}
	reaped := make(chan struct{})
	w.children[pid] = reaped
	go func() {
		// The exit event is sent before the channel closes: a stop job that saw
		// the daemon reaped ends after the machine has seen its exit.
		w.events <- evExit{pid: pid, exit: proc.WaitChild(cmd)}
		close(reaped)
	}()
	if d.Forks {
		w.fgStart = ref.Start
	}
	return ref, nil
}

// start starts cmd; with cgroups v1, from a thread that joined them first
// (cgroup.V1.Run), which then needs NICE too (a child gets its forking
// thread's nice value).
func (w *world) start(cmd *exec.Cmd) error {
	if w.v1 == nil {
		return cmd.Start()
	}
	return w.v1.Run(func() error {
		if w.def.Nice != 0 {
			if err := unix.Setpriority(unix.PRIO_PROCESS, 0, w.def.Nice); err != nil {
				return fmt.Errorf("NICE %d: %w", w.def.Nice, err)
			}
		}
		return cmd.Start()
	})
}

// oomKills counts the processes of the daemon's cgroups that the kernel's OOM
// killer ended, over every cgroup made anew too.
func (w *world) oomKills() int {
	n := w.oomOld
	if w.cg != nil {
		n += w.cg.OOMKills()
	}
	if w.v1 != nil {
		n += w.v1.OOMKills()
	}
	return n
}

// renewCgroup makes the cgroup anew after a cgroup.kill (cgroup.Group.Renew).
func (w *world) renewCgroup() {
	w.oomOld += w.cg.OOMKills()
	fd, err := w.cg.Renew()
	if err != nil {
		w.logEvent(fmt.Sprintf("cannot make the cgroup anew after cgroup.kill: %v", err))
		return
	}
	unix.Close(w.cgFD)
	w.cgFD = fd
}

// reopenCgroup makes the daemon's cgroup again (after someone removed it) and
// opens it anew.
func (w *world) reopenCgroup() error {
	fd, err := w.cg.Create()
	if err != nil {
		return err
	}
	unix.Close(w.cgFD)
	w.cgFD = fd
	return nil
}

// listenNotify turns every datagram on NOTIFY_SOCKET into an event, with what the
// machine needs to judge its sender: the sender's process group, and for MAINPID
// the process it names and its group.
func (w *world) listenNotify() {
	for {
		dg, err := w.notify.Read()
		if err != nil {
			return
		}
		ev := evNotify{pid: dg.PID, msg: dg.Msg, err: dg.Err}
		if st, err := proc.ReadStat(dg.PID); err == nil {
			ev.pgid = st.PGID
		}
		if n := dg.Msg.MainPID; n != 0 && dg.Err == nil {
			if ref, err := proc.Identify(n); err == nil {
				if st, err := proc.ReadStat(n); err == nil && !st.Dead() {
					ev.main, ev.mainPgid = ref, st.PGID
				}
			}
		}
		w.events <- ev
	}
}

// describeSpawnError turns an exec failure into a sentence that names the cause.
func describeSpawnError(d *definition.Definition, err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) && pe.Op == "chdir" {
		who := "root"
		if d.User != "" {
			who = d.User
		}
		return fmt.Errorf("CHDIR %s: %v (the directory must be reachable by %s)", d.Chdir, pe.Err, who)
	}
	if errors.Is(err, syscall.ENOENT) {
		return fmt.Errorf("%s: not installed: %w", d.Path, err)
	}
	return fmt.Errorf("cannot run %s: %w", d.Path, err)
}

// adopt watches a daemon that is not our child through a pidfd.
func (w *world) adopt(ref proc.Ref) error {
	h, err := ref.Open()
	if err != nil {
		return err
	}
	go func() {
		for {
			if exited, err := h.Wait(time.Time{}); exited || err != nil {
				break
			}
		}
		h.Close()
		w.events <- evExit{pid: ref.PID}
	}()
	return nil
}

// locate finds a forking daemon through PIDFILE, which has no event: it is polled
// with a growing interval, bounded by START_TIMEOUT.
func (w *world) locate(fg proc.Ref) {
	deadline := time.Now().Add(w.def.StartTimeout)
	d := w.def
	go func() {
		wait := time.Millisecond
		for {
			ref, err := readForkedPid(d)
			if err == nil || time.Now().After(deadline) {
				w.events <- evLocated{ref, err}
				return
			}
			t := time.NewTimer(min(wait, time.Until(deadline)+time.Millisecond))
			<-t.C
			wait = min(wait*2, 100*time.Millisecond)
		}
	}()
}

// readForkedPid reads a forking daemon's pidfile and identifies the live process.
func readForkedPid(d *definition.Definition) (proc.Ref, error) {
	path := d.PidFile
	pf, err := safefile.ReadServicePidfile(path, d.PidfileOwner())
	if err != nil {
		return proc.Ref{}, err
	}
	if pf == nil {
		return proc.Ref{}, fmt.Errorf("PIDFILE %s was not written", path)
	}
	if !pf.Trusted {
		// Never signalled: the forked daemon may still run, and the message
		// says so rather than pretend nothing was left.
		return proc.Ref{}, fmt.Errorf("PIDFILE not trusted: %s; it names pid %d, which svcwrap will not signal (if it runs the daemon, stop it by hand); write the pidfile in a directory listed in DIRS with the service's user, or one only root can write", pf.Why, pf.PID)
	}
	ref, err := proc.Identify(pf.PID)
	if err != nil {
		return proc.Ref{}, fmt.Errorf("PIDFILE %s names pid %d, which is not running", path, pf.PID)
	}
	if pf.ByService && !ref.SameExe(d.Path) {
		return proc.Ref{}, fmt.Errorf("PIDFILE %s, written by the service's user, names pid %d, which does not run %s", path, pf.PID, d.Path)
	}
	return ref, nil
}

// probe runs READY (polled until it passes, bounded by START_TIMEOUT from the
// start: there is no event for "the port accepts", so the interval grows with the
// start's age, see probe.Interval) or CHECK (once, bounded by CHECK_TIMEOUT).
func (w *world) probe(ready bool, daemon proc.Ref, began time.Time) {
	d := w.def
	go func() {
		var err error
		if ready {
			err = runReady(d, began)
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), d.CheckTimeout)
			err = d.Check.Run(ctx, d.ProbeExec(d.Check))
			cancel()
		}
		w.events <- evProbed{ready: ready, pid: daemon.PID, err: err}
	}()
}

func runReady(d *definition.Definition, began time.Time) error {
	ctx, cancel := context.WithDeadline(context.Background(), began.Add(d.StartTimeout))
	defer cancel()
	x := d.ProbeExec(d.Ready)
	var last error
	for {
		err := d.Ready.Run(ctx, x)
		if err == nil {
			return nil
		}
		if ctx.Err() == nil || last == nil {
			last = err // an attempt cut short by the deadline says less than the one before
		}
		t := time.NewTimer(probe.Interval(time.Since(began)))
		select {
		case <-ctx.Done():
			t.Stop()
			return last
		case <-t.C:
		}
	}
}

// stop stops what j names off the loop (run.Stop: PRE_STOP and STOP_COMMAND while
// the daemon runs, STOP_SCHEDULE, POST_STOP). The daemon gets each signal on its
// whole process group; when it is our child, its exit is seen when it is reaped
// (then the group's emptiness needs no /proc scan past a zombie leader). The
// group of a dead daemon gets a final SIGKILL if the schedule does not end with
// one: nobody asked for that stop, and a survivor would run next to the new
// daemon. A FORKS=yes spawn whose daemon was never found: its foreground
// process's group is killed, and what it left running is found in /proc.
func (w *world) stop(j job) {
	sched := w.def.StopSchedule
	var t proc.Target
	switch {
	case j.daemon.PID != 0:
		t = proc.TargetOf(j.daemon)
		if reaped, ok := w.children[j.daemon.PID]; ok {
			t = proc.Target{Ref: j.daemon, Group: j.daemon.PID, Exited: reaped}
		}
	case j.group != 0:
		t = proc.Target{Group: j.group}
	}
	fg, fgStart := j.forks, w.fgStart
	go func() {
		if j.asked {
			w.logEvent(fmt.Sprintf("stopping daemon (pid %d): STOP_SCHEDULE %s", j.daemon.PID, sched))
		}
		if fg.PID != 0 {
			unix.Kill(-fg.PID, unix.SIGKILL)
			w.stopStrayForks(fgStart)
		}
		if w.cg != nil {
			t.Members = w.cg
		}
		err := run.Stop(w.def, t, j.daemon.PID != 0, j.group != 0, func(err error) { w.logEvent(err.Error()) })
		w.events <- evStopped{err}
	}()
}

// reread loads the definition again for a restart. LISTEN must not have changed:
// the watchdog's sockets are the old ones.
func (w *world) reread() (*definition.Definition, error) {
	d, err := definition.Load(w.def.Name, w.def.File, w.paths)
	if err != nil {
		return nil, fmt.Errorf("the definition: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	if !slices.Equal(d.Listen, w.def.Listen) {
		return nil, errors.New("LISTEN changed: the watchdog's sockets are the old ones; stop, then start")
	}
	w.def = d
	return d, nil
}

// retire stops one daemon's process group by STOP_SCHEDULE (then SIGKILL), off
// the loop: the old daemon of an overlapping restart, or a new one that failed.
// Not the cgroup, which the other daemon shares.
func (w *world) retire(daemon proc.Ref, group int) {
	t := proc.Target{Ref: daemon, Group: group}
	if reaped, ok := w.children[daemon.PID]; ok && daemon.PID != 0 {
		t.Exited = reaped
	}
	steps := proc.WithFinalKill(w.def.StopSchedule.Steps)
	go func() { w.events <- evRetired{proc.Stop(t, steps)} }()
}

// prepare makes DIRS and FILES and runs PRE_START, off the loop.
func (w *world) prepare() {
	go func() { w.events <- evPrepared{run.Prepare(w.def)} }()
}

// postStart runs POST_START, off the loop.
func (w *world) postStart() {
	go func() { w.events <- evPostStarted{run.Hook(w.def, "POST_START")} }()
}

// groupLeft: the dead daemon's process group, or its cgroup, still has members.
func (w *world) groupLeft(pgid int) bool {
	return proc.GroupAlive(pgid) || w.cg != nil && w.cg.Populated()
}

func (w *world) rss(pid int) (int64, error) { return proc.GroupRSS(pid) }

// publish writes the state file; status and list read it.
func (w *world) publish(st *protocol.State) {
	err := w.files.SaveState(st)
	if errors.Is(err, os.ErrNotExist) { // RUNDIR vanished (rm -rf, tmpfs /run remounted)
		w.repair(st.Daemon)
		err = w.files.SaveState(st)
	}
	if err != nil {
		w.logEvent(fmt.Sprintf("cannot save state: %v", err))
	}
}

func (w *world) writePidfile(pid int) {
	if err := safefile.WritePidfile(w.def.PidFile, pid); err != nil {
		w.logEvent(fmt.Sprintf("cannot write pidfile: %v", err))
	}
}

func (w *world) removePidfile(pid int) { safefile.RemovePidfile(w.def.PidFile, pid) }

func (w *world) removeState() { w.files.RemoveState(w.def.Name) }

func (w *world) reportOK(pid int) { w.rep.OK(pid) }

func (w *world) reportFail(code int, reason string) { w.rep.Fail(code, w.logStart, reason) }

// logEvent records a supervision event in the service log, as one line
// "TIME svcwrap: NAME: MESSAGE" written with one write(2) (O_APPEND: never torn
// by the daemon's own writes), and in syslog when there (off the loop: a stuck
// syslog daemon never delays a respawn).
func (w *world) logEvent(msg string) {
	switch {
	case w.console != nil:
		w.console.line([]byte("svcwrap: " + msg))
	case w.log != nil && w.def.Log != "syslog":
		w.log.Write(fmt.Appendf(nil, "%s svcwrap: %s: %s\n", time.Now().Format(time.RFC3339), w.def.Name, msg))
	}
	go sendSyslog(w.def.Name, msg)
}
