package safefile

// Reading definitions and env files: size limits, and sshd-style strict modes when
// svcwrap runs as root.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// MaxConfigSize bounds a definition or env file, in bytes.
const MaxConfigSize = 1 << 20

// MaxLineLength bounds one line of a definition or env file, in bytes.
const MaxLineLength = 64 << 10

// Problem is why a definition or env file cannot be used: the file, the line when
// one is to blame (0 for the whole file), and what is wrong.
type Problem struct {
	File string
	Line int
	Msg  string
}

// ReadConfig reads a definition or env file, enforcing the size bounds and, when
// running as root, the ownership and mode rules of the trust policy. It never
// blocks on a FIFO or a device: the file is opened non-blocking and must be a
// regular file. cache, when not nil, answers for the directories (see TrustCache).
func ReadConfig(path string, cache *TrustCache) ([]byte, *Problem) {
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
	if cache != nil {
		euid = cache.euid
	} else {
		euid = os.Geteuid()
	}
	if euid == 0 {
		if p := checkTrusted(path, &st, cache); p != nil {
			return nil, p
		}
	}
	if st.Size > MaxConfigSize {
		return nil, &Problem{File: path, Msg: fmt.Sprintf("too large: %d bytes, at most %d (1 MiB) are accepted", st.Size, MaxConfigSize)}
	}
	b, err := readAllFd(fd, path, st.Size, MaxConfigSize+1)
	if err != nil {
		return nil, &Problem{File: path, Msg: "cannot read: " + err.Error()}
	}
	if p := CheckConfigData(path, b); p != nil {
		return nil, p
	}
	return b, nil
}

// CheckConfigData applies the size bounds to the contents of a file.
func CheckConfigData(path string, b []byte) *Problem {
	if len(b) > MaxConfigSize {
		return &Problem{File: path, Msg: fmt.Sprintf("too large: more than %d bytes (1 MiB)", MaxConfigSize)}
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
func checkTrusted(path string, st *unix.Stat_t, cache *TrustCache) *Problem {
	if st.Uid != 0 {
		return &Problem{File: path, Msg: fmt.Sprintf("owned by uid %d, not root, and svcwrap runs as root: anyone who can change it could run commands as root; fix: chown root:root %s", st.Uid, path)}
	}
	if st.Mode&0o022 != 0 {
		return &Problem{File: path, Msg: fmt.Sprintf("writable by group or others (mode %04o), and svcwrap runs as root: fix: chmod go-w %s", st.Mode&0o7777, path)}
	}
	dirs := []string{filepath.Dir(path)}
	if real, err := cache.realDir(path); err == nil && real != dirs[0] {
		dirs = append(dirs, real)
	}
	for _, dir := range dirs {
		if why, fix := cache.untrusted(dir); why != "" {
			return &Problem{File: path, Msg: fmt.Sprintf("lies in %s, which %s: anyone who can replace the file could run commands as root; fix: %s", dir, why, fix)}
		}
	}
	return nil
}

// UntrustedDir says why someone other than root (or svcwrap's own user) could
// replace a file in dir, and the fix, or "" when only they can.
func UntrustedDir(dir string) (why, fix string) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return "", "" // the open just succeeded: a vanished directory is no risk
	}
	switch {
	case !TrustedOwner(st.Uid):
		return "is owned by uid " + strconv.Itoa(int(st.Uid)), "chown root " + dir
	case st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0:
		return fmt.Sprintf("group or others can write (mode %04o)", st.Mode&0o7777), "chmod go-w " + dir
	}
	return "", ""
}

// TrustCache finds what the trust policy needs to know of each directory (who
// owns it, who may write it, where its symlinks lead) once, for a command that
// reads many files from few directories (`list`). It does not notice a directory
// that changes while it lives. A nil *TrustCache finds everything afresh. It is
// safe for concurrent use.
type TrustCache struct {
	euid int
	mu   sync.Mutex
	dirs map[string]*dirFacts
}

type dirFacts struct {
	once     sync.Once
	why, fix string // UntrustedDir
	real     string // filepath.EvalSymlinks
	realErr  error
}

// NewTrustCache returns an empty cache.
func NewTrustCache() *TrustCache {
	return &TrustCache{euid: os.Geteuid(), dirs: map[string]*dirFacts{}}
}

func (c *TrustCache) dir(dir string) *dirFacts {
	c.mu.Lock()
	f := c.dirs[dir]
	if f == nil {
		f = &dirFacts{}
		c.dirs[dir] = f
	}
	c.mu.Unlock()
	f.once.Do(func() {
		f.why, f.fix = UntrustedDir(dir)
		f.real, f.realErr = filepath.EvalSymlinks(dir)
	})
	return f
}

func (c *TrustCache) untrusted(dir string) (why, fix string) {
	if c == nil {
		return UntrustedDir(dir)
	}
	f := c.dir(dir)
	return f.why, f.fix
}

// realDir is filepath.Dir(filepath.EvalSymlinks(path)): the directory the file
// really is in. Unless the file itself is a symlink, that is the directory's own
// resolution, found once.
func (c *TrustCache) realDir(path string) (string, error) {
	var st unix.Stat_t
	if c == nil || unix.Lstat(path, &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
		real, err := filepath.EvalSymlinks(path)
		return filepath.Dir(real), err
	}
	f := c.dir(filepath.Dir(path))
	return f.real, f.realErr
}
