// Package definition reads and validates a service definition: the file and the
// env files it loads, every key with its default and parser in one table (keys.go),
// the service environment, and the commands the definition names. It runs nothing
// and starts no process; a definition is data that the CLI and the watchdog act on.
package definition

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/envfile"
	"svcwrap/lsb"
	"svcwrap/probe"
	"svcwrap/safefile"
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
	// RestartDependents (RESTART_DEPENDENTS): restart also restarts the running
	// services whose Required-Start needs this one.
	RestartDependents bool

	// Template is the name of the template a definition of an instance comes from
	// (TEMPLATE of TEMPLATE@INST), Instance its instance; IsTemplate says the
	// definition is a template (it uses ${INSTANCE} or sets INSTANCES), loaded
	// either for an instance or bare (Instance "": for its bare verbs).
	Template, Instance string
	IsTemplate         bool
	Instances          []string // INSTANCES' words (InstanceNames)
	InstancesAll       []string // INSTANCES_ALL's words: what "all" means

	Argv    []string // DAEMON, split and expanded
	Path    string   // Argv[0] resolved on the fixed PATH; "" when PathErr is set
	PathErr error    // the program is not installed (LSB exit 5)

	daemonLine int  // DAEMON's line
	pathLater  bool // Path is not resolved yet (a Lister's definition: call Program())

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

	Respawn       Policy
	NormalExit    ExitSet
	RespawnDelay  time.Duration
	RespawnLimit  Window
	StartWait     time.Duration
	StartTimeout  time.Duration
	Ready         *probe.Probe
	ReadyArgv     []string      // READY exec
	NotifyAll     bool          // NOTIFY_ACCESS=all
	Cgroup        bool          // CGROUP: the daemon runs in a cgroup of its own (where the host has cgroup v2)
	Listen        []Listen      // LISTEN: sockets the watchdog holds and passes to every spawn
	ListenNginx   bool          // LISTEN_STYLE=nginx: NGINX="3;4;" instead of LISTEN_FDS
	Overlap       bool          // RESTART=overlap: restart starts the new daemon before stopping the old
	EventInterval time.Duration // ON_EVENT_INTERVAL
	WatchdogSec   time.Duration // WATCHDOG_SEC
	Check         *probe.Probe
	CheckArgv     []string // CHECK exec
	CheckEvery    time.Duration
	CheckTimeout  time.Duration
	CheckFails    int
	MaxRSS        int64
	StopSchedule  Schedule

	// The cgroup limits (0: none): MEMORY_MAX and MEMORY_HIGH in bytes, PIDS_MAX,
	// CPU_MAX in percent of one CPU, IO_WEIGHT (1-10000).
	MemoryMax, MemoryHigh int64
	PidsMax, CPUMax       int
	IOWeight              int

	ReloadSignal  unix.Signal
	ReloadCommand []string
	Guard         string

	Verbs []*Verb // in file order

	Log        string // a file path, "syslog", "console" or "none"
	LogMaxSize int64
	LogKeep    int

	Dirs, Files []PathSpec       // made before every spawn (and GUARD)
	hooks       map[string]*Hook // PRE_START, POST_START, PRE_STOP, STOP_COMMAND, POST_STOP
	StopForever bool             // STOP_SCHEDULE may end with "forever"

	Enabled     bool        // ENABLED (true when unset)
	EnabledBy   string      // where ENABLED's value comes from: "FILE:LINE (KEY=VALUE)"
	Conditions  []Condition // CONDITION: all must hold for start
	conditionAt string      // CONDITION's FILE:LINE

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

// Error lists every problem found; its exit code is LSB 6 (not configured).
type Error struct{ Problems []Problem }

func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// ExitCode is LSB 6, "program is not configured".
func (e *Error) ExitCode() int { return int(lsb.NotConfigured) }

// Builtin is a verb svcwrap defines.
type Builtin struct {
	Name, Help string
	Args       bool // it takes arguments
}

// Builtins are svcwrap's own verbs, in the order usage lists them.
var Builtins = []Builtin{
	{Name: "start", Help: "start the daemon and its watchdog"},
	{Name: "stop", Help: "stop the watchdog, then the daemon (--with-dependents: the services that need it first)"},
	{Name: "restart", Help: "stop, then start"},
	{Name: "try-restart", Help: "restart if running (also: condrestart)"},
	{Name: "reload", Help: "make the daemon reload its configuration"},
	{Name: "force-reload", Help: "reload if supported, else restart if running"},
	{Name: "status", Help: "print the state; exit 0 running, 1 dead, 3 stopped, 4 unknown"},
	{Name: "signal", Help: "signal SIG: send a signal (name or number) to the daemon", Args: true},
	{Name: "help", Help: "show this usage", Args: true},
}

// BuiltinVerbs are the names of the Builtins and condrestart (try-restart's other
// name); custom verbs may not shadow them.
var BuiltinVerbs = func() []string {
	names := []string{}
	for _, b := range Builtins {
		names = append(names, b.Name)
	}
	return append(names, "condrestart")
}()

// IsBuiltin reports whether verb is one of BuiltinVerbs.
func IsBuiltin(verb string) bool { return slices.Contains(BuiltinVerbs, verb) }

// VerbName turns the part of a key after COMMAND_/SIGNAL_/HELP_ into a verb name.
func VerbName(suffix string) string {
	return strings.ReplaceAll(strings.ToLower(suffix), "_", "-")
}

// Verb returns the custom verb called name, or nil.
func (d *Definition) Verb(name string) *Verb {
	for _, v := range d.Verbs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// ProbeExec is how the watchdog runs an exec probe p (READY or CHECK) of d.
func (d *Definition) ProbeExec(p *probe.Probe) *probe.Exec {
	x := &probe.Exec{Command: d.Command, Umask: d.Umask, Argv: d.ReadyArgv, Bound: d.StartTimeout, BoundName: "START_TIMEOUT"}
	if p == d.Check {
		x.Argv, x.Bound, x.BoundName = d.CheckArgv, d.CheckTimeout, "CHECK_TIMEOUT"
	}
	return x
}

// CanReload reports whether the definition says how to reload.
func (d *Definition) CanReload() bool { return d.ReloadSignal != 0 || d.ReloadCommand != nil }

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

// loader accumulates problems while a definition is read.
type loader struct {
	def      *Definition
	paths    Paths
	problems []Problem
	lines    map[string]int      // line of each key that is set
	raw      *envfile.File       // the definition before ${VAR} took values from the env files
	unset    map[string][]string // for each key, the names its value expanded unset
	expanded []envfile.Var       // the definition's keys, expanded
	envAt    map[string]string   // for each env file variable, FILE:LINE of its last assignment
	ls       *Lister             // list's loader: shared facts, and no host lookups (see Lister)
	helps    []envfile.Var       // HELP_ keys in file order
	verbKey  map[string]string
	// restartSet: RESTART was given (else it follows LISTEN).
	restartSet bool
}

func (l *loader) add(line int, key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if key != "" && l.def.leaks(key, msg) {
		msg = l.def.secretMsg(key)
	}
	l.problems = append(l.problems, Problem{File: l.def.File, Line: line, Key: key, Msg: msg})
}

func (l *loader) addProblem(p *safefile.Problem) {
	l.problems = append(l.problems, Problem{File: p.File, Line: p.Line, Msg: p.Msg})
}

func (l *loader) cache() *safefile.TrustCache {
	if l.ls == nil {
		return nil
	}
	return l.ls.trust
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
	data, p := safefile.ReadConfig(file, nil)
	if p != nil {
		return nil, &Error{Problems: []Problem{{File: p.File, Line: p.Line, Msg: p.Msg}}}
	}
	return Parse(name, file, data, paths)
}

// Parse validates data, the contents of the definition file of service name, as
// Load does once it has read the file (the env files it names are still read).
func Parse(name, file string, data []byte, paths Paths) (*Definition, error) {
	if p := safefile.CheckConfigData(file, data); p != nil {
		return nil, &Error{Problems: []Problem{{File: p.File, Line: p.Line, Msg: p.Msg}}}
	}
	return newLoader(name, file, paths, nil).run(data)
}

func newLoader(name, file string, paths Paths, ls *Lister) *loader {
	return &loader{def: &Definition{Name: name, File: file}, paths: paths, ls: ls, lines: map[string]int{}, verbKey: map[string]string{}}
}

func (l *loader) run(data []byte) (*Definition, error) {
	l.parse(data)
	if len(l.problems) > 0 {
		return nil, &Error{Problems: l.problems}
	}
	return l.def, nil
}

func (l *loader) parse(data []byte) {
	d := l.def
	if h, err := lsb.ParseHeader(data); err != nil {
		var he *lsb.HeaderError
		if errors.As(err, &he) {
			l.add(he.Line, "", "LSB header: %s", he.Msg)
		} else {
			l.add(0, "", "LSB header: %v", err)
		}
	} else {
		d.Header = h
	}
	d.Template, d.Instance = SplitInstance(d.Name)
	f, err := envfile.Parse(d.File, data, nil)
	if err != nil {
		l.problems = append(l.problems, syntaxProblem(d.File, err))
		return
	}
	if d.Instance != "" && !l.usesInstance(f) {
		l.add(0, "", "%s is not a template (its definition uses no ${INSTANCE} and sets no INSTANCES), so it has no instance %s", d.Template, quoteValue(d.Instance))
		return
	}
	if d.Instance != "" || l.usesInstance(f) {
		// A template: ${INSTANCE} is the instance's name (empty when the
		// template is loaded bare, for its bare verbs), also in ENV_FILE.
		d.IsTemplate = true
		if d.Instance != "" {
			if err := ValidInstance(d.Instance); err != nil {
				l.add(0, "", "%v", err)
				return
			}
		}
		if f, err = envfile.Parse(d.File, data, map[string]string{"INSTANCE": d.Instance}); err != nil {
			l.problems = append(l.problems, syntaxProblem(d.File, err))
			return
		}
	}
	// The environment comes first: DAEMON and the other command lines expand
	// ${VAR} from it, and ENV_FILE names the files to load.
	env := l.loadEnv(f)
	l.raw = f
	if bytes.IndexByte(data, '$') >= 0 && len(env) > 0 {
		if f2, err := envfile.Parse(d.File, data, env); err == nil {
			f = f2
			l.findSecrets(data, env)
		}
	}
	l.unset = f.Unset
	l.keys(f)
}

// loadEnv loads ENV_FILE (or the default env files) and builds the service
// environment: the fixed PATH, the caller's locale, then every env file variable.
func (l *loader) loadEnv(f *envfile.File) map[string]string {
	d := l.def
	if v, ok := f.Lookup("ENV_FILE"); ok {
		for _, p := range strings.Fields(v.Value) {
			// -/path: read when it exists (systemd's EnvironmentFile=-),
			// as Debian's scripts do with [ -r /etc/default/locale ].
			p, optional := strings.CutPrefix(p, "-")
			if !filepath.IsAbs(p) {
				l.add(v.Line, "ENV_FILE", "%q is not an absolute path", p)
				continue
			}
			if _, err := os.Lstat(p); optional && errors.Is(err, fs.ErrNotExist) {
				continue
			}
			d.EnvFiles = append(d.EnvFiles, p)
		}
	} else {
		// An instance's env files: the template's, then its own (the later wins).
		names := []string{d.Template}
		if d.Instance != "" {
			names = append(names, d.Name)
		}
		for _, dir := range l.paths.Defaults {
			for _, name := range names {
				p := filepath.Join(dir, name)
				if l.ls != nil && !l.ls.mayHave(dir, name) {
					continue
				}
				if _, err := os.Stat(p); err == nil {
					d.EnvFiles = append(d.EnvFiles, p)
				}
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
	if d.IsTemplate {
		vars["INSTANCE"] = d.Instance
		order = append(order, "INSTANCE")
	}
	for _, p := range d.EnvFiles {
		data, prob := safefile.ReadConfig(p, l.cache())
		if prob != nil {
			l.addProblem(prob)
			continue
		}
		ef, err := envfile.ParseReassign(p, data, mergeMaps(base, vars))
		if err != nil {
			l.problems = append(l.problems, syntaxProblem(p, err))
			continue
		}
		for _, v := range ef.Vars {
			if l.envAt == nil {
				l.envAt = map[string]string{}
			}
			l.envAt[v.Key] = p + ":" + strconv.Itoa(v.Line)
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

// usesInstance reports whether a definition is a template: one of its values
// refers to ${INSTANCE}, or it sets INSTANCES.
func (l *loader) usesInstance(f *envfile.File) bool {
	if _, ok := f.Lookup("INSTANCES"); ok {
		return true
	}
	for _, refs := range f.Refs {
		if slices.Contains(refs, "INSTANCE") {
			return true
		}
	}
	return false
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
