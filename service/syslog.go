package service

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Syslog priorities (RFC 3164: facility*8 + severity), facility daemon.
const (
	daemonErr    = 3<<3 | 3
	daemonNotice = 3<<3 | 5
	daemonInfo   = 3<<3 | 6
)

// syslogPath is the local syslog socket: /dev/log, or SVCWRAP_SYSLOG (tests).
func syslogPath() string {
	if p := os.Getenv("SVCWRAP_SYSLOG"); p != "" {
		return p
	}
	return "/dev/log"
}

// syslogLine formats one RFC 3164 message as glibc's syslog(3) sends it to the
// local socket: "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG", no hostname.
func syslogLine(pri int, tag string, pid int, msg string) []byte {
	return fmt.Appendf(nil, "<%d>%s %s[%d]: %s", pri, time.Now().Format(time.Stamp), tag, pid, msg)
}

// sendSyslog logs a supervision event to syslog (facility daemon, tag
// svcwrap/NAME) when the socket exists; it never blocks for long and never fails loudly.
func sendSyslog(name, msg string) {
	c, err := net.DialTimeout("unixgram", syslogPath(), 100*time.Millisecond)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	c.Write(syslogLine(daemonNotice, "svcwrap/"+name, os.Getpid(), msg))
}

// describeSpawnError turns an exec failure into a sentence that names the cause.
func describeSpawnError(d *Definition, err error) error {
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

// spawnExitCode maps a spawn failure to its LSB exit code.
func spawnExitCode(err error) int {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return 5
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return 4
	}
	return 1
}
