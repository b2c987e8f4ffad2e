package proc

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Real-time signals as kill -l and bash name them: glibc's SIGRTMIN is 34 (the
// kernel's 32 and 33 are taken by the C library) and SIGRTMAX is 64.
const (
	SigRTMin = 34
	SigRTMax = 64
)

// SignalName names a signal without "SIG": "HUP", "KILL", "RTMIN+3", "RTMAX-2". A
// signal with no name is given as its number.
func SignalName(sig unix.Signal) string {
	switch {
	case sig == SigRTMin:
		return "RTMIN"
	case sig > SigRTMin && sig < SigRTMin+16:
		return "RTMIN+" + strconv.Itoa(int(sig-SigRTMin))
	case sig >= SigRTMin+16 && sig < SigRTMax:
		return "RTMAX-" + strconv.Itoa(int(SigRTMax-sig))
	case sig == SigRTMax:
		return "RTMAX"
	case sig > 0 && sig < SigRTMin:
		if name := unix.SignalName(sig); name != "" {
			return strings.TrimPrefix(name, "SIG")
		}
	}
	return strconv.Itoa(int(sig))
}

// Exit is how a process ended, as far as svcwrap knows: only a process's parent
// learns its exit status, so that of an adopted daemon is unknown.
type Exit struct {
	Known  bool
	Code   int         // the exit code, when it exited
	Signal unix.Signal // the signal that killed it, 0 when it exited
}

// ExitOf reads a reaped child's status.
func ExitOf(ps *os.ProcessState) Exit {
	if ps == nil {
		return Exit{}
	}
	ws := ps.Sys().(syscall.WaitStatus)
	switch {
	case ws.Exited():
		return Exit{Known: true, Code: ws.ExitStatus()}
	case ws.Signaled():
		return Exit{Known: true, Code: -1, Signal: unix.Signal(ws.Signal())}
	}
	return Exit{}
}

// String is "exit N", "signal NAME", or "" when unknown.
func (e Exit) String() string {
	switch {
	case !e.Known:
		return ""
	case e.Signal != 0:
		return "signal " + SignalName(e.Signal)
	}
	return "exit " + strconv.Itoa(e.Code)
}

// Describe is String, or "exit status unknown".
func (e Exit) Describe() string {
	if s := e.String(); s != "" {
		return s
	}
	return "exit status unknown"
}
