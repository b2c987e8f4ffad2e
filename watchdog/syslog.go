package watchdog

import (
	"fmt"
	"net"
	"os"
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
