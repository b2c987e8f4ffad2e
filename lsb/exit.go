// Package lsb is what svcwrap knows about the LSB init script conventions:
// the exit codes of init script actions, an error type that carries them,
// the comment header that update-rc.d, insserv, chkconfig and
// systemd-sysv-generator read, and progress messages in the style of
// Debian's init-functions. It starts no processes and opens no files.
package lsb

import "strconv"

// Exit is the exit code of an init script action other than status
// (LSB 5.0 core, "Init Script Actions").
type Exit int

// Exit codes of the actions other than status.
const (
	OK            Exit = 0 // success
	Failed        Exit = 1 // unspecified failure
	BadArgs       Exit = 2 // invalid or excess arguments
	Unimplemented Exit = 3 // the action is not implemented (e.g. reload)
	NoPrivilege   Exit = 4 // the caller lacks the needed privilege
	NotInstalled  Exit = 5 // the program is not installed
	NotConfigured Exit = 6 // the program is not configured
	NotRunning    Exit = 7 // the program is not running
)

var exitText = [...]string{
	OK:            "success",
	Failed:        "unspecified failure",
	BadArgs:       "invalid or excess arguments",
	Unimplemented: "unimplemented feature",
	NoPrivilege:   "insufficient privilege",
	NotInstalled:  "program not installed",
	NotConfigured: "program not configured",
	NotRunning:    "program not running",
}

// String describes the code in a few words, e.g. "program not installed".
func (e Exit) String() string {
	if e >= 0 && int(e) < len(exitText) {
		return exitText[e]
	}
	return "exit " + strconv.Itoa(int(e))
}

// Status is the exit code of the status action.
type Status int

// Exit codes of the status action.
const (
	Running     Status = 0 // the program is running
	DeadPidfile Status = 1 // the program is dead but its pidfile exists
	DeadLock    Status = 2 // the program is dead but its lock file exists
	Stopped     Status = 3 // the program is not running
	Unknown     Status = 4 // the status cannot be determined
)

var statusText = [...]string{
	Running:     "running",
	DeadPidfile: "dead, pidfile exists",
	DeadLock:    "dead, lock file exists",
	Stopped:     "not running",
	Unknown:     "unknown",
}

// String describes the status in a few words, e.g. "not running".
func (s Status) String() string {
	if s >= 0 && int(s) < len(statusText) {
		return statusText[s]
	}
	return "status " + strconv.Itoa(int(s))
}
