package service

import "golang.org/x/sys/unix"

// CloexecInherited marks every file descriptor from 3 up close-on-exec. The CLI
// calls it first thing: a maintainer script holds debconf's fd 3 open (and a
// caller may pass any other), and whatever svcwrap execs (the watchdog, custom
// commands, GUARD) must not inherit them, or dpkg and Ansible wait forever for
// an EOF. Go's os/exec closes only the fds it opened itself close-on-exec; an
// inherited fd without the flag would otherwise survive into the watchdog, which
// never execs again and so would hold it for the life of the service.
func CloexecInherited() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		cloexecFromProc()
	}
}
