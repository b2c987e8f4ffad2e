package service

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// WritePidfile writes the daemon's PID atomically, never following a symlink.
func WritePidfile(path string, pid int) error {
	return writeAtomic(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// Pidfile is what ReadPidfile found.
type Pidfile struct {
	PID int
	// Trusted is false when the file or its directory could have been written by
	// someone other than root (or the caller): such a PID is never signalled.
	Trusted bool
	Why     string // why it is not trusted
}

// ReadPidfile reads a pidfile without following a symlink. A missing file is
// (nil, nil); junk in it is an error.
func ReadPidfile(path string) (*Pidfile, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err == unix.ENOENT {
		return nil, nil
	}
	if err != nil {
		if err == unix.ELOOP {
			return nil, fmt.Errorf("pidfile %s is a symlink; refusing to follow it", path)
		}
		return nil, fmt.Errorf("pidfile %s: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("pidfile %s is not a regular file", path)
	}
	buf := make([]byte, 64)
	n, _ := f.Read(buf)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	if err != nil || pid <= 1 {
		return nil, fmt.Errorf("pidfile %s holds no valid PID", path)
	}
	pf := &Pidfile{PID: pid, Trusted: true}
	me := uint32(os.Geteuid())
	switch {
	case st.Uid != 0 && st.Uid != me:
		pf.Trusted, pf.Why = false, fmt.Sprintf("%s is owned by uid %d", path, st.Uid)
	case st.Mode&0o022 != 0:
		pf.Trusted, pf.Why = false, fmt.Sprintf("%s is writable by group or others", path)
	default:
		dir := filepath.Dir(path)
		if why, _ := untrustedDir(dir); why != "" {
			pf.Trusted, pf.Why = false, fmt.Sprintf("%s lies in %s, which %s", path, dir, why)
		}
	}
	return pf, nil
}
