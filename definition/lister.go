package definition

import (
	"os"
	"sync"

	"svcwrap/safefile"
)

// Lister loads many definitions for `list`. Its Load reports exactly the problems
// Load reports (list shows the first one), but skips what only start needs and
// shares what the files have in common:
//   - DAEMON's program is resolved on PATH only if status needs it (a pidfile with
//     no state file), and USER and GROUP are not looked up: both only ever give
//     HostProblems, which list does not show, and status needs neither;
//   - the trust facts of each directory (a safefile.TrustCache) and which names
//     each DEFAULTS directory holds are found once per Lister, not once per file.
//
// A Lister is for one run of list: it does not notice a directory that changes
// while it lives. It is safe for concurrent use.
type Lister struct {
	paths Paths
	trust *safefile.TrustCache

	mu       sync.Mutex
	defaults map[string]map[string]bool // DEFAULTS dir -> names in it; nil: unreadable
}

// NewLister returns a Lister for the definitions under paths.
func NewLister(paths Paths) *Lister {
	return &Lister{paths: paths, trust: safefile.NewTrustCache(), defaults: map[string]map[string]bool{}}
}

// Load is Load for list (see Lister).
func (ls *Lister) Load(name, file string) (*Definition, error) {
	data, p := safefile.ReadConfig(file, ls.trust)
	if p != nil {
		return nil, &Error{Problems: []Problem{{File: p.File, Line: p.Line, Msg: p.Msg}}}
	}
	return newLoader(name, file, ls.paths, ls).run(data)
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
