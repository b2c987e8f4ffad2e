package service

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-shellwords"
	"golang.org/x/sys/unix"

	"svcwrap/envfile"
	"svcwrap/lsb"
)

// VerbKind says how a custom verb works.
type VerbKind int

const (
	VerbCommand VerbKind = iota // COMMAND_<verb>: run a command
	VerbSignal                  // SIGNAL_<verb>: signal the daemon
)

// Verb is a custom verb of a definition.
type Verb struct {
	Name   string
	Kind   VerbKind
	Argv   []string    // VerbCommand
	Signal unix.Signal // VerbSignal
	Help   string
	Key    string // COMMAND_X or SIGNAL_X
	Line   int
}

// Definition is a parsed, validated service definition.
type Definition struct {
	Name   string
	File   string
	Desc   string
	Header *lsb.Header

	Argv    []string // DAEMON, split and expanded
	Path    string   // Argv[0] resolved on the fixed PATH; "" when PathErr is set
	PathErr error    // the program is not installed (LSB exit 5)

	daemonLine int  // DAEMON's line
	pathLater  bool // Path is not resolved yet (a Lister's definition: call program())

	// HostProblems are facts about this host rather than mistakes in the file:
	// DAEMON's program is not installed, USER or GROUP does not exist. status and
	// stop still work; start refuses (see Runnable) and check warns.
	HostProblems []Problem

	PidFile string
	Forks   bool

	User, Group string
	Cred        *syscall.Credential // nil: run as svcwrap's own user
	UserErr     *lsb.Error          // USER/GROUP cannot apply on this host (also in HostProblems)
	Umask       uint32
	Chdir       string
	Nice        int
	Limits      []Limit

	EnvFiles []string
	Env      []string // the service environment

	Respawn      Policy
	NormalExit   ExitSet
	RespawnDelay time.Duration
	RespawnLimit Window
	StartWait    time.Duration
	StartTimeout time.Duration
	Ready        *Probe
	ReadyArgv    []string // READY exec
	Check        *Probe
	CheckArgv    []string // CHECK exec
	CheckEvery   time.Duration
	CheckTimeout time.Duration
	CheckFails   int
	MaxRSS       int64
	StopSchedule Schedule

	ReloadSignal  unix.Signal
	ReloadCommand []string
	Guard         string

	Verbs []*Verb // in file order

	Log        string // a file path, "syslog" or "none"
	LogMaxSize int64
	LogKeep    int

	// Secrets maps each key whose value takes $VAR/${VAR} from the env files to the
	// names of those variables: messages about such a key never show its value.
	Secrets    map[string][]string
	secretVals map[string][]string // their values, to recognise them in messages
}

// Problem is one thing wrong with a definition.
type Problem struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (p Problem) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
	}
	if p.Key != "" {
		s += ": " + p.Key
	}
	return s + ": " + p.Msg
}

// DefinitionError lists every problem found; its exit code is LSB 6 (not configured).
type DefinitionError struct{ Problems []Problem }

func (e *DefinitionError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// ExitCode is LSB 6, "program is not configured".
func (e *DefinitionError) ExitCode() int { return int(lsb.NotConfigured) }

// BuiltinVerbs are the verbs svcwrap defines; custom verbs may not shadow them.
var BuiltinVerbs = []string{"start", "stop", "restart", "try-restart", "condrestart", "reload", "force-reload", "status", "signal", "help"}

// VerbName turns the part of a key after COMMAND_/SIGNAL_/HELP_ into a verb name.
func VerbName(suffix string) string {
	return strings.ReplaceAll(strings.ToLower(suffix), "_", "-")
}

// loader accumulates problems while a definition is read.
type loader struct {
	def      *Definition
	problems []Problem
	raw      *envfile.File // the definition before ${VAR} took values from the env files
	ls       *Lister       // list's loader: shared facts, and no host lookups (see Lister)
}

func (l *loader) add(file string, line int, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" && l.def.leaks(key, msg) {
		msg = l.def.secretMsg(key)
	}
	l.problems = append(l.problems, Problem{File: file, Line: line, Key: key, Msg: msg})
}

func unwrapPathErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// syntaxProblem turns an envfile error into a Problem.
func syntaxProblem(file string, err error) Problem {
	var se *envfile.SyntaxError
	if errors.As(err, &se) {
		return Problem{File: se.File, Line: se.Line, Msg: se.Msg}
	}
	return Problem{File: file, Msg: err.Error()}
}

// Load reads and validates the definition of service name from file. A program that
// is not installed or a missing user is not an error here but a HostProblem,
// because only start needs them, while stop and status must still work.
func Load(name, file string, paths Paths) (*Definition, error) {
	data, p := readConfigFile(file)
	if p != nil {
		return nil, &DefinitionError{Problems: []Problem{*p}}
	}
	return Parse(name, file, data, paths)
}

// Parse validates data, the contents of the definition file of service name, as
// Load does once it has read the file (the env files it names are still read).
func Parse(name, file string, data []byte, paths Paths) (*Definition, error) {
	l := &loader{def: &Definition{Name: name, File: file}}
	if p := checkConfigData(file, data); p != nil {
		return nil, &DefinitionError{Problems: []Problem{*p}}
	}
	l.parse(data, paths)
	if len(l.problems) > 0 {
		return nil, &DefinitionError{Problems: l.problems}
	}
	return l.def, nil
}

func (l *loader) parse(data []byte, paths Paths) {
	d := l.def
	if h, err := lsb.ParseHeader(data); err != nil {
		var he *lsb.HeaderError
		if errors.As(err, &he) {
			l.add(d.File, he.Line, "", "LSB header: %s", he.Msg)
		} else {
			l.add(d.File, 0, "", "LSB header: %v", err)
		}
	} else {
		d.Header = h
	}
	f, err := envfile.Parse(d.File, data, nil)
	if err != nil {
		l.problems = append(l.problems, syntaxProblem(d.File, err))
		return
	}
	// The environment comes first: DAEMON and the other command lines expand
	// ${VAR} from it, and ENV_FILE names the files to load.
	env := l.loadEnv(f, paths)
	l.raw = f
	if bytes.IndexByte(data, '$') >= 0 && len(env) > 0 {
		if f2, err := envfile.Parse(d.File, data, env); err == nil {
			f = f2
			l.findSecrets(data, env)
		}
	}
	l.keys(f, env, paths)
}

// loadEnv loads ENV_FILE (or the default env files) and builds the service
// environment: the fixed PATH, the caller's locale, then every env file variable.
func (l *loader) loadEnv(f *envfile.File, paths Paths) map[string]string {
	d := l.def
	if v, ok := f.Lookup("ENV_FILE"); ok {
		for _, p := range strings.Fields(v.Value) {
			if !filepath.IsAbs(p) {
				l.add(d.File, v.Line, "ENV_FILE", "%q is not an absolute path", p)
				continue
			}
			d.EnvFiles = append(d.EnvFiles, p)
		}
	} else {
		for _, dir := range paths.Defaults {
			p := filepath.Join(dir, d.Name)
			if l.ls != nil && !l.ls.mayHave(dir, d.Name) {
				continue
			}
			if _, err := os.Stat(p); err == nil {
				d.EnvFiles = append(d.EnvFiles, p)
			}
		}
	}
	base := map[string]string{"PATH": FixedPATH}
	order := []string{"PATH"}
	for _, kv := range localeEnv() {
		k, v, _ := strings.Cut(kv, "=")
		base[k] = v
		order = append(order, k)
	}
	vars := map[string]string{}
	for _, p := range d.EnvFiles {
		data, prob := l.readConfigFile(p)
		if prob != nil {
			l.problems = append(l.problems, *prob)
			continue
		}
		ef, err := envfile.Parse(p, data, mergeMaps(base, vars))
		if err != nil {
			l.problems = append(l.problems, syntaxProblem(p, err))
			continue
		}
		for _, v := range ef.Vars {
			if _, seen := base[v.Key]; !seen {
				if _, seen := vars[v.Key]; !seen {
					order = append(order, v.Key)
				}
			}
			vars[v.Key] = v.Value
		}
	}
	all := mergeMaps(base, vars)
	d.Env = make([]string, 0, len(order))
	for _, k := range order {
		d.Env = append(d.Env, k+"="+all[k])
	}
	return vars
}

func mergeMaps(a, b map[string]string) map[string]string {
	m := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		m[k] = v
	}
	for k, v := range b {
		m[k] = v
	}
	return m
}

// splitCommand splits a command line like a shell would, without running one:
// $VAR and ${VAR} come from the service environment only, backticks are not run,
// and an unquoted ; & | < > is refused rather than silently cutting the line.
func splitCommand(s string, env []string) ([]string, error) {
	p := shellwords.NewParser()
	p.ParseEnv = true
	p.ParseBacktick = false
	p.Getenv = func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if key, v, _ := strings.Cut(env[i], "="); key == k {
				return v
			}
		}
		return ""
	}
	args, err := p.Parse(s)
	if err != nil {
		return nil, errors.New("cannot split the command line like a shell: unbalanced quotes or escapes")
	}
	if p.Position != -1 {
		// The value is not shown: it may hold a secret expanded from an env file.
		return nil, fmt.Errorf("contains an unquoted shell operator (; & | < >) at offset %d: no shell is run; quote it, or run a script", p.Position)
	}
	if len(args) == 0 {
		return nil, errors.New("empty command line")
	}
	return args, nil
}

// ResolveProgram finds argv0 as a shell would with the fixed PATH.
func ResolveProgram(argv0 string) (string, error) {
	if strings.Contains(argv0, "/") {
		if !filepath.IsAbs(argv0) {
			return "", fmt.Errorf("%s: relative paths are not allowed; use an absolute path", argv0)
		}
		fi, err := os.Stat(argv0)
		if err != nil {
			return "", fmt.Errorf("%s: not installed (%s)", argv0, unwrapPathErr(err))
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%s: not an executable file", argv0)
		}
		return argv0, nil
	}
	for _, dir := range filepath.SplitList(FixedPATH) {
		p := filepath.Join(dir, argv0)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found on PATH %s; install it or use an absolute path", argv0, FixedPATH)
}

// lookupUser resolves USER and GROUP into a credential with the user's supplementary
// groups. os/user in a static binary reads /etc/passwd and /etc/group only; for
// users from NSS (LDAP, sssd) it falls back to getent(1).
func lookupUser(name, group string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		if _, nerr := strconv.Atoi(name); nerr == nil {
			u, err = user.LookupId(name)
		}
	}
	if err != nil {
		u, err = getentUser(name)
	}
	if err != nil {
		return nil, fmt.Errorf("no such user %q", name)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if group != "" {
		g, err := user.LookupGroup(group)
		if err != nil {
			if _, nerr := strconv.Atoi(group); nerr == nil {
				g, err = user.LookupGroupId(group)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("no such group %q", group)
		}
		gid, _ = strconv.ParseUint(g.Gid, 10, 32)
		cred.Gid = uint32(gid)
	}
	// The supplementary groups are what initgroups(3) gives (as login, su and
	// start-stop-daemon --chuid do): the group svcwrap switches to, then every
	// group that lists the user. Exactly these: root's must never leak.
	ids, _ := u.GroupIds()
	cred.Groups = []uint32{cred.Gid}
	for _, s := range ids {
		if g, err := strconv.ParseUint(s, 10, 32); err == nil && !slices.Contains(cred.Groups, uint32(g)) && s != u.Gid {
			cred.Groups = append(cred.Groups, uint32(g))
		}
	}
	return cred, nil
}

func getentUser(name string) (*user.User, error) {
	out, err := exec.Command("/usr/bin/getent", "passwd", name).Output()
	if err != nil {
		return nil, err
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	if len(f) < 7 {
		return nil, errors.New("bad getent output")
	}
	return &user.User{Username: f[0], Uid: f[2], Gid: f[3], HomeDir: f[5]}, nil
}

// Runnable says whether start can run the daemon on this host: LSB 5 when the
// program is not installed, 6 when USER or GROUP does not exist.
func (d *Definition) Runnable() error {
	if d.PathErr != nil {
		return &lsb.Error{Code: lsb.NotInstalled, Err: d.PathErr}
	}
	if len(d.HostProblems) > 0 {
		return &lsb.Error{Code: lsb.NotConfigured, Err: errors.New(d.HostProblems[0].String())}
	}
	return nil
}

func isBuiltin(verb string) bool { return slices.Contains(BuiltinVerbs, verb) }
