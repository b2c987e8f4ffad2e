package service

import (
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Lister loads many definitions for `list`. Its Load reports exactly the problems
// Load reports (list shows the first one), but skips what only start needs and
// shares what the files have in common:
//   - DAEMON's program is resolved on PATH only if status needs it (a pidfile with
//     no state file), and USER and GROUP are not looked up: both only ever give
//     HostProblems, which list does not show, and Inspect needs neither;
//   - the trust checks of each directory (who owns it, where its symlinks lead),
//     svcwrap's effective uid and which names each DEFAULTS directory holds are
//     found once per Lister, instead of once per file.
//
// A Lister is for one run of list: it does not notice a directory that changes
// while it lives. It is safe for concurrent use.
type Lister struct {
	paths Paths
	euid  int

	mu       sync.Mutex
	dirs     map[string]*dirFacts
	defaults map[string]map[string]bool // DEFAULTS dir -> names in it; nil: unreadable
}

// dirFacts are the trust facts about one directory, found once.
type dirFacts struct {
	once     sync.Once
	why, fix string // untrustedDir
	real     string // filepath.EvalSymlinks
	realErr  error
}

// NewLister returns a Lister for the definitions under paths.
func NewLister(paths Paths) *Lister {
	return &Lister{paths: paths, euid: os.Geteuid(), dirs: map[string]*dirFacts{}, defaults: map[string]map[string]bool{}}
}

// Load is service.Load for list (see Lister).
func (ls *Lister) Load(name, file string) (*Definition, error) {
	l := &loader{def: &Definition{Name: name, File: file}, ls: ls}
	data, p := l.readConfigFile(file)
	if p != nil {
		return nil, &DefinitionError{Problems: []Problem{*p}}
	}
	l.parse(data, ls.paths)
	if len(l.problems) > 0 {
		return nil, &DefinitionError{Problems: l.problems}
	}
	return l.def, nil
}

func (ls *Lister) dir(dir string) *dirFacts {
	ls.mu.Lock()
	f := ls.dirs[dir]
	if f == nil {
		f = &dirFacts{}
		ls.dirs[dir] = f
	}
	ls.mu.Unlock()
	f.once.Do(func() {
		f.why, f.fix = untrustedDir(dir)
		f.real, f.realErr = filepath.EvalSymlinks(dir)
	})
	return f
}

// untrusted is untrustedDir, once per directory.
func (ls *Lister) untrusted(dir string) (why, fix string) {
	f := ls.dir(dir)
	return f.why, f.fix
}

// realDir is filepath.Dir(filepath.EvalSymlinks(path)): the directory the file
// really is in. Unless the file itself is a symlink, that is the directory's own
// resolution, found once.
func (ls *Lister) realDir(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFLNK {
		real, err := filepath.EvalSymlinks(path)
		return filepath.Dir(real), err
	}
	f := ls.dir(filepath.Dir(path))
	return f.real, f.realErr
}

// mayHave reports whether os.Stat(dir/name) can succeed: false when dir was
// read and holds no such name (one getdents for every service instead of a stat
// each); a name that is there is still stat'ed (it may be a dangling symlink).
func (ls *Lister) mayHave(dir, name string) bool {
	ls.mu.Lock()
	names, ok := ls.defaults[dir]
	if !ok {
		if f, err := os.Open(dir); err == nil {
			if list, err := f.Readdirnames(-1); err == nil {
				names = make(map[string]bool, len(list))
				for _, n := range list {
					names[n] = true
				}
			}
			f.Close()
		}
		ls.defaults[dir] = names
	}
	ls.mu.Unlock()
	return names == nil || names[name]
}
