package definition

import (
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

	"svcwrap/lsb"
)

// FixedPATH is the PATH of every process svcwrap starts, and the only PATH used to
// find programs named without a slash.
const FixedPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// IsLocaleVar reports whether an environment variable is part of the locale
// (LANG, LANGUAGE, LC_*), which the daemon gets from svcwrap's caller.
func IsLocaleVar(k string) bool {
	return k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_")
}

// localeEnv is the caller's locale.
func localeEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); IsLocaleVar(k) {
			out = append(out, kv)
		}
	}
	return out
}

// splitCommand splits a command line like a shell would, without running one:
// quotes and backslashes group and escape, backticks are not run, and an
// unquoted ; & | < > is refused rather than silently cutting the line. Variables
// were expanded already, once, when the definition was read (envfile): a $ left
// in the value (written \$, or in single quotes) reaches the program as it is.
func splitCommand(s string) ([]string, error) {
	p := shellwords.NewParser()
	p.ParseEnv = false
	p.ParseBacktick = false
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

func unwrapPathErr(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
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

// Program is DAEMON's resolved program, "" when it is not installed. A definition
// that a Lister loaded resolves it here, the first time it is needed.
func (d *Definition) Program() string {
	if d.pathLater {
		d.pathLater = false
		d.resolveProgram()
	}
	return d.Path
}

// Command prepares argv (a custom verb, GUARD, RELOAD_COMMAND, an exec probe) to
// run as the service would run it: as USER/GROUP (uid, gid and exactly USER's
// supplementary groups), with the service environment, in CHDIR. The caller
// applies UMASK when it starts it (proc.StartUmask, proc.Run). NICE and LIMIT_
// apply to the daemon only.
func (d *Definition) Command(argv []string) (*exec.Cmd, error) {
	path, err := ResolveProgram(argv[0])
	if err != nil {
		return nil, &lsb.Error{Code: lsb.NotInstalled, Err: err}
	}
	if d.UserErr != nil {
		// Running as svcwrap's own user instead would hand root to a command
		// meant to run as USER.
		return nil, d.UserErr
	}
	return &exec.Cmd{Path: path, Args: argv, Env: d.Env, Dir: d.Chdir,
		SysProcAttr: &syscall.SysProcAttr{Credential: d.Cred}}, nil
}

// HookCommand prepares hook h to run: as root (or h's *_USER), with the service
// environment, in CHDIR.
func (d *Definition) HookCommand(h *Hook) (*exec.Cmd, error) {
	path, err := ResolveProgram(h.Argv[0])
	if err != nil {
		return nil, &lsb.Error{Code: lsb.NotInstalled, Err: fmt.Errorf("%s: %v", h.Key, err)}
	}
	if h.UserErr != nil {
		return nil, h.UserErr
	}
	return &exec.Cmd{Path: path, Args: h.Argv, Env: d.Env, Dir: d.Chdir,
		SysProcAttr: &syscall.SysProcAttr{Credential: h.Cred}}, nil
}

// HookBound is how long hook key may run: START_TIMEOUT for PRE_START and
// POST_START, STOP_SCHEDULE's total (at least 5 s) for the stop hooks.
func (d *Definition) HookBound(key string) time.Duration {
	if key == "PRE_START" || key == "POST_START" {
		return d.StartTimeout
	}
	if key == "ON_EVENT" {
		return 30 * time.Second
	}
	return max(d.StopSchedule.Total(), 5*time.Second)
}

// StopBound is the longest a stop of the daemon may take: PRE_STOP,
// STOP_COMMAND, STOP_SCHEDULE and POST_STOP, each at its bound.
func (d *Definition) StopBound() time.Duration {
	t := d.StopSchedule.Total()
	for _, k := range []string{"PRE_STOP", "STOP_COMMAND", "POST_STOP"} {
		if d.Hook(k) != nil && d.Hook(k).Argv != nil {
			t += d.HookBound(k)
		}
	}
	return t
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
