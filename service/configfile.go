package service

// Reading definitions and env files: size limits, and sshd-style strict modes when
// svcwrap runs as root.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// MaxDefinitionSize bounds a definition or env file, in bytes.
const MaxDefinitionSize = 1 << 20

// MaxLineLength bounds one line of a definition or env file, in bytes.
const MaxLineLength = 64 << 10

// readConfigFile reads a definition or env file, enforcing the size bounds and, when
// running as root, the ownership and mode rules of checkTrusted. It never blocks on
// a FIFO or a device: the file is opened non-blocking and must be a regular file.
func readConfigFile(path string) ([]byte, *Problem) { return readConfigFileWith(path, nil) }

// readConfigFile is readConfigFile with the Lister's shared facts, if any.
func (l *loader) readConfigFile(path string) ([]byte, *Problem) {
	return readConfigFileWith(path, l.ls)
}

func readConfigFileWith(path string, ls *Lister) ([]byte, *Problem) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &Problem{File: path, Msg: "cannot read: " + err.Error()}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &Problem{File: path, Msg: "cannot read: " + err.Error()}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, &Problem{File: path, Msg: "not a regular file"}
	}
	euid := 0
	if ls != nil {
		euid = ls.euid
	} else {
		euid = os.Geteuid()
	}
	if euid == 0 {
		if p := checkTrusted(path, &st, ls); p != nil {
			return nil, p
		}
	}
	if st.Size > MaxDefinitionSize {
		return nil, &Problem{File: path, Msg: fmt.Sprintf("too large: %d bytes, at most %d (1 MiB) are accepted", st.Size, MaxDefinitionSize)}
	}
	b, err := readAllFd(fd, path, st.Size, MaxDefinitionSize+1)
	if err != nil {
		return nil, &Problem{File: path, Msg: "cannot read: " + err.Error()}
	}
	if p := checkConfigData(path, b); p != nil {
		return nil, p
	}
	return b, nil
}

// checkConfigData applies the size bounds to the contents of a file.
func checkConfigData(path string, b []byte) *Problem {
	if len(b) > MaxDefinitionSize {
		return &Problem{File: path, Msg: fmt.Sprintf("too large: more than %d bytes (1 MiB)", MaxDefinitionSize)}
	}
	line := 1
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		if i > MaxLineLength {
			return &Problem{File: path, Line: line, Msg: fmt.Sprintf("line too long: %d bytes, at most %d (64 KiB) per line", i, MaxLineLength)}
		}
		b = b[min(i+1, len(b)):]
		line++
	}
	return nil
}

// checkTrusted is sshd's StrictModes for a file root is about to obey: the file (st,
// from fstat of the open file) must be owned by root and writable by nobody else,
// and so must the directory holding it (as named, and after symlinks are resolved),
// unless that directory is sticky (/tmp): there, nobody but root can replace a file
// root owns. Each refusal names the command that fixes it.
// With a Lister (list), what is known of each directory is found once.
func checkTrusted(path string, st *unix.Stat_t, ls *Lister) *Problem {
	if st.Uid != 0 {
		return &Problem{File: path, Msg: fmt.Sprintf("owned by uid %d, not root, and svcwrap runs as root: anyone who can change it could run commands as root; fix: chown root:root %s", st.Uid, path)}
	}
	if st.Mode&0o022 != 0 {
		return &Problem{File: path, Msg: fmt.Sprintf("writable by group or others (mode %04o), and svcwrap runs as root: fix: chmod go-w %s", st.Mode&0o7777, path)}
	}
	dirs := []string{filepath.Dir(path)}
	if ls != nil {
		if real, err := ls.realDir(path); err == nil && real != dirs[0] {
			dirs = append(dirs, real)
		}
	} else if real, err := filepath.EvalSymlinks(path); err == nil && filepath.Dir(real) != dirs[0] {
		dirs = append(dirs, filepath.Dir(real))
	}
	for _, dir := range dirs {
		why, fix := "", ""
		if ls != nil {
			why, fix = ls.untrusted(dir)
		} else {
			why, fix = untrustedDir(dir)
		}
		if why != "" {
			return &Problem{File: path, Msg: fmt.Sprintf("lies in %s, which %s: anyone who can replace the file could run commands as root; fix: %s", dir, why, fix)}
		}
	}
	return nil
}

// untrustedDir says why someone other than root could replace a file in dir, and
// the fix, or "" when only root can.
func untrustedDir(dir string) (why, fix string) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", "" // the open just succeeded: a vanished directory is no risk
	}
	switch {
	case !trustedOwner(st.Uid):
		return "is owned by uid " + strconv.Itoa(int(st.Uid)), "chown root " + dir
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		return fmt.Sprintf("group or others can write (mode %04o)", st.Mode&0o7777), "chmod go-w " + dir
	}
	return "", ""
}
