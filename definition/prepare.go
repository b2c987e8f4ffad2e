package definition

// What a definition asks for around the daemon: the runtime directories and
// files made before every spawn (DIRS, FILES), the hooks run as root around it
// (PRE_START, POST_START, PRE_STOP, STOP_COMMAND, POST_STOP), and whether it may
// start at all (ENABLED, CONDITION).

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/mattn/go-shellwords"

	"svcwrap/lsb"
)

// PathSpec is one entry of DIRS or FILES: PATH[:MODE[:OWNER[:GROUP]]].
type PathSpec struct {
	Path         string
	Mode         os.FileMode
	Owner, Group string // as written; "" means USER, GROUP (root when unset)
	UID, GID     int    // resolved at load (-1: not looked up, a Lister's definition)
}

// pathRoots are where DIRS and FILES may make things, besides CHDIR.
var pathRoots = []string{"/run", "/var", "/srv", "/tmp"}

// parsePaths parses DIRS or FILES: space-separated PATH[:MODE[:OWNER[:GROUP]]];
// MODE is octal (default 0755 for directories, 0644 for files).
func parsePaths(s string, mode os.FileMode, chdir string) ([]PathSpec, error) {
	var out []PathSpec
	for _, f := range strings.Fields(s) {
		parts := strings.Split(f, ":")
		if len(parts) > 4 {
			return nil, fmt.Errorf("%s: want PATH[:MODE[:OWNER[:GROUP]]]", quoteValue(f))
		}
		p := PathSpec{Path: parts[0], Mode: mode, UID: -1, GID: -1}
		if err := pathAllowed(p.Path, chdir); err != nil {
			return nil, err
		}
		if len(parts) > 1 && parts[1] != "" {
			m, err := strconv.ParseUint(parts[1], 8, 32)
			if err != nil || m > 0o7777 {
				return nil, fmt.Errorf("%s: mode %s is not octal from 0 to 7777", quoteValue(f), quoteValue(parts[1]))
			}
			p.Mode = os.FileMode(m&0o777) | unixModeBits(m)
		}
		if len(parts) > 2 {
			p.Owner = parts[2]
		}
		if len(parts) > 3 {
			p.Group = parts[3]
		}
		out = append(out, p)
	}
	return out, nil
}

// unixModeBits turns the setuid, setgid and sticky bits of an octal mode into
// os.FileMode's.
func unixModeBits(m uint64) os.FileMode {
	var b os.FileMode
	if m&0o4000 != 0 {
		b |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		b |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		b |= os.ModeSticky
	}
	return b
}

// pathAllowed refuses a path svcwrap must not make or chown as root: it must be
// absolute and clean, and lie strictly below /run, /var, /srv, /tmp or CHDIR.
func pathAllowed(p, chdir string) error {
	if !filepath.IsAbs(p) || filepath.Clean(p) != p {
		return fmt.Errorf("%s is not a clean absolute path", quoteValue(p))
	}
	roots := pathRoots
	if chdir != "" && chdir != "/" {
		roots = append(roots[:len(roots):len(roots)], filepath.Clean(chdir))
	}
	for _, r := range roots {
		if strings.HasPrefix(p, r+"/") {
			return nil
		}
	}
	return fmt.Errorf("%s is outside /run, /var, /srv, /tmp and CHDIR: svcwrap makes and hands over only a service's own runtime paths", quoteValue(p))
}

// Hook is a command line run around the daemon: as root (or *_USER), with the
// service environment, in CHDIR, with UMASK, bounded.
type Hook struct {
	Key     string   // PRE_START, ...
	Argv    []string // split like DAEMON
	User    string   // *_USER; "" is root
	Cred    *syscall.Credential
	UserErr *lsb.Error
}

// hookKeys are the hooks, in the order they run in a daemon's life.
var hookKeys = []string{"PRE_START", "POST_START", "PRE_STOP", "STOP_COMMAND", "POST_STOP"}

// Hook returns the hook of key (PRE_START, ...), or nil when there is none.
func (d *Definition) Hook(key string) *Hook {
	if h := d.hooks[key]; h != nil && h.Argv != nil {
		return h
	}
	return nil
}

// Condition is one CONDITION: a path that must exist, or a file that must hold
// a word outside its # comments (postgresql's start.conf "auto"); Negate for
// the ! forms.
type Condition struct {
	Negate bool
	Path   string
	Word   string // contains: the word; "" for exists
}

func (c Condition) String() string {
	s := "exists " + c.Path
	if c.Word != "" {
		s = "contains " + c.Path + " " + c.Word
	}
	if c.Negate {
		return "!" + s
	}
	return s
}

// Holds reports whether the condition holds now. A file that cannot be read
// contains no word.
func (c Condition) Holds() bool {
	if c.Word == "" {
		_, err := os.Stat(c.Path)
		return (err == nil) != c.Negate
	}
	return containsWord(c.Path, c.Word) != c.Negate
}

func containsWord(path, word string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if slices.Contains(strings.Fields(line), word) {
			return true
		}
	}
	return false
}

const conditionForms = "exists PATH, !exists PATH, contains FILE WORD or !contains FILE WORD"

// parseConditions parses CONDITION: conditionForms, as many as wanted, split
// like a command line (quote a path with spaces).
func parseConditions(s string) ([]Condition, error) {
	p := shellwords.NewParser()
	words, err := p.Parse(s)
	if err != nil || p.Position != -1 {
		return nil, errors.New("cannot split it like a shell: unbalanced quotes, or ; & | < >")
	}
	var out []Condition
	for i := 0; i < len(words); {
		op, negate := strings.CutPrefix(words[i], "!")
		c := Condition{Negate: negate}
		switch op {
		case "exists", "contains":
		default:
			return nil, fmt.Errorf("%s is not a condition (use %s)", quoteValue(words[i]), conditionForms)
		}
		if i+1 >= len(words) || !filepath.IsAbs(words[i+1]) {
			return nil, fmt.Errorf("%s needs an absolute path", words[i])
		}
		c.Path = words[i+1]
		i += 2
		if op == "contains" {
			if i >= len(words) || strings.TrimSpace(words[i]) == "" || strings.ContainsAny(words[i], " \t#") {
				return nil, fmt.Errorf("%s %s needs a word (no space, no #)", words[i-2], c.Path)
			}
			c.Word = words[i]
			i++
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty (use %s)", conditionForms)
	}
	return out, nil
}

// Startable says whether the definition lets its daemon start now: "", or why
// not, as `status` words it: "disabled by FILE:LINE (VAR=no)" (ENABLED), or
// `disabled: CONDITION "exists /x" does not hold (FILE:LINE)`.
func (d *Definition) Startable() string {
	if !d.Enabled {
		return "disabled by " + d.EnabledBy
	}
	for _, c := range d.Conditions {
		if !c.Holds() {
			return fmt.Sprintf("disabled: CONDITION %q does not hold (%s)", c, d.conditionAt)
		}
	}
	return ""
}

// enabledWord parses ENABLED after expansion: no, false, 0 and off disable;
// yes, true, 1, on and empty (the variable it expands is not set) enable.
func enabledWord(s string) (bool, error) {
	if strings.TrimSpace(s) == "" {
		return true, nil
	}
	return ParseBool(strings.TrimSpace(s))
}

// PidfileOwner is the uid of the DIRS directory that holds PIDFILE, or -1: a
// FORKS=yes daemon's pidfile there is its own and is trusted
// (safefile.ReadServicePidfile).
func (d *Definition) PidfileOwner() int {
	for _, p := range d.Dirs {
		if p.Path == filepath.Dir(d.PidFile) && p.UID >= 0 {
			return p.UID
		}
	}
	return -1
}
