package definition

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"svcwrap/envfile"
	"svcwrap/lsb"
	"svcwrap/probe"
)

// Key is one key of a definition. The table below is the one list of keys: it
// gives each its default (written as in a definition and read by the same parser),
// its documentation, and its parser; "did you mean", `check` and the man page's key
// list (tested against it) all come from it.
type Key struct {
	Name    string // KEY, or a prefix ending in "_" (LIMIT_, COMMAND_, ...)
	Default string // as written in a definition; "" when none or computed
	DocDef  string // the default as documented, when it is computed or not a value
	Doc     string // one line

	parse func(l *loader, v envfile.Var) error
}

// Prefix reports whether the key is a family of keys (LIMIT_NOFILE, COMMAND_x).
func (k Key) Prefix() bool { return strings.HasSuffix(k.Name, "_") }

// keyTable is filled in init: its parsers refer back to it (suggestions).
var keyTable []Key

// Keys is the key table, in the order svcwrap(5) documents them.
func Keys() []Key { return keyTable }

func init() {
	keyTable = []Key{
		{Name: "DAEMON", DocDef: "required", Doc: "the daemon's command line, split like a shell (no shell runs)",
			parse: func(l *loader, v envfile.Var) error {
				argv, err := l.commandLine(v)
				l.def.Argv, l.def.daemonLine = argv, v.Line
				return err
			}},
		{Name: "DESC", DocDef: "Short-Description, else NAME", Doc: "human name in messages",
			parse: func(l *loader, v envfile.Var) error {
				l.def.Desc = v.Value
				return nonEmpty(v.Value)
			}},
		{Name: "PIDFILE", DocDef: "SVCWRAP_PIDDIR/NAME.pid", Doc: "the daemon's pidfile",
			parse: func(l *loader, v envfile.Var) error {
				l.def.PidFile = filepath.Clean(v.Value)
				return absolute(v.Value)
			}},
		{Name: "FORKS", Default: "no", Doc: "yes: the daemon backgrounds itself and writes PIDFILE",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Forks, err = ParseBool(v.Value); return }},
		{Name: "USER", DocDef: "root", Doc: "run the daemon and custom commands as this user",
			parse: func(l *loader, v envfile.Var) error { l.def.User = v.Value; return nil }},
		{Name: "GROUP", DocDef: "USER's primary group", Doc: "run them with this group",
			parse: func(l *loader, v envfile.Var) error { l.def.Group = v.Value; return nil }},
		{Name: "UMASK", Default: "022", Doc: "file mode creation mask (octal)",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Umask, err = ParseUmask(v.Value); return }},
		{Name: "CHDIR", Default: "/", Doc: "working directory",
			parse: func(l *loader, v envfile.Var) error { l.def.Chdir = v.Value; return absolute(v.Value) }},
		{Name: "NICE", Default: "0", Doc: "nice value, -20 to 19",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Nice, err = ParseNice(v.Value); return }},
		{Name: "LIMIT_", DocDef: "inherited", Doc: "resource limit LIMIT_<RES>=N or SOFT:HARD (N? best effort; empty: inherited)",
			parse: func(l *loader, v envfile.Var) error {
				res := strings.TrimPrefix(v.Key, "LIMIT_")
				if strings.TrimSpace(v.Value) == "" {
					// Empty after expansion (${ULIMIT:+$ULIMIT?} when ULIMIT
					// is not set): the limit is inherited.
					_, err := ParseLimit(res, "0")
					return err
				}
				lim, err := ParseLimit(res, v.Value)
				if err == nil {
					l.def.Limits = append(l.def.Limits, lim)
				}
				return err
			}},
		{Name: "ENV_FILE", DocDef: "/etc/default/NAME /etc/sysconfig/NAME where they exist", Doc: "env files to load",
			parse: func(*loader, envfile.Var) error { return nil }}, // read first, by loadEnv
		{Name: "RESPAWN", Default: "always", Doc: "always, on-failure or no",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Respawn, err = ParsePolicy(v.Value); return }},
		{Name: "NORMAL_EXIT", Default: "0", Doc: "exit codes and signals that count as success for on-failure",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.NormalExit, err = ParseExitSet(v.Value); return }},
		{Name: "RESPAWN_DELAY", Default: "100ms", Doc: "first wait before respawning a quick death, doubled up to 30s",
			parse: duration(func(d *Definition) *time.Duration { return &d.RespawnDelay }, 0, "")},
		{Name: "RESPAWN_LIMIT", Default: "10/60s", Doc: "N/WINDOW: at most N respawns within WINDOW",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.RespawnLimit, err = ParseWindow(v.Value); return }},
		{Name: "START_WAIT", Default: "500ms", Doc: "the daemon must survive this long for start to succeed",
			parse: duration(func(d *Definition) *time.Duration { return &d.StartWait }, 0, "")},
		{Name: "START_TIMEOUT", Default: "30s", Doc: "bound on start, readiness included",
			parse: duration(func(d *Definition) *time.Duration { return &d.StartTimeout }, 1, "must be more than 0: every start has a bound")},
		{Name: "READY", DocDef: "none", Doc: "probe that must pass before start returns",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Ready, l.def.ReadyArgv, err = l.probe(v); return }},
		{Name: "CHECK", DocDef: "none", Doc: "health probe, run every CHECK_INTERVAL",
			parse: func(l *loader, v envfile.Var) (err error) {
				if l.def.Check, l.def.CheckArgv, err = l.probe(v); err == nil && l.def.Check.Announced() {
					l.def.Check = nil
					return fmt.Errorf("%s is for READY only: a health check is a probe (tcp, unix, http, exec); the daemon's keepalive is WATCHDOG_SEC", v.Value)
				}
				return err
			}},
		{Name: "LISTEN", DocDef: "none", Doc: "sockets the watchdog binds once and passes to every daemon as fds 3.. (LISTEN_FDS): tcp HOST:PORT, unix PATH[:MODE[:OWNER[:GROUP]]]",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Listen, err = ParseListen(v.Value); return }},
		{Name: "LISTEN_STYLE", Default: "systemd", Doc: "how LISTEN's sockets are announced: systemd (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES) or nginx (NGINX=3;4;)",
			parse: func(l *loader, v envfile.Var) error {
				switch v.Value {
				case "systemd", "nginx":
					l.def.ListenNginx = v.Value == "nginx"
					return nil
				}
				return fmt.Errorf("%q is not systemd or nginx", v.Value)
			}},
		{Name: "RESTART", DocDef: "overlap with LISTEN, else sequential", Doc: "overlap: restart starts the new daemon on the same sockets, waits for READY, then stops the old; sequential: stop, then start",
			parse: func(l *loader, v envfile.Var) error {
				switch v.Value {
				case "overlap", "sequential":
					l.def.Overlap = v.Value == "overlap"
					l.restartSet = true
					return nil
				}
				return fmt.Errorf("%q is not overlap or sequential", v.Value)
			}},
		{Name: "RESTART_DEPENDENTS", Default: "no", Doc: "yes: restart and try-restart restart, after this service, the running services whose Required-Start needs it",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.RestartDependents, err = ParseBool(v.Value); return }},
		{Name: "CGROUP", Default: "yes", Doc: "yes: the daemon and all it starts run in a cgroup of their own, which stop empties (where the host has cgroup v2); no: its process group only",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Cgroup, err = ParseBool(v.Value); return }},
		{Name: "MEMORY_MAX", DocDef: "none", Doc: "the daemon's cgroup may use this much memory; above it the kernel's OOM killer ends a process of it (reported as oom)",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.MemoryMax, err = parseCgroupSize(v.Value); return }},
		{Name: "MEMORY_HIGH", DocDef: "none", Doc: "above this much memory the daemon's cgroup is throttled and reclaimed hard (cgroup v1: a soft limit, approximate)",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.MemoryHigh, err = parseCgroupSize(v.Value); return }},
		{Name: "PIDS_MAX", DocDef: "none", Doc: "at most this many processes and threads in the daemon's cgroup: a fork beyond fails",
			parse: func(l *loader, v envfile.Var) (err error) {
				l.def.PidsMax, err = ParseWhole(v.Value, 1, 4194304, "a whole number of processes from 1 to 4194304")
				return err
			}},
		{Name: "CPU_MAX", DocDef: "none", Doc: "the daemon's cgroup gets at most this share of one CPU, like 10% or 150%",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.CPUMax, err = ParseCPUPercent(v.Value); return }},
		{Name: "IO_WEIGHT", DocDef: "none", Doc: "the daemon's cgroup's share of disk time against others, 1 to 10000 (default 100)",
			parse: func(l *loader, v envfile.Var) (err error) {
				l.def.IOWeight, err = ParseWhole(v.Value, 1, 10000, "a whole number from 1 to 10000; 100 is the default weight")
				return err
			}},
		{Name: "NOTIFY_ACCESS", Default: "main", Doc: "READY=notify: whose notifications count: main (the daemon's PID) or all (its process group)",
			parse: func(l *loader, v envfile.Var) error {
				switch v.Value {
				case "main", "all":
					l.def.NotifyAll = v.Value == "all"
					return nil
				}
				return fmt.Errorf("%q is not main or all", v.Value)
			}},
		{Name: "WATCHDOG_SEC", Default: "0", Doc: "READY=notify: the daemon sends WATCHDOG=1 at least this often once ready (WATCHDOG_USEC), or it is restarted; 0 is off",
			parse: duration(func(d *Definition) *time.Duration { return &d.WatchdogSec }, 0, "")},
		{Name: "CHECK_INTERVAL", Default: "30s", Doc: "time between two checks and MAX_RSS samples (at least 100ms)",
			parse: duration(func(d *Definition) *time.Duration { return &d.CheckEvery }, 100*time.Millisecond, "is too short (at least 100ms)")},
		{Name: "CHECK_TIMEOUT", Default: "5s", Doc: "bound on one check",
			parse: duration(func(d *Definition) *time.Duration { return &d.CheckTimeout }, 1, "must be more than 0: every check has a bound")},
		{Name: "CHECK_FAILURES", Default: "3", Doc: "consecutive failed checks that restart the daemon",
			parse: func(l *loader, v envfile.Var) (err error) {
				l.def.CheckFails, err = strconv.Atoi(v.Value)
				if err != nil || l.def.CheckFails < 1 {
					return fmt.Errorf("%q is not a whole number of at least 1", v.Value)
				}
				return nil
			}},
		{Name: "MAX_RSS", DocDef: "none", Doc: "restart the daemon when its process group's resident memory exceeds this",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.MaxRSS, err = ParseSize(v.Value); return }},
		{Name: "STOP_SCHEDULE", Default: "TERM/10/KILL/5", Doc: "signals and waits of stop, start-stop-daemon --retry style",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.StopSchedule, err = ParseSchedule(v.Value); return }},
		{Name: "RELOAD_SIGNAL", DocDef: "none", Doc: "reload sends this signal to the daemon",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.ReloadSignal, err = ParseSignal(v.Value); return }},
		{Name: "RELOAD_COMMAND", DocDef: "none", Doc: "reload runs this command",
			parse: func(l *loader, v envfile.Var) (err error) {
				l.def.ReloadCommand, err = l.commandLine(v)
				return err
			}},
		{Name: "GUARD", DocDef: "none", Doc: "a COMMAND_ verb run before start, restart and reload; failure refuses the action",
			parse: func(l *loader, v envfile.Var) error {
				// GUARD names a verb the way the command line does, but CONFIGTEST
				// or config_test mean the same verb, as in the keys.
				l.def.Guard = VerbName(v.Value)
				return nil
			}},
		{Name: "LOG", DocDef: "SVCWRAP_LOGDIR/NAME.log", Doc: "the daemon's stdout and stderr: a file, syslog, console (PID 1's stdout, each line after NAME: ) or none",
			parse: func(l *loader, v envfile.Var) error {
				switch {
				case v.Value == "none" || v.Value == "syslog" || v.Value == "console":
					l.def.Log = v.Value
				case filepath.IsAbs(v.Value):
					l.def.Log = filepath.Clean(v.Value)
				default:
					return fmt.Errorf("%q is neither an absolute path, syslog, console nor none", v.Value)
				}
				return nil
			}},
		{Name: "LOG_MAX_SIZE", Default: "10M", Doc: "rotate the log file at this size; 0: never",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.LogMaxSize, err = ParseSize(v.Value); return }},
		{Name: "LOG_KEEP", Default: "5", Doc: "rotated log files kept",
			parse: func(l *loader, v envfile.Var) (err error) {
				l.def.LogKeep, err = strconv.Atoi(v.Value)
				if err != nil || l.def.LogKeep < 0 || l.def.LogKeep > 1000 {
					return fmt.Errorf("%q is not a whole number from 0 to 1000", v.Value)
				}
				return nil
			}},
		{Name: "DIRS", DocDef: "none", Doc: "directories PATH[:MODE[:OWNER[:GROUP]]] made as root before every spawn, below /run, /var, /srv, /tmp or CHDIR",
			parse: func(l *loader, v envfile.Var) error { return nil }}, // crossChecks: CHDIR may come later
		{Name: "FILES", DocDef: "none", Doc: "files PATH[:MODE[:OWNER[:GROUP]]] created empty if absent (never truncated) before every spawn",
			parse: func(l *loader, v envfile.Var) error { return nil }},
		{Name: "PRE_START", DocDef: "none", Doc: "command line run as root before every spawn, respawns included; its failure fails the start",
			parse: (*loader).hook},
		{Name: "POST_START", DocDef: "none", Doc: "command line run as root once every spawn is ready",
			parse: (*loader).hook},
		{Name: "PRE_STOP", DocDef: "none", Doc: "command line run as root before STOP_COMMAND and STOP_SCHEDULE",
			parse: (*loader).hook},
		{Name: "STOP_COMMAND", DocDef: "none", Doc: "command line run as root first on stop; STOP_SCHEDULE then stops what is left",
			parse: (*loader).hook},
		{Name: "POST_STOP", DocDef: "none", Doc: "command line run as root once the daemon and its group are gone",
			parse: (*loader).hook},
		{Name: "ON_EVENT", DocDef: "none", Doc: "command line run (as root, outside the daemon's cgroup, bounded) on a respawn, the give-up (failed), a health restart, readiness lost; at most once per ON_EVENT_INTERVAL, later events counted into the next run, a give-up never held back",
			parse: (*loader).hook},
		{Name: "ON_EVENT_USER", DocDef: "root", Doc: "run ON_EVENT as this user", parse: (*loader).hookUser},
		{Name: "ON_EVENT_INTERVAL", Default: "60s", Doc: "ON_EVENT runs at most once per this interval",
			parse: duration(func(d *Definition) *time.Duration { return &d.EventInterval }, 0, "")},
		{Name: "PRE_START_USER", DocDef: "root", Doc: "run PRE_START as this user", parse: (*loader).hookUser},
		{Name: "POST_START_USER", DocDef: "root", Doc: "run POST_START as this user", parse: (*loader).hookUser},
		{Name: "PRE_STOP_USER", DocDef: "root", Doc: "run PRE_STOP as this user", parse: (*loader).hookUser},
		{Name: "STOP_COMMAND_USER", DocDef: "root", Doc: "run STOP_COMMAND as this user", parse: (*loader).hookUser},
		{Name: "POST_STOP_USER", DocDef: "root", Doc: "run POST_STOP as this user", parse: (*loader).hookUser},
		{Name: "STOP_FOREVER", Default: "no", Doc: "yes: STOP_SCHEDULE may end with forever (stop may then wait without a bound)",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.StopForever, err = ParseBool(v.Value); return }},
		{Name: "ENABLED", DocDef: "yes", Doc: "no, false, 0 or off: start does nothing (exit 0) and status says disabled",
			parse: func(l *loader, v envfile.Var) (err error) { l.def.Enabled, err = enabledWord(v.Value); return }},
		{Name: "CONDITION", DocDef: "none", Doc: "exists PATH, !exists PATH, contains FILE WORD, !contains FILE WORD, as many as needed: all must hold for start to start",
			parse: func(l *loader, v envfile.Var) (err error) {
				l.def.Conditions, err = parseConditions(v.Value)
				l.def.conditionAt = l.def.File + ":" + strconv.Itoa(v.Line)
				return err
			}},
		{Name: "INSTANCES", DocDef: "all", Doc: "a template's instances for its bare verbs: names, globs of files (NAME from FILE.EXT), all, none",
			parse: func(l *loader, v envfile.Var) error { l.def.Instances = strings.Fields(v.Value); return nil }},
		{Name: "INSTANCES_ALL", DocDef: "none", Doc: "what all means in INSTANCES: names and globs of files",
			parse: func(l *loader, v envfile.Var) error { l.def.InstancesAll = strings.Fields(v.Value); return nil }},
		{Name: "COMMAND_", Doc: "custom verb: run this command line as USER with the service environment",
			parse: (*loader).verb},
		{Name: "SIGNAL_", Doc: "custom verb: send this signal to the daemon",
			parse: (*loader).verb},
		{Name: "HELP_", Doc: "one line shown in usage for a custom verb",
			parse: func(l *loader, v envfile.Var) error { l.helps = append(l.helps, v); return nil }},
	}
}

// CgroupLimitKeys are the keys that limit the daemon's cgroup.
var CgroupLimitKeys = []string{"MEMORY_MAX", "MEMORY_HIGH", "PIDS_MAX", "CPU_MAX", "IO_WEIGHT"}

// lookupKey finds the table entry of a key, or nil.
func lookupKey(name string) *Key {
	for i := range keyTable {
		k := &keyTable[i]
		if k.Name == name || k.Prefix() && strings.HasPrefix(name, k.Name) {
			return k
		}
	}
	return nil
}

// commandLine splits the command line of key v, refusing one that expanded a
// variable that is not set: it would silently lose an argument.
func (l *loader) commandLine(v envfile.Var) ([]string, error) {
	if names := l.unset[v.Key]; len(names) > 0 {
		refs := make([]string, len(names))
		for i, n := range names {
			refs[i] = "$" + n
		}
		return nil, fmt.Errorf("%s %s not set (no env file sets %s), so the command line would lose an argument; set it in an env file, or write ${%s:-} for an empty value or ${%s:-DEFAULT}",
			strings.Join(refs, ", "), map[bool]string{true: "is", false: "are"}[len(names) == 1], map[bool]string{true: "it", false: "them"}[len(names) == 1], names[0], names[0])
	}
	return splitCommand(v.Value)
}

// hook parses PRE_START, POST_START, PRE_STOP, STOP_COMMAND or POST_STOP.
func (l *loader) hook(v envfile.Var) error {
	argv, err := l.commandLine(v)
	if err != nil {
		return err
	}
	if l.def.hooks == nil {
		l.def.hooks = map[string]*Hook{}
	}
	h := l.def.hooks[v.Key]
	if h == nil {
		h = &Hook{Key: v.Key}
		l.def.hooks[v.Key] = h
	}
	h.Argv = argv
	return nil
}

// hookUser parses PRE_START_USER and its kind; the user is looked up with USER.
func (l *loader) hookUser(v envfile.Var) error {
	key := strings.TrimSuffix(v.Key, "_USER")
	if v.Value == "" {
		return errors.New("empty (leave it out to run " + key + " as root)")
	}
	if l.def.hooks == nil {
		l.def.hooks = map[string]*Hook{}
	}
	if l.def.hooks[key] == nil {
		l.def.hooks[key] = &Hook{Key: key}
	}
	l.def.hooks[key].User = v.Value
	return nil
}

func duration(field func(*Definition) *time.Duration, least time.Duration, tooSmall string) func(*loader, envfile.Var) error {
	return func(l *loader, v envfile.Var) error {
		d, err := ParseDuration(v.Value)
		*field(l.def) = d
		if err != nil {
			return err
		}
		if d < least {
			if strings.HasPrefix(tooSmall, "is ") {
				return fmt.Errorf("%s %s", v.Value, tooSmall)
			}
			return errors.New(tooSmall)
		}
		return nil
	}
}

func nonEmpty(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	return nil
}

func absolute(p string) error {
	if !filepath.IsAbs(p) {
		return fmt.Errorf("%q is not an absolute path", p)
	}
	return nil
}

// defaults gives d the default of every key: the table's, then those computed
// from the name, the header and the paths.
func (l *loader) defaults() {
	d := l.def
	for i := range keyTable {
		if k := &keyTable[i]; k.Default != "" {
			if err := k.parse(l, envfile.Var{Key: k.Name, Value: k.Default}); err != nil {
				panic("definition: default of " + k.Name + ": " + err.Error())
			}
		}
	}
	d.Desc = d.Name
	if d.Header != nil {
		if desc := descOf(d.Header.ShortDescription); desc != "" {
			d.Desc = desc
		}
	}
	d.PidFile = filepath.Join(l.paths.PidDir, d.Name+".pid")
	d.Log = filepath.Join(l.paths.LogDir, d.Name+".log")
	d.Enabled = true
	d.Instances = []string{"all"}
}

// descOf is the DESC a Short-Description gives. Many say what the script does
// ("starts the nginx web server"), while svcwrap prints "Starting DESC: NAME": a
// leading verb is dropped, so that it reads "Starting the nginx web server".
func descOf(short string) string {
	first, rest, _ := strings.Cut(strings.TrimSpace(short), " ")
	switch strings.ToLower(first) {
	case "start", "starts", "starting", "launch", "launches", "run", "runs", "control", "controls",
		"start/stop", "start/stops", "starts/stops":
		rest = strings.TrimSpace(rest)
		// "Start and stop the X" (Debian's commonest) is "the X" too.
		for _, and := range []string{"and stop ", "and stops ", "& stop ", "& stops ", "/ stop "} {
			if len(rest) > len(and) && strings.EqualFold(rest[:len(and)], and) {
				return strings.TrimSpace(rest[len(and):])
			}
		}
		return rest
	}
	return strings.TrimSpace(short)
}

// keys applies every KEY=value of a definition, collecting problems with their line.
func (l *loader) keys(f *envfile.File) {
	l.expanded = f.Vars
	l.defaults()
	for _, v := range f.Vars {
		k := lookupKey(v.Key)
		if k == nil {
			l.add(v.Line, v.Key, "unknown key%s", suggestKey(v.Key))
			continue
		}
		l.lines[v.Key] = v.Line
		if err := k.parse(l, v); err != nil {
			l.add(v.Line, v.Key, "%v", err)
		}
	}
	l.crossChecks()
}

// crossChecks are the rules that involve more than one key, and the host lookups.
func (l *loader) crossChecks() {
	d := l.def
	if _, ok := l.lines["DAEMON"]; !ok {
		l.add(0, "DAEMON", "missing: the command line of the daemon is required")
	} else if d.Argv != nil {
		if l.ls != nil {
			d.pathLater = true // list: only if status needs it (see Lister)
		} else {
			d.resolveProgram()
		}
	}
	// Health checks are run by the watchdog, and RESPAWN=no runs none.
	if line, ok := l.lines["CHECK"]; ok && d.Respawn == RespawnNo {
		l.add(line, "CHECK", "has no effect with RESPAWN=no (no watchdog runs to check); use RESPAWN=on-failure or remove CHECK")
	}
	if d.Respawn == RespawnNo && d.MaxRSS > 0 {
		l.add(l.lines["MAX_RSS"], "MAX_RSS", "has no effect with RESPAWN=no (no watchdog runs to measure); use RESPAWN=on-failure or remove MAX_RSS")
	}
	if !d.Cgroup {
		for _, key := range CgroupLimitKeys {
			if line, ok := l.lines[key]; ok {
				l.add(line, key, "needs CGROUP=yes: the limit is set on the daemon's cgroup")
			}
		}
	}
	if d.MemoryHigh > 0 && d.MemoryMax > 0 && d.MemoryHigh >= d.MemoryMax {
		l.add(l.lines["MEMORY_HIGH"], "MEMORY_HIGH", "is not below MEMORY_MAX, so it would never act; lower it or leave it out")
	}
	if line, ok := l.lines["RELOAD_COMMAND"]; ok && d.ReloadSignal != 0 {
		l.add(line, "RELOAD_COMMAND", "RELOAD_SIGNAL is set too; use one of them")
	}
	l.attachHelps()
	if d.Guard != "" {
		if vb := d.Verb(d.Guard); vb == nil || vb.Kind != VerbCommand {
			l.add(l.lines["GUARD"], "GUARD", "%q is not a COMMAND_ verb of this definition; define COMMAND_%s or name one that exists", d.Guard, strings.ReplaceAll(d.Guard, "-", "_"))
		}
	}
	if !l.restartSet {
		d.Overlap = len(d.Listen) > 0
	}
	if line, ok := l.lines["RESTART"]; ok && len(d.Listen) == 0 {
		l.add(line, "RESTART", "needs LISTEN: without sockets the watchdog holds, restart is stop then start")
	}
	if len(d.Listen) > 0 && d.Ready != nil && d.Ready.Kind == "fd" {
		l.add(l.lines["READY"], "READY", "READY=fd:N cannot be used with LISTEN, whose sockets are fds 3 and up; use READY=notify or a probe")
	}
	if len(d.Listen) > 0 && d.Forks {
		l.add(l.lines["LISTEN"], "LISTEN", "needs a daemon that stays in the foreground (FORKS=no)")
	}
	if len(d.Listen) > 0 && d.Respawn == RespawnNo {
		l.add(l.lines["LISTEN"], "LISTEN", "needs the watchdog that holds the sockets: RESPAWN=no runs none")
	}
	if line, ok := l.lines["WATCHDOG_SEC"]; ok && d.WatchdogSec > 0 && (d.Ready == nil || d.Ready.Kind != "notify") {
		l.add(line, "WATCHDOG_SEC", "needs READY=notify: the keepalives come on NOTIFY_SOCKET")
	}
	if line, ok := l.lines["NOTIFY_ACCESS"]; ok && (d.Ready == nil || d.Ready.Kind != "notify") {
		l.add(line, "NOTIFY_ACCESS", "has no effect without READY=notify")
	}
	if d.Ready != nil && d.Ready.Announced() && d.Forks {
		l.add(l.lines["READY"], "READY", "READY=%s needs a daemon that stays in the foreground (FORKS=no): a forked daemon's announcements would come from a process svcwrap does not know yet", d.Ready)
	}
	if d.WatchdogSec > 0 && d.Respawn == RespawnNo {
		l.add(l.lines["WATCHDOG_SEC"], "WATCHDOG_SEC", "has no effect with RESPAWN=no (no watchdog runs to listen)")
	}
	if d.StartWait > d.StartTimeout {
		l.add(0, "START_WAIT", "%v is longer than START_TIMEOUT %v", d.StartWait, d.StartTimeout)
	}
	if d.StopSchedule.Forever() && !d.StopForever {
		l.add(l.lines["STOP_SCHEDULE"], "STOP_SCHEDULE", `"forever" waits without a bound, so stop could hang for ever; set STOP_FOREVER=yes to allow it, or end with a timeout like TERM/10/KILL/5`)
	}
	for key, mode := range map[string]os.FileMode{"DIRS": 0o755, "FILES": 0o644} {
		v, ok := l.rawValue(key)
		if !ok {
			continue
		}
		specs, err := parsePaths(v, mode, d.Chdir)
		if err != nil {
			l.add(l.lines[key], key, "%v", err)
		}
		if key == "DIRS" {
			d.Dirs = specs
		} else {
			d.Files = specs
		}
	}
	for _, h := range d.hooks {
		if h.Argv == nil {
			l.add(l.lines[h.Key+"_USER"], h.Key+"_USER", "there is no %s to run as %s", h.Key, h.User)
		}
	}
	if _, ok := l.lines["ENABLED"]; ok && !d.Enabled {
		d.EnabledBy = l.enabledBy()
	}
	if l.ls == nil { // list does not need them (see Lister)
		if d.User != "" || d.Group != "" {
			l.lookupCredential()
		}
		l.lookupOwners()
	}
}

// rawValue is the expanded value of key, if the definition sets it.
func (l *loader) rawValue(key string) (string, bool) {
	if _, ok := l.lines[key]; !ok {
		return "", false
	}
	for _, v := range l.expanded {
		if v.Key == key {
			return v.Value, true
		}
	}
	return "", false
}

// enabledBy says where ENABLED's "no" comes from: the env file line of the
// variable its value expands, or the definition's line.
func (l *loader) enabledBy() string {
	for _, name := range l.raw.Refs["ENABLED"] {
		if at, ok := l.envAt[name]; ok {
			v, _ := l.rawEnv(name)
			return fmt.Sprintf("%s (%s=%s)", at, name, v)
		}
	}
	v, _ := l.rawValue("ENABLED")
	return fmt.Sprintf("%s:%d (ENABLED=%s)", l.def.File, l.lines["ENABLED"], v)
}

// rawEnv is the value of an env file variable.
func (l *loader) rawEnv(name string) (string, bool) {
	for _, kv := range l.def.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// lookupOwners resolves the owners of DIRS and FILES and the users of the hooks:
// a name that is not on this host is a HostProblem, as USER's is.
func (l *loader) lookupOwners() {
	d := l.def
	owner, group := d.User, d.Group
	for _, set := range []*[]PathSpec{&d.Dirs, &d.Files} {
		key := map[*[]PathSpec]string{&d.Dirs: "DIRS", &d.Files: "FILES"}[set]
		for i := range *set {
			p := &(*set)[i]
			o, g := p.Owner, p.Group
			if o == "" {
				o = owner
			}
			if g == "" && p.Owner == "" {
				g = group
			}
			if o == "" && g == "" {
				continue // svcwrap's own user and group, as for USER (run.Paths)
			}
			if o == "" {
				o = "root"
			}
			cred, err := lookupUser(o, g)
			if err != nil {
				d.HostProblems = append(d.HostProblems, Problem{File: d.File, Line: l.lines[key], Key: key, Msg: p.Path + ": " + err.Error()})
				continue
			}
			p.UID, p.GID = int(cred.Uid), int(cred.Gid)
		}
	}
	for _, h := range d.hooks {
		if h.User == "" {
			continue
		}
		cred, err := lookupUser(h.User, "")
		if err != nil {
			p := Problem{File: d.File, Line: l.lines[h.Key+"_USER"], Key: h.Key + "_USER", Msg: err.Error()}
			d.HostProblems = append(d.HostProblems, p)
			h.UserErr = &lsb.Error{Code: lsb.NotConfigured, Err: errors.New(p.String())}
			continue
		}
		if os.Geteuid() == 0 {
			h.Cred = cred
		}
	}
}

func (l *loader) lookupCredential() {
	d := l.def
	line := l.lines["USER"]
	if line == 0 {
		line = l.lines["GROUP"]
	}
	uname := d.User
	if uname == "" {
		uname = "root"
	}
	cred, err := lookupUser(uname, d.Group)
	switch {
	case err != nil:
		msg := err.Error()
		if d.leaks("USER", msg) || d.leaks("GROUP", msg) {
			msg = "no such user or group (the value comes from the env files and is not shown: env file values stay private)"
		}
		p := Problem{File: d.File, Line: line, Key: "USER", Msg: msg}
		d.HostProblems = append(d.HostProblems, p)
		d.UserErr = &lsb.Error{Code: lsb.NotConfigured, Err: errors.New(p.String())}
	case os.Geteuid() != 0:
		if cred.Uid != uint32(os.Geteuid()) || cred.Gid != uint32(os.Getegid()) {
			p := Problem{File: d.File, Line: line, Key: "USER", Msg: "switching to " + uname + " needs root"}
			d.HostProblems = append(d.HostProblems, p)
			d.UserErr = &lsb.Error{Code: lsb.NoPrivilege, Err: errors.New(p.String())}
		}
	default:
		d.Cred = cred
	}
}

// probe parses a READY or CHECK value; an exec probe's command line is split here.
func (l *loader) probe(v envfile.Var) (*probe.Probe, []string, error) {
	p, err := ParseProbe(v.Value)
	if err != nil {
		return nil, nil, err
	}
	if p.Kind != "exec" {
		return &p, nil, nil
	}
	argv, err := l.commandLine(envfile.Var{Key: v.Key, Value: p.Target, Line: v.Line})
	if err != nil {
		return nil, nil, err
	}
	return &p, argv, nil
}

// verb parses a COMMAND_ or SIGNAL_ key.
func (l *loader) verb(v envfile.Var) error {
	d := l.def
	prefix, suffix, _ := strings.Cut(v.Key, "_")
	name := VerbName(suffix)
	if !validVerb(name) {
		return fmt.Errorf("%q is not a usable verb name (letters, digits, - after the prefix)", name)
	}
	if IsBuiltin(name) {
		return fmt.Errorf("verb %q would shadow the built-in verb; choose another name", name)
	}
	if other, dup := l.verbKey[name]; dup {
		return fmt.Errorf("verb %q is already defined by %s (line %d); each verb needs exactly one COMMAND_ or SIGNAL_ key", name, other, l.lines[other])
	}
	l.verbKey[name] = v.Key
	vb := &Verb{Name: name, Key: v.Key, Line: v.Line}
	d.Verbs = append(d.Verbs, vb)
	var err error
	if prefix == "COMMAND" {
		vb.Kind = VerbCommand
		vb.Argv, err = l.commandLine(v)
	} else {
		vb.Kind = VerbSignal
		vb.Signal, err = ParseSignal(v.Value)
	}
	return err
}

// attachHelps attaches HELP_ lines to their verbs. Usage shows them to anyone who
// can run the script, so a HELP_ line is one line, belongs to a custom verb, and
// may not take a value from an env file (it could be a secret).
func (l *loader) attachHelps() {
	d := l.def
	seen := map[string]envfile.Var{}
	for _, v := range l.helps {
		name := VerbName(strings.TrimPrefix(v.Key, "HELP_"))
		if other, dup := seen[name]; dup {
			l.add(v.Line, v.Key, "verb %q already has its help line from %s (line %d)", name, other.Key, other.Line)
			continue
		}
		seen[name] = v
		switch {
		case IsBuiltin(name):
			l.add(v.Line, v.Key, "%q is a built-in verb, whose usage line is fixed; HELP_ is for COMMAND_ and SIGNAL_ verbs", name)
			continue
		case strings.ContainsAny(v.Value, "\n\r"):
			l.add(v.Line, v.Key, "must be a single line")
			continue
		case l.raw != nil:
			if rv, ok := l.raw.Lookup(v.Key); ok && rv.Value != v.Value {
				l.add(v.Line, v.Key, "may not use ${VAR}: usage is shown to every user and would reveal a value of the env files")
				continue
			}
		}
		if vb := d.Verb(name); vb != nil {
			vb.Help = v.Value
		} else {
			l.add(v.Line, v.Key, "there is no COMMAND_ or SIGNAL_ key for verb %q", name)
		}
	}
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

// suggestKey names the closest known key when key looks like a typo of it.
func suggestKey(key string) string {
	best, bestD := "", 3
	for _, k := range keyTable {
		if k.Prefix() {
			continue
		}
		if dist := editDistance(strings.ToUpper(key), k.Name); dist < bestD {
			best, bestD = k.Name, dist
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

// Defaults is the definition of service name with every key at its default and no
// DAEMON: what svcwrap knows of a service whose definition it cannot read.
func Defaults(name, file string, paths Paths) *Definition {
	l := newLoader(name, file, paths, nil)
	l.defaults()
	return l.def
}
