package service

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"svcwrap/envfile"
	"svcwrap/lsb"
)

// keys applies every KEY=value of a definition, collecting problems with their line.
func (l *loader) keys(f *envfile.File, env map[string]string, paths Paths) {
	d := l.def
	file := d.File
	d.Desc = d.Name
	if d.Header != nil && d.Header.ShortDescription != "" {
		d.Desc = d.Header.ShortDescription
	}
	d.PidFile = filepath.Join(paths.PidDir, d.Name+".pid")
	d.Log = filepath.Join(paths.LogDir, d.Name+".log")
	d.Umask = 0o022
	d.Chdir = "/"
	d.Respawn = RespawnAlways
	d.NormalExit = ExitSet{Codes: []int{0}}
	d.RespawnDelay = 100 * time.Millisecond
	d.RespawnLimit = Window{N: 10, Within: 60 * time.Second}
	d.StartWait = 500 * time.Millisecond
	d.StartTimeout = 30 * time.Second
	d.CheckEvery = 30 * time.Second
	d.CheckTimeout = 5 * time.Second
	d.CheckFails = 3
	d.StopSchedule, _ = ParseSchedule("TERM/10/KILL/5")
	d.LogMaxSize = 10 << 20
	d.LogKeep = 5

	var daemon *envfile.Var
	var ready, check, reloadCmd *envfile.Var
	var guardLine, userLine, maxRSSLine int
	var helps []envfile.Var        // HELP_ keys in file order
	verbKey := map[string]string{} // verb -> the key that defines it
	verbLine := map[string]int{}
	var err error
	for i := range f.Vars {
		v := f.Vars[i]
		bad := func(e error) {
			if e != nil {
				l.add(file, v.Line, v.Key, "%v", e)
			}
		}
		switch key := v.Key; {
		case key == "DAEMON":
			daemon = &f.Vars[i]
		case key == "DESC":
			if v.Value == "" {
				l.add(file, v.Line, key, "empty")
			}
			d.Desc = v.Value
		case key == "PIDFILE":
			if !filepath.IsAbs(v.Value) {
				l.add(file, v.Line, key, "%q is not an absolute path", v.Value)
			}
			d.PidFile = filepath.Clean(v.Value)
		case key == "FORKS":
			d.Forks, err = ParseBool(v.Value)
			bad(err)
		case key == "USER":
			d.User, userLine = v.Value, v.Line
		case key == "GROUP":
			d.Group = v.Value
			if userLine == 0 {
				userLine = v.Line
			}
		case key == "UMASK":
			d.Umask, err = ParseUmask(v.Value)
			bad(err)
		case key == "CHDIR":
			if !filepath.IsAbs(v.Value) {
				l.add(file, v.Line, key, "%q is not an absolute path", v.Value)
			}
			d.Chdir = v.Value
		case key == "NICE":
			d.Nice, err = ParseNice(v.Value)
			bad(err)
		case strings.HasPrefix(key, "LIMIT_"):
			lim, err := ParseLimit(strings.TrimPrefix(key, "LIMIT_"), v.Value)
			bad(err)
			if err == nil {
				d.Limits = append(d.Limits, lim)
			}
		case key == "ENV_FILE":
			// handled by loadEnv
		case key == "RESPAWN":
			d.Respawn, err = ParsePolicy(v.Value)
			bad(err)
		case key == "NORMAL_EXIT":
			d.NormalExit, err = ParseExitSet(v.Value)
			bad(err)
		case key == "RESPAWN_DELAY":
			d.RespawnDelay, err = ParseDuration(v.Value)
			bad(err)
		case key == "RESPAWN_LIMIT":
			d.RespawnLimit, err = ParseWindow(v.Value)
			bad(err)
		case key == "START_WAIT":
			d.StartWait, err = ParseDuration(v.Value)
			bad(err)
		case key == "START_TIMEOUT":
			d.StartTimeout, err = ParseDuration(v.Value)
			bad(err)
			if err == nil && d.StartTimeout == 0 {
				l.add(file, v.Line, key, "must be more than 0: every start has a bound")
			}
		case key == "READY":
			ready = &f.Vars[i]
		case key == "CHECK":
			check = &f.Vars[i]
		case key == "CHECK_INTERVAL":
			d.CheckEvery, err = ParseDuration(v.Value)
			bad(err)
			if err == nil && d.CheckEvery < 100*time.Millisecond {
				l.add(file, v.Line, key, "%s is too short (at least 100ms)", v.Value)
			}
		case key == "CHECK_TIMEOUT":
			d.CheckTimeout, err = ParseDuration(v.Value)
			bad(err)
			if err == nil && d.CheckTimeout == 0 {
				l.add(file, v.Line, key, "must be more than 0: every check has a bound")
			}
		case key == "CHECK_FAILURES":
			d.CheckFails, err = strconv.Atoi(v.Value)
			if err != nil || d.CheckFails < 1 {
				l.add(file, v.Line, key, "%q is not a whole number of at least 1", v.Value)
			}
		case key == "MAX_RSS":
			d.MaxRSS, err = ParseSize(v.Value)
			bad(err)
			maxRSSLine = v.Line
		case key == "STOP_SCHEDULE":
			d.StopSchedule, err = ParseSchedule(v.Value)
			bad(err)
		case key == "RELOAD_SIGNAL":
			d.ReloadSignal, err = ParseSignal(v.Value)
			bad(err)
		case key == "RELOAD_COMMAND":
			reloadCmd = &f.Vars[i]
		case key == "GUARD":
			d.Guard, guardLine = v.Value, v.Line
		case key == "LOG":
			switch {
			case v.Value == "none" || v.Value == "syslog":
				d.Log = v.Value
			case filepath.IsAbs(v.Value):
				d.Log = filepath.Clean(v.Value)
			default:
				l.add(file, v.Line, key, "%q is neither an absolute path, syslog nor none", v.Value)
			}
		case key == "LOG_MAX_SIZE":
			d.LogMaxSize, err = ParseSize(v.Value)
			bad(err)
		case key == "LOG_KEEP":
			d.LogKeep, err = strconv.Atoi(v.Value)
			if err != nil || d.LogKeep < 0 || d.LogKeep > 1000 {
				l.add(file, v.Line, key, "%q is not a whole number from 0 to 1000", v.Value)
			}
		case strings.HasPrefix(key, "COMMAND_"), strings.HasPrefix(key, "SIGNAL_"):
			prefix, suffix, _ := strings.Cut(key, "_")
			name := VerbName(suffix)
			if !validVerb(name) {
				l.add(file, v.Line, key, "%q is not a usable verb name (letters, digits, - after the prefix)", name)
				continue
			}
			if isBuiltin(name) {
				l.add(file, v.Line, key, "verb %q would shadow the built-in verb; choose another name", name)
				continue
			}
			if other, dup := verbKey[name]; dup {
				l.add(file, v.Line, key, "verb %q is already defined by %s (line %d); each verb needs exactly one COMMAND_ or SIGNAL_ key", name, other, verbLine[name])
				continue
			}
			verbKey[name], verbLine[name] = key, v.Line
			vb := &Verb{Name: name, Key: key, Line: v.Line}
			if prefix == "COMMAND" {
				vb.Kind = VerbCommand
				vb.Argv, err = splitCommand(v.Value, d.Env)
				bad(err)
			} else {
				vb.Kind = VerbSignal
				vb.Signal, err = ParseSignal(v.Value)
				bad(err)
			}
			d.Verbs = append(d.Verbs, vb)
		case strings.HasPrefix(key, "HELP_"):
			helps = append(helps, v)
		default:
			l.add(file, v.Line, key, "unknown key%s", suggestKey(key))
		}
	}

	if daemon == nil {
		l.add(file, 0, "DAEMON", "missing: the command line of the daemon is required")
	} else if argv, err := splitCommand(daemon.Value, d.Env); err != nil {
		l.add(file, daemon.Line, "DAEMON", "%v", err)
	} else {
		d.Argv, d.daemonLine = argv, daemon.Line
		if l.ls != nil {
			d.pathLater = true // list: only if status needs it (see Lister)
		} else {
			d.resolveProgram()
		}
	}
	if ready != nil {
		d.Ready, d.ReadyArgv = l.probe(ready, d.Env)
	}
	if check != nil {
		d.Check, d.CheckArgv = l.probe(check, d.Env)
	}
	// Health checks are run by the watchdog, and RESPAWN=no runs none.
	if d.Respawn == RespawnNo && check != nil {
		l.add(file, check.Line, "CHECK", "has no effect with RESPAWN=no (no watchdog runs to check); use RESPAWN=on-failure or remove CHECK")
	}
	if d.Respawn == RespawnNo && d.MaxRSS > 0 {
		l.add(file, maxRSSLine, "MAX_RSS", "has no effect with RESPAWN=no (no watchdog runs to measure); use RESPAWN=on-failure or remove MAX_RSS")
	}
	if reloadCmd != nil {
		if d.ReloadSignal != 0 {
			l.add(file, reloadCmd.Line, "RELOAD_COMMAND", "RELOAD_SIGNAL is set too; use one of them")
		}
		d.ReloadCommand, err = splitCommand(reloadCmd.Value, d.Env)
		if err != nil {
			l.add(file, reloadCmd.Line, "RELOAD_COMMAND", "%v", err)
		}
	}
	l.helps(helps)
	if d.Guard != "" {
		// GUARD names a verb the way the command line does, but CONFIGTEST or
		// config_test mean the same verb, as in the keys.
		d.Guard = VerbName(d.Guard)
		if vb := d.Verb(d.Guard); vb == nil || vb.Kind != VerbCommand {
			l.add(file, guardLine, "GUARD", "%q is not a COMMAND_ verb of this definition; define COMMAND_%s or name one that exists", d.Guard, strings.ReplaceAll(d.Guard, "-", "_"))
		}
	}
	if d.StartWait > d.StartTimeout {
		l.add(file, 0, "START_WAIT", "%v is longer than START_TIMEOUT %v", d.StartWait, d.StartTimeout)
	}
	if (d.User != "" || d.Group != "") && l.ls == nil { // list does not need them (see Lister)
		uname := d.User
		if uname == "" {
			uname = "root"
		}
		cred, err := lookupUser(uname, d.Group)
		if err != nil {
			msg := err.Error()
			if d.leaks("USER", msg) || d.leaks("GROUP", msg) {
				msg = "no such user or group (the value comes from the env files and is not shown: env file values stay private)"
			}
			p := Problem{File: file, Line: userLine, Key: "USER", Msg: msg}
			d.HostProblems = append(d.HostProblems, p)
			d.UserErr = &lsb.Error{Code: lsb.NotConfigured, Err: errors.New(p.String())}
		} else if os.Geteuid() != 0 {
			if cred.Uid != uint32(os.Geteuid()) || cred.Gid != uint32(os.Getegid()) {
				p := Problem{File: file, Line: userLine, Key: "USER", Msg: "switching to " + uname + " needs root"}
				d.HostProblems = append(d.HostProblems, p)
				d.UserErr = &lsb.Error{Code: lsb.NoPrivilege, Err: errors.New(p.String())}
			}
		} else {
			d.Cred = cred
		}
	}
}

func (l *loader) probe(v *envfile.Var, env []string) (*Probe, []string) {
	p, err := ParseProbe(v.Value)
	if err != nil {
		l.add(l.def.File, v.Line, v.Key, "%v", err)
		return nil, nil
	}
	if p.Kind != "exec" {
		return &p, nil
	}
	argv, err := splitCommand(p.Target, env)
	if err != nil {
		l.add(l.def.File, v.Line, v.Key, "%v", err)
		return nil, nil
	}
	return &p, argv
}

// helps attaches HELP_ lines to their verbs. Usage shows them to anyone who can
// run the script, so a HELP_ line is one line, belongs to a custom verb, and may
// not take a value from an env file (it could be a secret).
func (l *loader) helps(helps []envfile.Var) {
	d, file := l.def, l.def.File
	seen := map[string]envfile.Var{}
	for _, v := range helps {
		name := VerbName(strings.TrimPrefix(v.Key, "HELP_"))
		if other, dup := seen[name]; dup {
			l.add(file, v.Line, v.Key, "verb %q already has its help line from %s (line %d)", name, other.Key, other.Line)
			continue
		}
		seen[name] = v
		switch {
		case isBuiltin(name):
			l.add(file, v.Line, v.Key, "%q is a built-in verb, whose usage line is fixed; HELP_ is for COMMAND_ and SIGNAL_ verbs", name)
			continue
		case strings.ContainsAny(v.Value, "\n\r"):
			l.add(file, v.Line, v.Key, "must be a single line")
			continue
		case l.raw != nil:
			if rv, ok := l.raw.Lookup(v.Key); ok && rv.Value != v.Value {
				l.add(file, v.Line, v.Key, "may not use ${VAR}: usage is shown to every user and would reveal a value of the env files")
				continue
			}
		}
		if vb := d.Verb(name); vb != nil {
			vb.Help = v.Value
		} else {
			l.add(file, v.Line, v.Key, "there is no COMMAND_ or SIGNAL_ key for verb %q", name)
		}
	}
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

func validVerb(s string) bool {
	if s == "" || s[0] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// knownKeys are the fixed keys, for "did you mean" hints.
var knownKeys = []string{"DAEMON", "DESC", "PIDFILE", "FORKS", "USER", "GROUP", "UMASK", "CHDIR", "NICE",
	"ENV_FILE", "RESPAWN", "NORMAL_EXIT", "RESPAWN_DELAY", "RESPAWN_LIMIT", "START_WAIT", "READY",
	"START_TIMEOUT", "STOP_SCHEDULE", "RELOAD_SIGNAL", "RELOAD_COMMAND", "GUARD", "LOG", "LOG_MAX_SIZE",
	"LOG_KEEP", "CHECK", "CHECK_INTERVAL", "CHECK_TIMEOUT", "CHECK_FAILURES", "MAX_RSS"}

// suggestKey names the closest known key when key looks like a typo of it.
func suggestKey(key string) string {
	best, bestD := "", 3
	for _, k := range knownKeys {
		if dist := editDistance(strings.ToUpper(key), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best != "" {
		return "; did you mean " + best + "?"
	}
	return " (see svcwrap(5) for the keys)"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// resolveProgram finds DAEMON's program on PATH: Path, or PathErr and a HostProblem.
func (d *Definition) resolveProgram() {
	d.Path, d.PathErr = ResolveProgram(d.Argv[0])
	if d.PathErr != nil && d.leaks("DAEMON", d.PathErr.Error()) {
		d.PathErr = errors.New("its program is not installed (" + d.secretMsg("DAEMON") + ")")
	}
	if d.PathErr != nil {
		d.HostProblems = append(d.HostProblems, Problem{File: d.File, Line: d.daemonLine, Key: "DAEMON", Msg: d.PathErr.Error()})
	}
}

// program is DAEMON's resolved program, "" when it is not installed. A definition
// that a Lister loaded resolves it here, the first time it is needed.
func (d *Definition) program() string {
	if d.pathLater {
		d.pathLater = false
		d.resolveProgram()
	}
	return d.Path
}
