package safefile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// WritePidfile writes a PID atomically, never following a symlink (see Write).
func WritePidfile(path string, pid int) error {
	return Write(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// Pidfile is what ReadPidfile found.
type Pidfile struct {
	PID int
	// Trusted is false when the file or its directory could have been written by
	// someone other than root (or the caller): such a PID is never signalled.
	Trusted bool
	Why     string // why it is not trusted
	// ByService: trusted only because it lies in a directory svcwrap made for
	// the service (DIRS) and belongs to the service's user: its PID must then
	// also run the daemon's program before anything signals it.
	ByService bool
}

// ReadPidfile reads a pidfile without following a symlink. A missing file is
// (nil, nil); junk in it is an error.
func ReadPidfile(path string) (*Pidfile, error) { return ReadServicePidfile(path, -1) }

// ReadServicePidfile is ReadPidfile for a pidfile a daemon writes itself in a
// directory svcwrap made for it and gave to svcUID (Debian's layout:
// /run/tinyproxy owned by tinyproxy): a file and a directory of svcUID are
// trusted too, marked ByService. svcUID -1 is ReadPidfile.
func ReadServicePidfile(path string, svcUID int) (*Pidfile, error) {
	fd, st, err := openRegular(path)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, nil
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("pidfile %s is a symlink; refusing to follow it", path)
	case errors.Is(err, errNotRegular):
		return nil, fmt.Errorf("pidfile %s is not a regular file", path)
	case err != nil:
		return nil, fmt.Errorf("pidfile %s: %w", path, err)
	}
	var buf [64]byte
	n, _ := unix.Read(fd, buf[:])
	unix.Close(fd)
	pid, err := strconv.Atoi(string(bytes.TrimSpace(buf[:max(n, 0)])))
	if err != nil || pid <= 1 {
		return nil, fmt.Errorf("pidfile %s holds no valid PID", path)
	}
	pf := &Pidfile{PID: pid, Trusted: true}
	if svcUID >= 0 && byService(path, st, uint32(svcUID)) {
		pf.ByService = true
		return pf, nil
	}
	switch {
	case !TrustedOwner(st.Uid):
		pf.Trusted, pf.Why = false, fmt.Sprintf("%s is owned by uid %d", path, st.Uid)
	case st.Mode&0o022 != 0:
		pf.Trusted, pf.Why = false, fmt.Sprintf("%s is writable by group or others", path)
	default:
		dir := filepath.Dir(path)
		if why, _ := UntrustedDir(dir); why != "" {
			pf.Trusted, pf.Why = false, fmt.Sprintf("%s lies in %s, which %s", path, dir, why)
		}
	}
	return pf, nil
}

// byService: the file belongs to svcUID (or root) and only its owner may write
// it, in a directory of svcUID (or root) that others may not write, whose own
// directory is trusted. The directory's group may write it: DIRS gave it the
// service's group.
func byService(path string, st *unix.Stat_t, svcUID uint32) bool {
	if (st.Uid != svcUID && !TrustedOwner(st.Uid)) || st.Mode&0o022 != 0 {
		return false
	}
	dir := filepath.Dir(path)
	var dst unix.Stat_t
	if unix.Lstat(dir, &dst) != nil || dst.Mode&unix.S_IFMT != unix.S_IFDIR {
		return false
	}
	if (dst.Uid != svcUID && !TrustedOwner(dst.Uid)) || (dst.Mode&0o002 != 0 && dst.Mode&unix.S_ISVTX == 0) {
		return false
	}
	why, _ := UntrustedDir(filepath.Dir(dir))
	return why == ""
}

// RemovePidfile removes the pidfile at path when it names pid (any PID when pid
// is 0). Junk or a symlink where the pidfile belongs is removed too (the name,
// never what a symlink points to), so that a stopped service has no pidfile.
func RemovePidfile(path string, pid int) {
	pf, err := ReadPidfile(path)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && (fi.Mode().IsRegular() || fi.Mode()&os.ModeSymlink != 0) {
			os.Remove(path)
		}
		return
	}
	if pf != nil && (pf.PID == pid || pid == 0) {
		os.Remove(path)
	}
}
