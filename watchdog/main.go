// Package watchdog is the watchdog process: one per service, started by the CLI
// (`svcwrap __watchdog MODE NAME FILE`, see package protocol) in its own session,
// the daemon's parent for as long as the service runs. It spawns the daemon,
// reports the start on the readiness pipe, respawns the daemon the moment it
// dies, runs its health checks and its log rotation, stops it when asked, and
// publishes every change in the state file. It is a state machine (machine.go)
// acting on the world through its effects (world.go). It never imports the CLI
// side (package service).
package watchdog

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/cgroup"
	"svcwrap/definition"
	"svcwrap/notify"
	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/safefile"
)

// wdLockWait bounds how long a new watchdog waits for an exiting one's lock.
const wdLockWait = 2 * time.Second

// Main is the watchdog process, argv after protocol.Arg: MODE NAME FILE. It is
// started with /dev/null on 0-2 and the readiness pipe on fd 3. It returns the
// process's exit status.
func Main(args []string) int {
	// Inherited fds must never reach the daemon (debconf's fd 3 hangs dpkg). The
	// readiness pipe is fd 3: it becomes close-on-exec too, and stays usable here.
	proc.CloexecInherited()
	rep := protocol.NewReporter(os.NewFile(protocol.ReadyFD, "ready"))
	if len(args) != 3 {
		rep.Fail(2, 0, "usage: svcwrap "+protocol.Arg+" MODE NAME FILE")
		return 2
	}
	mode, name, file := args[0], args[1], args[2]

	// A watchdog is small: one P, an eager GC and a soft memory limit.
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(50)
	debug.SetMemoryLimit(8 << 20)

	paths := definition.PathsFromEnv(os.Getenv)
	def, err := definition.Load(name, file, paths)
	if err != nil {
		rep.Fail(6, 0, strings.ReplaceAll(err.Error(), "\n", "; "))
		return 6
	}
	w := &world{def: def, paths: paths, files: protocol.FilesOf(paths), rep: rep, adopting: mode == protocol.ModeAdopt,
		events: make(chan any, 16), sigc: make(chan os.Signal, 8), children: map[int]<-chan struct{}{}}
	// Catch, never ignore: caught signals are reset to the default in the daemon,
	// ignored ones would be inherited as SIG_IGN.
	signal.Notify(w.sigc, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGPIPE)
	if code, msg := w.setup(); code != 0 {
		rep.Fail(code, 0, msg)
		return code
	}
	self, _ := proc.Identify(os.Getpid())
	protocol.NameHolder(w.wdLock, self)
	st := protocol.State{Name: name, PidFile: def.PidFile, StopSchedule: def.StopSchedule.String(), Watchdog: self}
	if w.cg != nil {
		st.Cgroup = w.cg.Path
	}
	if w.v1 != nil {
		st.CgroupV1 = w.v1.Dirs
	}
	m := newMachine(def, w, st)
	if mode != protocol.ModeAdopt || !m.adopt(w.adoptable()) {
		// In adopt mode, a daemon that died between the CLI's look and ours:
		// `start` means start it.
		w.clearCgroup()
		m.start()
	}
	code := w.loop(m)
	if w.hook != nil {
		w.hook.flush(w.def.HookBound("ON_EVENT")) // a give-up is never swallowed
	}
	if w.notify != nil {
		w.notify.Close()
	}
	for i, f := range w.listen {
		f.Close() // nothing listens after stop
		if l := def.Listen[i]; l.Kind == "unix" && m.st.Daemon.PID == 0 {
			os.Remove(l.Addr) // a detached daemon still serves on it
		}
	}
	if w.cg != nil && m.st.Daemon.PID == 0 && !w.cg.Populated() {
		w.cg.Remove()
	}
	if w.v1 != nil && m.st.Daemon.PID == 0 {
		w.v1.Remove() // once empty
	}
	if m.st.Daemon.PID == 0 {
		// Nothing left running: no CLI needs to look for it in this session.
		protocol.NameHolder(w.wdLock, proc.Ref{})
	}
	return code
}

// clearCgroup stops what a crashed run left in the daemon's cgroup before a
// new daemon starts there: nothing in it is a daemon to keep (the CLI adopts
// one it found).
func (w *world) clearCgroup() {
	if w.cg == nil || !w.cg.Populated() {
		return
	}
	n := len(w.cg.Procs())
	w.cg.Kill()
	if !w.cg.WaitEmpty(time.Now().Add(proc.FinalKill)) {
		w.logEvent(fmt.Sprintf("%d leftover processes of %s survive cgroup.kill", n, w.cg.Path))
		return
	}
	w.logEvent(fmt.Sprintf("killed %d leftover processes in %s", n, w.cg.Path))
}

// adoptable is the daemon the state file records, if it still runs.
func (w *world) adoptable() *protocol.State {
	old, err := w.files.ReadState(w.def.Name)
	if err != nil || old == nil || !old.Daemon.Alive() {
		return nil
	}
	return old
}

// loop feeds the machine its events, one at a time, until it is done.
func (w *world) loop(m *machine) int {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var armed time.Time
	for m.state != stDone {
		var tc <-chan time.Time
		if due := m.due(); !due.IsZero() {
			if !due.Equal(armed) {
				timer.Reset(time.Until(due))
				armed = due
			}
			tc = timer.C
		} else if !armed.IsZero() {
			timer.Stop()
			armed = time.Time{}
		}
		select {
		case ev := <-w.events:
			m.handle(ev)
		case s := <-w.sigc:
			m.handle(evSignal{s.(syscall.Signal)})
		case <-w.logWake():
			m.handle(evLogWritten{})
		case <-tc:
			armed = time.Time{}
			m.handle(evTimer{})
		}
	}
	return m.exitCode
}

// setup applies the process-wide attributes once: the watchdog lock, the nice value
// of the thread that forks the daemon, umask, rlimits, and the log.
func (w *world) setup() (int, string) {
	d := w.def
	if err := w.files.Ensure(); err != nil {
		return 4, err.Error()
	}
	lock, err := safefile.HoldLock(w.files.WatchdogLock(d.Name), wdLockWait)
	if err != nil {
		return 1, fmt.Sprintf("another watchdog holds %s (%v)", w.files.WatchdogLock(d.Name), err)
	}
	w.wdLock = lock
	// Nice is per thread on Linux and children inherit the forking thread's value:
	// the loop goroutine stays on this thread, which alone gets NICE. Without NICE
	// it stays unlocked (a locked thread costs one more thread; see "Footprint" in
	// docs/design.md).
	if d.Nice != 0 {
		runtime.LockOSThread()
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, d.Nice); err != nil {
			return 4, fmt.Sprintf("NICE %d: %v", d.Nice, err)
		}
	}
	syscall.Umask(int(d.Umask))
	var warnings []string
	for _, l := range d.Limits {
		warning, err := setLimit(l)
		if err != nil {
			return 4, err.Error()
		}
		if warning != "" {
			warnings = append(warnings, warning)
		}
	}
	defer func() {
		for _, msg := range warnings {
			w.logEvent(msg) // once the log is open
		}
	}()
	switch d.Log {
	case "none":
	case "syslog":
		var err error
		if w.log, w.elog, err = syslogOutputs(d.Name); err != nil {
			return 4, err.Error()
		}
	case "console":
		var err error
		if w.log, w.elog, w.console, err = consoleOutputs(d.Name); err != nil {
			return 4, err.Error()
		}
	default:
		if err := os.MkdirAll(dirOf(d.Log), 0o755); err != nil {
			return 4, fmt.Sprintf("LOG %s: %v", d.Log, err)
		}
		f, err := safefile.OpenAppend(d.Log, 0o640)
		if err != nil {
			code := 1 // a full disk is no privilege problem
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				code = 4
			}
			return safefile.ExitCode(err, code), fmt.Sprintf("LOG %v", err)
		}
		w.log = f
		w.watchLog()
	}
	if !d.Forks {
		if err := safefile.CheckWritable(d.PidFile); err != nil {
			return safefile.ExitCode(err, 4), fmt.Sprintf("PIDFILE %v", err)
		}
	}
	if d.Cgroup {
		if msg := w.setupCgroup(); msg != "" {
			return 6, msg
		}
	}
	if len(d.Listen) > 0 {
		files, err := listenAll(d.Listen)
		switch {
		case err == nil:
			w.listen = files
		case w.adopting:
			// The running daemon holds them: bound again before the next spawn
			// (connections between its death and then are refused).
			w.logEvent(fmt.Sprintf("%v: the adopted daemon holds the sockets; they are bound again before the next spawn", err))
		default:
			return 1, err.Error()
		}
	}
	if d.Ready != nil && d.Ready.Kind == "notify" {
		l, err := notify.Listen(w.files.Notify(d.Name))
		if err != nil {
			return 4, fmt.Sprintf("READY=notify: %v", err)
		}
		w.notify = l
		go w.listenNotify()
	}
	return 0, ""
}

// setupCgroup makes the daemon's cgroup and those that enforce its limits
// (MEMORY_MAX...: package cgroup, Plan). A limit that cannot apply fails the
// start (exit 6) with what the host lacks; without limits, a cgroup that
// cannot be made leaves the process group, as without cgroup v2.
func (w *world) setupCgroup() string {
	d := w.def
	g := cgroup.ForService(d.Name, w.files.Dir)
	v1, err := cgroup.Plan(g, d.Name, w.files.Dir, cgroup.Limits{MemoryMax: d.MemoryMax, MemoryHigh: d.MemoryHigh,
		PidsMax: d.PidsMax, CPUPercent: d.CPUMax, IOWeight: d.IOWeight})
	if err != nil {
		return err.Error()
	}
	if g != nil {
		fd, err := g.Create()
		switch {
		case err != nil && g.Limited():
			g.Remove()
			return err.Error()
		case err != nil:
			// No cgroup (a container without cgroupfs rights): the process
			// group, as without cgroup v2.
			w.logEvent(fmt.Sprintf("no cgroup for the daemon (%v): stop reaches its process group only", err))
		default:
			w.cg, w.cgFD = g, fd
		}
	}
	if v1 != nil {
		if err := v1.Create(); err != nil {
			v1.Remove()
			if w.cg != nil {
				w.cg.Remove()
			}
			return err.Error()
		}
		w.v1 = v1
	}
	return ""
}

// setLimit applies LIMIT_<RES> to the watchdog, whose children inherit it.
// syscall.Setrlimit also stops Go from restoring its saved NOFILE limit in
// children. Above the hard limit, which only CAP_SYS_RESOURCE may raise, a
// best-effort limit (LIMIT_X=N?) is lowered to it with a warning; any other is an
// error that says what the host allows.
func setLimit(l definition.Limit) (warning string, err error) {
	err = syscall.Setrlimit(l.Resource, &syscall.Rlimit{Cur: l.Soft, Max: l.Hard})
	if err == nil || !errors.Is(err, syscall.EPERM) {
		if err != nil {
			return "", fmt.Errorf("LIMIT_%s: %v", l.Name, err)
		}
		return "", nil
	}
	var cur syscall.Rlimit
	if gerr := syscall.Getrlimit(l.Resource, &cur); gerr != nil {
		return "", fmt.Errorf("LIMIT_%s: %v", l.Name, err)
	}
	if !l.BestEffort {
		return "", fmt.Errorf("LIMIT_%s: %s is above this host's hard limit %s, and raising it needs CAP_SYS_RESOURCE; end the value with ? to lower it to %s, as `ulimit ... || true` would",
			l.Name, limitText(l.Soft, l.Hard), limitText(cur.Max, cur.Max), limitText(cur.Max, cur.Max))
	}
	soft, hard := min(l.Soft, cur.Max), min(l.Hard, cur.Max)
	if err := syscall.Setrlimit(l.Resource, &syscall.Rlimit{Cur: soft, Max: hard}); err != nil {
		return "", fmt.Errorf("LIMIT_%s: %v", l.Name, err)
	}
	return fmt.Sprintf("LIMIT_%s: %s is above this host's hard limit; lowered to %s (best effort)", l.Name, limitText(l.Soft, l.Hard), limitText(soft, hard)), nil
}

func limitText(soft, hard uint64) string {
	one := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	if soft == hard {
		return one(soft)
	}
	return one(soft) + ":" + one(hard)
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "/"
}
