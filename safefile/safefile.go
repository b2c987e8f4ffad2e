// Package safefile reads and writes the files root trusts or writes: one trust
// policy (who may own or change a file and the directories above it), atomic
// writes through a checked directory descriptor, appends that never follow a
// symlink, bounded reads of definitions and env files, locks and pidfiles.
//
// Files svcwrap writes as root (pidfiles, state, logs) are written so that a local
// user cannot redirect the write: the directory is opened once, checked (owner and
// mode) through its descriptor, and every later step is relative to that descriptor
// (openat, renameat), with O_NOFOLLOW and O_EXCL, so a symlink or hard link planted
// at the name, or a directory swapped after the check, is never written through.
package safefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"svcwrap/lsb"
)

// UnsafePathError is a file svcwrap refuses to write; its exit code is LSB 6 (not
// configured): the fix is in the configuration or on the host, and is in the message.
type UnsafePathError struct {
	Path string
	Msg  string
}

func (e *UnsafePathError) Error() string { return e.Path + ": " + e.Msg }

// ExitCode is LSB 6.
func (e *UnsafePathError) ExitCode() int { return 6 }

// TrustedOwner reports whether uid may own what svcwrap writes: root, or the user
// svcwrap runs as.
func TrustedOwner(uid uint32) bool { return uid == 0 || uid == uint32(os.Geteuid()) }

// openDir opens the directory of path (after resolving symlinks in its name, so that
// /var/run/x.pid works where /var/run -> /run) and checks through the descriptor
// that only root (or svcwrap's own user) can change its entries. A directory that
// others can write is accepted only when it is sticky and sticky is enough (allowSticky):
// there nobody else can rename or unlink root's files, though they can create names.
func openDir(path string, allowSticky bool) (int, string, error) {
	dir, base := filepath.Split(path)
	if base == "" || base == "." || base == ".." {
		return -1, "", &UnsafePathError{path, "not a file name"}
	}
	if dir == "" {
		dir = "."
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return -1, "", fmt.Errorf("%s: directory %s: %w", path, filepath.Clean(dir), unwrapErrno(err))
	}
	fd, err := unix.Open(real, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, "", fmt.Errorf("%s: directory %s: %w", path, real, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, "", fmt.Errorf("%s: directory %s: %w", path, real, err)
	}
	shown := real
	if real != filepath.Clean(dir) {
		shown = filepath.Clean(dir) + " (" + real + ")"
	}
	switch {
	case !TrustedOwner(st.Uid):
		unix.Close(fd)
		return -1, "", &UnsafePathError{path, fmt.Sprintf("its directory %s is owned by uid %d, who could redirect svcwrap's writes; fix: chown root:root %s, or choose a root-owned directory such as /run", shown, st.Uid, real)}
	case st.Mode&0o022 != 0 && (!allowSticky || st.Mode&unix.S_ISVTX == 0):
		unix.Close(fd)
		return -1, "", &UnsafePathError{path, fmt.Sprintf("its directory %s can be written by group or others (mode %04o), who could redirect svcwrap's writes; fix: chmod go-w %s, or choose a root-owned directory such as /run", shown, st.Mode&0o7777, real)}
	}
	return fd, base, nil
}

func unwrapErrno(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// checkEntry refuses an existing name in dirfd that svcwrap must not replace or
// write: a symlink, a directory or anything else that is not a regular file, a file
// owned by another user, or a regular file with other hard links.
func checkEntry(dirfd int, base, path string) error {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return checkStat(&st, path)
}

func checkStat(st *unix.Stat_t, path string) error {
	switch {
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return &UnsafePathError{path, fmt.Sprintf("is a symlink (owned by uid %d); svcwrap never writes through one; fix: rm %s, and keep the file in a directory only root can write", st.Uid, path)}
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return &UnsafePathError{path, "exists and is not a regular file; fix: remove it, or choose another path"}
	case !TrustedOwner(st.Uid):
		return &UnsafePathError{path, fmt.Sprintf("is owned by uid %d, not root; svcwrap does not write another user's file; fix: rm %s", st.Uid, path)}
	case st.Nlink > 1:
		return &UnsafePathError{path, fmt.Sprintf("has %d hard links: writing it would write the other names too; fix: rm %s", st.Nlink, path)}
	}
	return nil
}

// CheckWritable checks, without writing anything, that svcwrap would write path
// (a pidfile): see Write. A missing directory is not an error here.
func CheckWritable(path string) error {
	fd, base, err := openDir(path, true)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer unix.Close(fd)
	return checkEntry(fd, base, path)
}

// Write replaces path with data: a temp file is created beside it with
// O_EXCL|O_NOFOLLOW in the checked directory, given mode exactly, and renamed over
// path. Readers see the old or the new file, never a torn one. An existing path that
// is a symlink, not a regular file, owned by another user or hard-linked is refused.
func Write(path string, data []byte, mode uint32) error {
	dirfd, base, err := openDir(path, true)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	if err := checkEntry(dirfd, base, path); err != nil {
		return err
	}
	var tmp string
	var fd int
	for i := 0; i < 10; i++ {
		tmp = "." + base + "." + strconv.Itoa(os.Getpid()) + "." + strconv.Itoa(i)
		fd, err = unix.Openat(dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
		unix.Unlinkat(dirfd, tmp, 0) // left by a crashed svcwrap with our PID; O_EXCL keeps this safe
	}
	if err != nil {
		return fmt.Errorf("write %s: create a temp file: %w", path, err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	werr := f.Chmod(os.FileMode(mode)) // the umask must neither weaken nor strengthen it
	if werr == nil {
		_, werr = f.Write(data)
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = unix.Renameat(dirfd, tmp, dirfd, base)
	}
	if werr != nil {
		unix.Unlinkat(dirfd, tmp, 0)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

// OpenAppendSafe opens path for appending (a log), creating it with mode: never
// through a symlink, never a file of another user or one with other hard links, and
// only in a directory that only root can change (or a sticky one). A character
// device owned by root (LOG=/dev/console) is accepted.
func OpenAppend(path string, mode uint32) (*os.File, error) {
	dirfd, base, err := openDir(path, true)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dirfd)
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, mode)
	if err != nil {
		// Say why in words when the name is a planted symlink or the like.
		var st unix.Stat_t
		if unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT != unix.S_IFCHR {
			if cerr := checkStat(&st, path); cerr != nil {
				return nil, cerr
			}
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Uid == 0 {
		// a device such as /dev/console or /dev/null
	} else if err := checkStat(&st, path); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// Read reads a small file svcwrap wrote itself (a state file), never following a
// symlink and never reading more than max bytes.
func Read(path string, max int64) ([]byte, error) {
	fd, st, err := openRegular(path)
	switch {
	case errors.Is(err, unix.ENOENT):
		return nil, os.ErrNotExist
	case errors.Is(err, unix.ELOOP):
		return nil, &UnsafePathError{path, "is a symlink; svcwrap never reads its own files through one; fix: rm " + path}
	case errors.Is(err, errNotRegular):
		return nil, &UnsafePathError{path, "is not a regular file"}
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer unix.Close(fd)
	if st.Size > max {
		return nil, &UnsafePathError{path, fmt.Sprintf("is too large (%d bytes)", st.Size)}
	}
	b, err := readAllFd(fd, path, st.Size, max+1)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, &UnsafePathError{path, "is too large"}
	}
	return b, nil
}

var errNotRegular = errors.New("not a regular file")

// openRegular opens path for reading without following a symlink (ELOOP) and
// without blocking on a FIFO, and checks that it is a regular file.
func openRegular(path string) (int, *unix.Stat_t, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return -1, nil, errNotRegular
	}
	return fd, &st, nil
}

// EnsurePrivateDir creates dir (0755) if it is missing, as after a reboot emptied
// /run, and refuses one that is a symlink or that someone other than root (or
// svcwrap's own user) can write, sticky or not: RUNDIR holds the locks and the
// state, which others could take or forge.
func EnsurePrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err == nil {
		if fi.Mode()&os.ModeSymlink != 0 {
			return lsb.Errorf(lsb.NotConfigured, "%s is a symlink; svcwrap keeps locks and state only in a real directory", dir)
		}
		return checkPrivateDir(dir, fi)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return lsb.Errorf(lsb.NoPrivilege, "cannot create %s: %v", dir, err)
	}
	return nil
}

// checkPrivateDir: see EnsurePrivateDir.
func checkPrivateDir(dir string, fi os.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return lsb.Errorf(lsb.NotConfigured, "%s is not a directory; fix: rm %s (svcwrap creates it)", dir, dir)
	case !ok:
		return nil
	case !TrustedOwner(st.Uid):
		return lsb.Errorf(lsb.NotConfigured, "%s (locks and state) is owned by uid %d, who could take or forge them; fix: chown root:root %s", dir, st.Uid, dir)
	case st.Mode&0o022 != 0:
		return lsb.Errorf(lsb.NotConfigured, "%s (locks and state) can be written by group or others (mode %04o), who could take or forge them; fix: chmod 0755 %s", dir, st.Mode&0o7777, dir)
	}
	return nil
}

// ExitCode is the exit code for err: 6 for an unsafe path, else def.
func ExitCode(err error, def int) int {
	var ue *UnsafePathError
	if errors.As(err, &ue) {
		return ue.ExitCode()
	}
	return def
}

// readAllFd reads the open file fd (size bytes by fstat) to its end, at most
// limit bytes, with bare read(2) calls. It replaces os.NewFile + io.ReadAll on the
// hot paths of status and list: os.NewFile of a non-blocking descriptor first tries
// to register it with the runtime poller (fcntl, epoll_ctl refused for a regular
// file, fcntl again), five syscalls per file for nothing. Errors read like the
// os.File ones ("read PATH: ...").
func readAllFd(fd int, path string, size, limit int64) ([]byte, error) {
	n := min(max(size+1, 512), limit) // size+1: room to see the end
	buf := make([]byte, 0, n)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(int64(cap(buf)), limit)
		m, err := unix.Read(fd, buf[len(buf):end])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		buf = buf[:len(buf)+m]
		if int64(m) < end-int64(len(buf)-m) && int64(len(buf)) >= size {
			// A short read of a regular file that gave all fstat saw is its end:
			// the read that would return 0 is not needed.
			break
		}
	}
	return buf, nil
}
