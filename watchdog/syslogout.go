package watchdog

// LOG=syslog: the daemon's stdout and stderr are each one end of a unix datagram
// socketpair whose other end the watchdog reads; every line becomes one syslog
// message, facility daemon, tag NAME, with the writer's PID (SO_PASSCRED), severity
// info for stdout and err for stderr.
//
// Why a datagram socketpair and not a pipe: a write to a pipe or stream socket whose
// reader is gone raises SIGPIPE, which kills most daemons, so a watchdog that dies
// would take its daemon along. A datagram socket whose peer is gone fails the write
// with ECONNREFUSED/ENOTCONN instead: the daemon loses that output, never its life,
// until it is respawned by the next watchdog (which gives it a new socketpair).
// Why not a socket connected to /dev/log itself: syslog would get raw text, with no
// priority and no tag, and a restarted syslog daemon would leave the socket
// connected to nothing.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// syslogOutputs returns the daemon's stdout and stderr for LOG=syslog.
func syslogOutputs(name string) (stdout, stderr *os.File, err error) {
	if stdout, err = forwardToSyslog(name, daemonInfo, "stdout"); err != nil {
		return nil, nil, err
	}
	if stderr, err = forwardToSyslog(name, daemonErr, "stderr"); err != nil {
		stdout.Close()
		return nil, nil, err
	}
	return stdout, stderr, nil
}

// forwardToSyslog makes one socketpair, starts its forwarder and returns the
// daemon's end.
func forwardToSyslog(name string, pri int, what string) (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("LOG=syslog: socketpair: %w", err)
	}
	if err := unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, fmt.Errorf("LOG=syslog: SO_PASSCRED: %w", err)
	}
	unix.SetNonblock(fds[0], true) // our end only: the daemon's end stays blocking
	ours := os.NewFile(uintptr(fds[0]), "syslog-"+what)
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, fmt.Errorf("LOG=syslog: %w", err)
	}
	go forwardLines(c.(*net.UnixConn), name, pri)
	return os.NewFile(uintptr(fds[1]), what), nil
}

// forwardLines sends each line of each datagram to syslog. A syslog daemon that is
// absent or stuck costs lost lines (each send is bounded by 100ms), never a daemon
// blocked for long.
func forwardLines(c *net.UnixConn, name string, pri int) {
	buf := make([]byte, 128<<10)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred))
	var out net.Conn
	send := func(msg []byte) {
		for range 2 { // a restarted syslog daemon: dial again once
			if out == nil {
				var err error
				if out, err = net.DialTimeout("unixgram", syslogPath(), 100*time.Millisecond); err != nil {
					out = nil
					return
				}
			}
			out.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			if _, err := out.Write(msg); err == nil {
				return
			}
			out.Close()
			out = nil
		}
	}
	for {
		n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			return
		}
		pid := 0
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for i := range msgs {
				if cred, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
					pid = int(cred.Pid)
				}
			}
		}
		for line := range bytes.SplitSeq(bytes.TrimRight(buf[:n], "\n"), []byte("\n")) {
			if len(bytes.TrimSpace(line)) > 0 {
				send(syslogLine(pri, name, pid, string(line)))
			}
		}
	}
}
