// Package protocol is everything the CLI and the watchdog exchange, in one place:
// the watchdog's command line and environment, the readiness line it writes on fd
// 3, the signals that control it, and the files in RUNDIR (the command lock, the
// watchdog lock and the state file, which the watchdog writes and status reads).
// The CLI side (package service) and the watchdog never import each other; both
// import this.
package protocol

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"svcwrap/definition"
	"svcwrap/proc"
	"svcwrap/safefile"
)

// Arg is argv[1] of a watchdog: `svcwrap __watchdog MODE NAME FILE`. main
// dispatches on it before anything else.
const Arg = "__watchdog"

// Watchdog modes, the first argument after Arg.
const (
	ModeStart = "start" // spawn the daemon and supervise it
	ModeAdopt = "adopt" // supervise the daemon the state file records, which runs already
)

// Argv is the command line of the watchdog of service name defined in file.
func Argv(mode, name, file string) []string {
	return []string{"svcwrap", Arg, mode, name, file}
}

// IsWatchdogOf reports whether cmdline (/proc/PID/cmdline: NUL-separated) is that
// of a watchdog of service name defined in file, in any mode.
func IsWatchdogOf(cmdline []byte, name, file string) bool {
	n, f, ok := WatchdogOf(cmdline)
	return ok && n == name && f == file
}

// WatchdogOf says whose watchdog cmdline (/proc/PID/cmdline) is: the service's
// name and definition file, ok false when it is no watchdog's.
func WatchdogOf(cmdline []byte) (name, file string, ok bool) {
	args := bytes.Split(bytes.TrimRight(cmdline, "\x00"), []byte{0})
	if len(args) != 5 || string(args[1]) != Arg {
		return "", "", false
	}
	return string(args[3]), string(args[4]), true
}

// Control signals, sent to the watchdog through a pidfd.
const (
	// SigDetach (SIGTERM, SIGINT too): never respawn again and exit, leaving the
	// daemon running. shutdown's sendsigs gets the same: nothing is resurrected.
	SigDetach = unix.SIGTERM
	// SigStop: stop the daemon by STOP_SCHEDULE, remove the pidfile and the state
	// file, and exit 0 (1, with the state published, when the daemon survives).
	SigStop = unix.SIGUSR1
	// SigRepair: recreate a vanished RUNDIR, retake the watchdog lock, rewrite the
	// state file and a missing or wrong pidfile.
	SigRepair = unix.SIGHUP
	// SigRestart: restart the daemon and keep the watchdog and its LISTEN
	// sockets (RESTART=overlap: the new daemon first; sequential: stop, then
	// start); State.Restarts counts each one done, State.RestartError says why
	// one failed.
	SigRestart = unix.SIGUSR2
)

// Files are the names in RUNDIR.
type Files struct{ Dir string }

// FilesOf are the RUNDIR names of paths.
func FilesOf(paths definition.Paths) Files { return Files{paths.RunDir} }

// Lock is NAME.lock: the flock every state-changing verb holds (never deleted).
func (f Files) Lock(name string) string { return filepath.Join(f.Dir, name+".lock") }

// State is NAME.state, the state file.
func (f Files) State(name string) string { return filepath.Join(f.Dir, name+".state") }

// ExecArg is the first argument of the exec shim (package watchdog, Exec) that
// runs between the watchdog's fork and a LISTEN daemon's exec.
const ExecArg = "__exec"

// Notify is NAME.notify, the NOTIFY_SOCKET of a READY=notify service.
func (f Files) Notify(name string) string { return filepath.Join(f.Dir, name+".notify") }

// WatchdogLock is NAME.wd.lock, held by the watchdog for its whole life.
func (f Files) WatchdogLock(name string) string { return filepath.Join(f.Dir, name+".wd.lock") }

// Ensure creates RUNDIR if it is missing, and refuses an unsafe one.
func (f Files) Ensure() error { return safefile.EnsurePrivateDir(f.Dir) }

// WatchdogHeld reports whether some watchdog holds the service's watchdog lock.
func (f Files) WatchdogHeld(name string) bool { return safefile.Held(f.WatchdogLock(name)) }

// keptEnv is the part of the caller's environment svcwrap keeps: the locale, its own
// overrides, the variables Debian's init-functions use to decide about systemd, and
// GORACE, so that a race-enabled build of svcwrap (the integration suite's) reports
// races of its watchdog, whose stderr is /dev/null, to a file. GORACE does nothing in
// a normal build, and it is never passed to a daemon (the service environment is
// built separately).
func keptEnv(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	return definition.IsLocaleVar(k) ||
		strings.HasPrefix(k, "SVCWRAP_") || k == "SYSTEMCTL_SKIP_REDIRECT" || k == "_SYSTEMCTL_SKIP_REDIRECT" ||
		k == "GORACE"
}

// NormalizeEnv replaces svcwrap's own environment with the kept variables and the
// fixed PATH, so that nothing svcwrap computes depends on how it was called (a login
// shell, `service`, which clears the environment, cron or Ansible).
func NormalizeEnv() {
	var keep []string
	for _, kv := range os.Environ() {
		if keptEnv(kv) {
			keep = append(keep, kv)
		}
	}
	os.Clearenv()
	for _, kv := range keep {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	os.Setenv("PATH", definition.FixedPATH)
}

// WatchdogEnv is the environment of a watchdog process: the fixed PATH, the locale
// and the SVCWRAP_* overrides (which tell it where everything is), plus runtime
// settings that must be in force before its main (GOMAXPROCS is read at startup;
// runtime.GOMAXPROCS later only idles Ps whose threads exist already;
// memprofilerate=0 keeps the profiler's bucket table untouched). The daemon never
// sees them: it gets the service environment.
func WatchdogEnv() []string {
	out := []string{"PATH=" + definition.FixedPATH}
	for _, kv := range os.Environ() {
		if keptEnv(kv) && !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return append(out, "GOMAXPROCS=1", "GOGC=50", "GODEBUG=memprofilerate=0")
}

// The watchdog lock file also names its holder, "PID START\n", from the moment
// the watchdog holds it until it exits cleanly (then it is emptied): a lock file
// that still names a dead watchdog means that watchdog was killed, and what it
// started may be recorded nowhere else (its state file corrupt or gone, its
// pidfile deleted): the CLI then looks for it in that watchdog's session.

// NameHolder writes ref into the held watchdog lock file f ("" when ref is zero).
func NameHolder(f *os.File, ref proc.Ref) {
	text := ""
	if ref.PID != 0 {
		text = strconv.Itoa(ref.PID) + " " + strconv.FormatUint(ref.Start, 10) + "\n"
	}
	f.Truncate(0)
	f.WriteAt([]byte(text), 0)
}

// LastWatchdog is the watchdog the lock file of name names, if any.
func (f Files) LastWatchdog(name string) (proc.Ref, bool) {
	b, err := safefile.Read(f.WatchdogLock(name), 64)
	if err != nil {
		return proc.Ref{}, false
	}
	var ref proc.Ref
	if n, _ := fmt.Sscanf(string(b), "%d %d", &ref.PID, &ref.Start); n != 2 || ref.PID <= 1 {
		return proc.Ref{}, false
	}
	return ref, true
}

// ForgetWatchdog empties the lock file's name of a dead holder, once nothing it
// started is left (the caller holds the command lock, so no watchdog starts
// meanwhile).
func (f Files) ForgetWatchdog(name string) {
	if !f.WatchdogHeld(name) {
		if fd, err := os.OpenFile(f.WatchdogLock(name), os.O_WRONLY|syscall.O_NOFOLLOW, 0); err == nil {
			fd.Truncate(0)
			fd.Close()
		}
	}
}
