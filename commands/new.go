package commands

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"unicode"

	"svcwrap/definition"
	"svcwrap/lsb"
)

// NewCmd writes the definition of a new service (`svcwrap new`).
type NewCmd struct {
	Name    string `arg:"" help:"Service name: letters, digits, '.', '_', '-'; it names /etc/init.d/NAME and NAME.service."`
	Exec    string `name:"exec" required:"" placeholder:"CMD" help:"The daemon's command line (DAEMON); variables from /etc/default/NAME expand in it."`
	User    string `name:"user" placeholder:"USER" help:"Run the daemon as this user (USER)."`
	Desc    string `name:"desc" placeholder:"TEXT" help:"One-line description (Short-Description); default NAME."`
	Pidfile string `name:"pidfile" placeholder:"PATH" help:"The daemon's pidfile (PIDFILE); with --forks, where the daemon writes it."`
	Forks   bool   `name:"forks" help:"The daemon backgrounds itself and writes its pidfile (FORKS=yes)."`
	Symlink bool   `name:"symlink" help:"Symlink mode: /etc/init.d/NAME -> svcwrap, definition in /etc/svcwrap/NAME."`
	Enable  bool   `name:"enable" help:"Enable it at boot: update-rc.d NAME defaults (or chkconfig --add); symlink mode makes the rc links itself."`
	Force   bool   `name:"force" help:"Replace an existing /etc/init.d/NAME or /etc/svcwrap/NAME."`
}

// Sequence numbers of the rc links `new` makes itself (symlink mode, or an
// INITDIR other than /etc/init.d that update-rc.d cannot see): S20 starts after
// everything update-rc.d and insserv number 01 to 19 (the classic Debian default),
// K01 stops before the rest, in particular before sendsigs and umountfs.
const (
	rcStartSeq = "20"
	rcStopSeq  = "01"
)

// validServiceName matches [A-Za-z0-9][A-Za-z0-9_.-]*.
func validServiceName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		alnum := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c)
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return name != ""
}

// reservedNames are names that init.d tools treat specially (`service
// --status-all` and sysv-rc skip them) or that would make svcwrap itself.
var reservedNames = map[string]bool{
	"rc": true, "rcS": true, "README": true, "skeleton": true, "functions": true,
	"halt": true, "killall": true, "single": true, "reboot": true, "svcwrap": true,
}

// ValidateServiceName refuses names that cannot be an init script and a systemd
// unit at the same time.
func ValidateServiceName(name string) error {
	switch {
	case name == "":
		return errors.New("the service name is empty")
	case len(name) > 64:
		return fmt.Errorf("service name %q is longer than 64 characters", name)
	case strings.Contains(name, "/"):
		return fmt.Errorf("service name %q contains a slash; give the bare name, e.g. %q", name, filepath.Base(name))
	case strings.HasPrefix(name, "."):
		return fmt.Errorf("service name %q starts with a dot (hidden files are not services)", name)
	case !validServiceName(name):
		return fmt.Errorf("service name %q may only hold letters, digits, '.', '_' and '-', and must start with a letter or digit (no '/', no spaces, no '@')", name)
	case strings.HasSuffix(name, ".sh"):
		return fmt.Errorf("service name %q ends in .sh: sysv-rc sources such scripts with sh instead of running them", name)
	case strings.Contains(name, ".dpkg-"), strings.HasSuffix(name, ".ucf-dist"), strings.HasSuffix(name, ".ucf-old"):
		return fmt.Errorf("service name %q looks like a package manager backup, which init tools skip", name)
	case reservedNames[name]:
		return fmt.Errorf("service name %q is reserved by the init system or svcwrap", name)
	}
	return nil
}

// oneLine refuses a value with a newline or another control character.
func oneLine(what, v string) error {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return fmt.Errorf("%s must be one line without control characters", what)
	}
	return nil
}

// selfPath is the absolute path of the running svcwrap binary, symlinks resolved:
// the `#!` interpreter of script-mode files and the target of symlink-mode links.
func selfPath() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return exe, nil
}

// quoteValue writes v as a dotenv value: double quotes, so that ${VAR} expands
// from the env files; single quotes (literal) when v holds a double quote.
func quoteValue(key, v string) (string, error) {
	if !strings.ContainsAny(v, "\"\\`") {
		return `"` + v + `"`, nil
	}
	if !strings.ContainsAny(v, "'$") {
		return "'" + v + "'", nil
	}
	return "", fmt.Errorf("--%s: cannot quote a value holding both a double quote (or backslash) and a single quote or '$'; write the definition by hand", key)
}

// newHeader is the LSB header `new` writes.
func newHeader(name, desc string) *lsb.Header {
	return &lsb.Header{
		Provides:         []string{name},
		RequiredStart:    []string{"$remote_fs", "$syslog"},
		RequiredStop:     []string{"$remote_fs", "$syslog"},
		DefaultStart:     []string{"2", "3", "4", "5"},
		DefaultStop:      []string{"0", "1", "6"},
		ShortDescription: desc,
		Description:      desc,
	}
}

// chkconfigLevels is Default-Start as chkconfig writes runlevels ("2345").
func chkconfigLevels(h *lsb.Header) string {
	var b strings.Builder
	for _, l := range h.DefaultStart {
		if l != "S" {
			b.WriteString(l)
		}
	}
	if b.Len() == 0 {
		return "-"
	}
	return b.String()
}

func (c NewCmd) definition(interp, pidfile string) (string, error) {
	desc := c.Desc
	if desc == "" {
		desc = c.Name
	}
	daemon, err := quoteValue("exec", c.Exec)
	if err != nil {
		return "", err
	}
	h := newHeader(c.Name, desc)
	var b strings.Builder
	if interp != "" {
		b.WriteString("#!" + interp + "\n")
	}
	b.WriteString(h.Format())
	// chkconfig and systemd-sysv-generator read these comment lines.
	fmt.Fprintf(&b, "# chkconfig: %s 20 80\n", chkconfigLevels(h))
	fmt.Fprintf(&b, "# pidfile: %s\n", pidfile)
	b.WriteString("#\n# Written by `svcwrap new`; every key is described in svcwrap(5).\n")
	b.WriteString("DAEMON=" + daemon + "\n")
	if c.User != "" {
		b.WriteString("USER=" + c.User + "\n")
	}
	if c.Pidfile != "" {
		b.WriteString("PIDFILE=" + c.Pidfile + "\n")
	}
	if c.Forks {
		b.WriteString("FORKS=yes\n")
	}
	return b.String(), nil
}

func (c NewCmd) Run(env *adminEnv) error {
	bad := func(err error) error { return &lsb.Error{Service: c.Name, Action: "new", Code: lsb.BadArgs, Err: err} }
	if err := ValidateServiceName(c.Name); err != nil {
		return &lsb.Error{Action: "new", Code: lsb.BadArgs, Err: err}
	}
	for _, f := range []struct{ what, v string }{{"--exec", c.Exec}, {"--desc", c.Desc}, {"--user", c.User}, {"--pidfile", c.Pidfile}} {
		if err := oneLine(f.what, f.v); err != nil {
			return bad(err)
		}
	}
	if strings.TrimSpace(c.Exec) == "" {
		return bad(errors.New("--exec is empty; give the daemon's command line"))
	}
	if c.User != "" && (strings.ContainsFunc(c.User, unicode.IsSpace) || strings.ContainsAny(c.User, "\"'$#")) {
		return bad(fmt.Errorf("--user %q: a user name has no spaces, quotes, '$' or '#'", c.User))
	}
	if c.Pidfile != "" && (!filepath.IsAbs(c.Pidfile) || strings.ContainsFunc(c.Pidfile, unicode.IsSpace) || strings.ContainsAny(c.Pidfile, "\"'$#")) {
		return bad(fmt.Errorf("--pidfile %q: want an absolute path without spaces, quotes, '$' or '#'", c.Pidfile))
	}
	exe, err := selfPath()
	if err != nil {
		return &lsb.Error{Service: c.Name, Action: "new", Code: lsb.Failed, Err: fmt.Errorf("cannot find the svcwrap binary: %v", err)}
	}
	paths := env.paths
	pidfile := c.Pidfile
	if pidfile == "" {
		pidfile = filepath.Join(paths.PidDir, c.Name+".pid")
	}
	initPath := filepath.Join(paths.InitDir, c.Name)
	defPath, interp, mode := initPath, exe, os.FileMode(0o755)
	if c.Symlink {
		defPath, interp, mode = filepath.Join(paths.ConfDir, c.Name), "", 0o644
	}
	text, err := c.definition(interp, pidfile)
	if err != nil {
		return bad(err)
	}

	// What is there already: the same definition is fine (`new` is idempotent);
	// anything else needs --force.
	unchanged := false
	if old, err := os.ReadFile(defPath); err == nil && bytes.Equal(old, []byte(text)) {
		unchanged = true
	} else if _, err := os.Lstat(defPath); err == nil && !c.Force {
		return &lsb.Error{Service: c.Name, Action: "new", Code: lsb.Failed,
			Err: fmt.Errorf("%s exists and differs from what new would write", defPath), Hint: "use --force to replace it, or svcwrap check to validate it"}
	}
	if c.Symlink {
		if fi, err := os.Lstat(initPath); err == nil && !c.Force {
			if target, _ := filepath.EvalSymlinks(initPath); fi.Mode()&os.ModeSymlink == 0 || target != exe {
				return &lsb.Error{Service: c.Name, Action: "new", Code: lsb.Failed,
					Err: fmt.Errorf("%s exists and is not a symlink to %s", initPath, exe), Hint: "use --force to replace it"}
			}
		}
	}

	if !unchanged {
		if err := writeValidated(env, c.Name, defPath, text, mode, paths); err != nil {
			return err
		}
	} else if err := checkWritten(env, c.Name, defPath, paths); err != nil {
		return err
	}
	if c.Symlink {
		if err := replaceSymlink(exe, initPath); err != nil {
			return &lsb.Error{Service: c.Name, Action: "new", Code: fileErrCode(err), Err: err}
		}
	}
	switch {
	case unchanged:
		fmt.Fprintf(env.out, "%s: unchanged.\n", defPath)
	case c.Symlink:
		fmt.Fprintf(env.out, "Wrote %s and %s -> %s.\n", defPath, initPath, exe)
	default:
		fmt.Fprintf(env.out, "Wrote %s.\n", defPath)
	}
	if !c.Enable {
		return nil
	}
	if systemdBooted() != "" {
		return enableNative(env, c.Name, c.Symlink, newHeader(c.Name, c.Name))
	}
	return enable(env, c.Name, c.Symlink, newHeader(c.Name, c.Name), true)
}

// enableNative is --enable on a host booted with systemd. The rc links are made
// as on any host (update-rc.d and invoke-rc.d read them, and a host without
// systemd starts the service by them), but systemd 260 and later have no
// systemd-sysv-generator and ignore an init script: the service gets its native
// unit, as `svcwrap unit NAME --install` writes it, and `systemctl enable`.
func enableNative(env *adminEnv, name string, symlink bool, h *lsb.Header) error {
	if err := enable(env, name, symlink, h, false); errors.Is(err, errNoRcTool) {
		fmt.Fprintf(env.out, "No update-rc.d or chkconfig: no rc links for %s (systemd does not read them).\n", name)
	} else if err != nil {
		return err
	}
	u, err := buildUnit(env, name)
	if err != nil {
		return err
	}
	if _, err := writeUnit(env, name, u, false); err != nil {
		return err
	}
	if u.template {
		reloadSystemd(env)
		fmt.Fprintf(env.out, "%s is a template: enable its instances with systemctl enable %s@INSTANCE.service.\n", u.name, name)
		return nil
	}
	if err := enableUnit(env, u.name); err != nil {
		return &lsb.Error{Service: name, Action: "new --enable", Code: lsb.Failed, Err: err}
	}
	reloadSystemd(env)
	fmt.Fprintf(env.out, "Enabled %s with systemctl enable: on this systemd host the native unit starts %s at boot (systemd 260 and later ignore an init script without one).\n", u.name, name)
	return nil
}

// errNoRcTool: neither update-rc.d nor chkconfig is installed.
var errNoRcTool = errors.New("neither update-rc.d nor chkconfig is installed")

// writeValidated writes text to a temporary file beside path, validates it as
// `check` does, and renames it into place; on a problem nothing is replaced.
func writeValidated(env *adminEnv, name, path, text string, mode os.FileMode, paths definition.Paths) error {
	fail := func(err error) error {
		return &lsb.Error{Service: name, Action: "new", Code: fileErrCode(err), Err: err}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	f, err := os.CreateTemp(dir, "."+name+".new-*")
	if err != nil {
		return fail(err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this removes nothing
	_, werr := f.WriteString(text)
	if werr == nil {
		werr = f.Chmod(mode)
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fail(werr)
	}
	def, err := definition.Load(name, tmp, paths)
	if err != nil {
		fmt.Fprintln(env.errw, strings.ReplaceAll(err.Error(), tmp, path))
		return &lsb.Error{Service: name, Action: "new", Code: lsb.NotConfigured,
			Err: fmt.Errorf("the definition would not be valid; %s left as it was", path)}
	}
	for _, p := range def.HostProblems {
		fmt.Fprintf(env.errw, "%s (warning: start would refuse)\n", strings.ReplaceAll(p.String(), tmp, path))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	return nil
}

// checkWritten validates an existing definition (an unchanged `new`).
func checkWritten(env *adminEnv, name, path string, paths definition.Paths) error {
	def, err := definition.Load(name, path, paths)
	if err != nil {
		fmt.Fprintln(env.errw, err)
		return &lsb.Error{Service: name, Action: "new", Code: lsb.NotConfigured, Err: errSilent}
	}
	for _, p := range def.HostProblems {
		fmt.Fprintf(env.errw, "%s (warning: start would refuse)\n", p)
	}
	return nil
}

// fileErrCode is LSB 4 (insufficient privilege) for a permission error, else 1.
func fileErrCode(err error) lsb.Exit {
	if errors.Is(err, fs.ErrPermission) {
		return lsb.NoPrivilege
	}
	return lsb.Failed
}

// replaceSymlink makes link point to target, atomically.
func replaceSymlink(target, link string) error {
	if cur, err := os.Readlink(link); err == nil && cur == target {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(link), "."+filepath.Base(link)+".new-link")
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// enable registers the service for boot. A script-mode file in /etc/init.d goes
// to update-rc.d (or chkconfig), which read its LSB header. Symlink mode cannot:
// insserv reads the header of the link's target, the binary, so svcwrap makes the
// rc links itself. So it does for an INITDIR other than /etc/init.d, which
// update-rc.d does not know; the rc directories are then INITDIR's siblings.
//
// reload: run `systemctl daemon-reload` on a systemd host after making links.
func enable(env *adminEnv, name string, symlink bool, h *lsb.Header, reload bool) error {
	fail := func(err error, hint string) error {
		return &lsb.Error{Service: name, Action: "new --enable", Code: lsb.Failed, Err: err, Hint: hint}
	}
	if !symlink && filepath.Clean(env.paths.InitDir) == "/etc/init.d" {
		tool, args := rcTool(name, definition.ResolveProgram)
		if tool == "" {
			return fail(errNoRcTool, "create the /etc/rc?.d links by hand")
		}
		cmd := exec.Command(tool, args...)
		cmd.Stdout, cmd.Stderr = env.out, env.errw
		if err := cmd.Run(); err != nil {
			return fail(fmt.Errorf("%s %s: %v", filepath.Base(tool), strings.Join(args, " "), err), "")
		}
		fmt.Fprintf(env.out, "Enabled %s with %s %s.\n", name, filepath.Base(tool), strings.Join(args, " "))
		return nil
	}
	made, err := makeRcLinks(filepath.Dir(env.paths.InitDir), env.paths.InitDir, name, h)
	if err != nil {
		return fail(err, "")
	}
	if len(made) == 0 {
		fmt.Fprintf(env.out, "%s already has rc links; left as they are.\n", name)
	} else {
		fmt.Fprintf(env.out, "Enabled %s: %s.\n", name, strings.Join(made, " "))
	}
	if reload && systemdBooted() != "" {
		reloadSystemd(env)
	}
	return nil
}

// rcTool picks the host's tool for enabling an init script: update-rc.d on Debian,
// chkconfig on Red Hat and SUSE.
func rcTool(name string, look func(string) (string, error)) (string, []string) {
	if p, err := look("update-rc.d"); err == nil {
		return p, []string{name, "defaults"}
	}
	if p, err := look("chkconfig"); err == nil {
		return p, []string{"--add", name}
	}
	return "", nil
}

// makeRcLinks creates rcN.d/S20NAME for each Default-Start runlevel and
// rcN.d/K01NAME for each Default-Stop runlevel, under root, pointing at
// ../init.d/NAME. Like update-rc.d, it leaves a service that has any rc link
// alone (its enabled or disabled state is the administrator's). It returns the
// links it made, relative to root.
func makeRcLinks(root, initDir, name string, h *lsb.Header) ([]string, error) {
	existing, _ := filepath.Glob(filepath.Join(root, "rc?.d", "[SK][0-9][0-9]"+name))
	if len(existing) > 0 {
		return nil, nil
	}
	var made []string
	add := func(level, kind, seq string) error {
		dir := filepath.Join(root, "rc"+level+".d")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		target, err := filepath.Rel(dir, filepath.Join(initDir, name))
		if err != nil {
			return err
		}
		link := filepath.Join(dir, kind+seq+name)
		if err := os.Symlink(target, link); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		made = append(made, filepath.Join("rc"+level+".d", kind+seq+name))
		return nil
	}
	for _, l := range h.DefaultStart {
		if err := add(l, "S", rcStartSeq); err != nil {
			return made, err
		}
	}
	for _, l := range h.DefaultStop {
		if err := add(l, "K", rcStopSeq); err != nil {
			return made, err
		}
	}
	return made, nil
}
