package service

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// sendSyslog logs a supervision event to syslog (facility daemon, tag
// svcwrap/NAME) when /dev/log exists; it never blocks for long and never fails loudly.
func sendSyslog(name, msg string) {
	c, err := net.DialTimeout("unixgram", "/dev/log", 100*time.Millisecond)
	if err != nil {
		return
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	const daemonNotice = 3<<3 | 5
	fmt.Fprintf(c, "<%d>%s svcwrap/%s[%d]: %s", daemonNotice, time.Now().Format(time.Stamp), name, os.Getpid(), msg)
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
