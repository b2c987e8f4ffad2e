package safefile

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// MakePath makes path, a directory (dir) or a file (created empty if absent,
// never truncated), owned by uid:gid with mode, as a service's DIRS and FILES
// ask before every spawn. Missing directories above it are made root-owned
// 0755. Every step is relative to the descriptor of the directory above,
// opened without following a symlink: a symlink anywhere on the path is
// refused, never followed. An existing directory above must be root's (or
// svcwrap's user's) and writable by nobody else unless sticky (/tmp), and an
// existing path must be of the right kind and owned by root or uid: nobody else
// can have planted what svcwrap then hands over to the service. The owner is
// only changed when it differs (so svcwrap run as a user can make its own).
func MakePath(path string, dir bool, mode os.FileMode, uid, gid int) error {
	if !strings.HasPrefix(path, "/") || path == "/" {
		return &UnsafePathError{path, "not an absolute path below /"}
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	fd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	cur := ""
	for i, name := range parts {
		last := i == len(parts)-1
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return err
		}
		if msg := aboveProblem(&st, uid, gid); msg != "" {
			unix.Close(fd)
			return &UnsafePathError{path, fmt.Sprintf("%s %s; fix that, or choose another path", or(cur, "/"), msg)}
		}
		cur += "/" + name
		next, err := step(fd, name, cur, last && !dir, mode, uid, gid, last)
		unix.Close(fd)
		if err != nil {
			var ue *UnsafePathError
			if errors.As(err, &ue) {
				ue.Path = path
			}
			return err
		}
		fd = next
	}
	unix.Close(fd)
	return nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// aboveProblem says why a directory above a DIRS/FILES path is not safe to make
// things in as root for uid:gid, or "": it must belong to root, svcwrap's user or
// uid (the service's own directory: making its files there gives it nothing it
// could not take), and be writable by nobody else but gid's members, unless it
// is sticky (/tmp).
func aboveProblem(st *unix.Stat_t, uid, gid int) string {
	switch {
	case !TrustedOwner(st.Uid) && int(st.Uid) != uid:
		return fmt.Sprintf("is owned by uid %d", st.Uid)
	case st.Mode&unix.S_ISVTX != 0:
	case st.Mode&0o002 != 0, st.Mode&0o020 != 0 && int(st.Gid) != gid:
		return fmt.Sprintf("can be written by group or others (mode %04o)", st.Mode&0o7777)
	}
	return ""
}

// step opens (making it if missing) component name of the directory dirfd: a
// directory, or with file a regular file; the final component (final) gets
// mode and uid:gid.
func step(dirfd int, name, shown string, file bool, mode os.FileMode, uid, gid int, final bool) (int, error) {
	var st unix.Stat_t
	err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case errors.Is(err, unix.ENOENT) && file:
		fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return -1, fmt.Errorf("%s: %w", shown, err)
		}
		return fd, apply(fd, shown, mode, uid, gid)
	case errors.Is(err, unix.ENOENT):
		m := uint32(0o755)
		if final {
			m = 0o700 // opened up below, once it is uid's
		}
		if err := unix.Mkdirat(dirfd, name, m); err != nil && !errors.Is(err, unix.EEXIST) {
			return -1, fmt.Errorf("%s: %w", shown, err)
		}
	case err != nil:
		return -1, fmt.Errorf("%s: %w", shown, err)
	case st.Mode&unix.S_IFMT == unix.S_IFLNK:
		return -1, &UnsafePathError{"", fmt.Sprintf("%s is a symlink; svcwrap never follows one to make a service's path (fix: use the path it points to)", shown)}
	case final && !TrustedOwner(st.Uid) && int(st.Uid) != uid:
		return -1, &UnsafePathError{"", fmt.Sprintf("%s exists and is owned by uid %d, neither root nor the service's; fix: rm -r %s", shown, st.Uid, shown)}
	}
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if file {
		flags = unix.O_WRONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC
	}
	fd, err := unix.Openat(dirfd, name, flags, 0)
	if err != nil {
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EISDIR) {
			kind := "a directory"
			if file {
				kind = "a regular file"
			}
			return -1, &UnsafePathError{"", fmt.Sprintf("%s exists and is not %s", shown, kind)}
		}
		return -1, fmt.Errorf("%s: %w", shown, err)
	}
	if file {
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Nlink > 1 {
			unix.Close(fd)
			return -1, &UnsafePathError{"", fmt.Sprintf("%s exists and is not a regular file with one link", shown)}
		}
	}
	if final {
		if err := apply(fd, shown, mode, uid, gid); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// apply gives the open file fd its owner and mode.
func apply(fd int, shown string, mode os.FileMode, uid, gid int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	if int(st.Uid) != uid || int(st.Gid) != gid {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return fmt.Errorf("chown %d:%d %s: %w", uid, gid, shown, err)
		}
	}
	m := uint32(mode.Perm())
	if mode&os.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if mode&os.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if mode&os.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	if err := unix.Fchmod(fd, m); err != nil {
		return fmt.Errorf("chmod %04o %s: %w", m, shown, err)
	}
	return nil
}
