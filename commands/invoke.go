// Package commands is svcwrap's command line: the init-script verbs (built-in and
// custom) and the admin subcommands.
package commands

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/proc"
	"svcwrap/protocol"
	"svcwrap/service"
)

// prepare is the start of every CLI invocation: a clean environment, and survival
// of a caller that goes away. SIGPIPE and SIGHUP are caught, not ignored: a write
// to a closed stdout then fails quietly instead of killing svcwrap halfway through
// an action, and the processes svcwrap starts still get default dispositions.
// Inherited fds from 3 up are made close-on-exec, so nothing svcwrap starts keeps
// a caller's pipe open (debconf's fd 3).
//
// `status` (args exactly ["status"]) ignores the two signals instead: the same
// survival, without what signal.Notify costs, which is two more threads (the
// runtime's signal-mask thread and os/signal's receiving loop) and four thread
// hand-offs, in every exec of the most frequent verb. Dispositions
// only matter to children, and status starts none: it reads files and /proc and
// prints one line (an NSS user that is not in /etc/passwd is looked up with
// getent(1), which then inherits the two ignored signals; it only writes to the
// pipe that svcwrap reads to the end).
func prepare(args []string) {
	proc.CloexecInherited()
	protocol.NormalizeEnv()
	if statusOnly(args) {
		signal.Ignore(unix.SIGPIPE, unix.SIGHUP)
		return
	}
	signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE, unix.SIGHUP)
}

// statusOnly reports whether the verb and its arguments are a plain `status`.
func statusOnly(args []string) bool { return len(args) == 1 && args[0] == "status" }

// newReporter is lsb.NewReporter, except for a plain `status`: lsb.NewReporter
// catches SIGPIPE with signal.Notify, which would start the threads that prepare
// spared, and its terminal test only decides the colour of " failed!" at the end
// of a Begin line, which status never opens.
func newReporter(args []string) *lsb.Reporter {
	if statusOnly(args) {
		return &lsb.Reporter{Out: os.Stdout, Err: os.Stderr}
	}
	return lsb.NewReporter(os.Stdout, os.Stderr)
}

// RunScript is script mode: the kernel ran `svcwrap SCRIPT VERB ARGS...` for a
// definition whose first line is `#!/usr/sbin/svcwrap`.
func RunScript(script string, args []string) int {
	prepare(args)
	file, err := filepath.EvalSymlinks(script)
	if err != nil {
		file = script
	}
	// `cd /etc/init.d && ./nginx start` hands us a relative path; the watchdog
	// runs in / and must find the same file.
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
	}
	name := filepath.Base(file)
	// A link to a template called TEMPLATE@INST (or TEMPLATE.INST): the instance
	// is in the name the script was called by.
	if inst := instanceIn(trimRcPrefix(filepath.Base(script)), name); inst != "" {
		name += "@" + inst
	}
	return invokeAs(name, file, script, args)
}

// instanceIn is INST when called is TEMPLATE@INST or TEMPLATE.INST for the
// template name template, else "".
func instanceIn(called, template string) string {
	for _, sep := range []string{"@", "."} {
		if inst, ok := strings.CutPrefix(called, template+sep); ok {
			return inst
		}
	}
	return ""
}

// RunSymlink is symlink mode: /etc/init.d/NAME -> svcwrap, with the definition in
// CONFDIR/NAME. The name is the last link of the chain that led to the binary, so
// /etc/rc2.d/S01nginx -> ../init.d/nginx -> /usr/sbin/svcwrap is nginx.
func RunSymlink(argv0 string, args []string) int {
	prepare(args)
	name := ServiceNameFromLink(argv0)
	paths := definition.PathsFromEnv(os.Getenv)
	file := filepath.Join(paths.ConfDir, name)
	if tmpl, _ := definition.SplitInstance(name); tmpl != name {
		file = filepath.Join(paths.ConfDir, tmpl) // an instance: the template's definition
	}
	return invokeAs(name, file, argv0, args)
}

// trimRcPrefix strips an rc link's S01/K01 prefix from a name.
func trimRcPrefix(name string) string {
	if len(name) >= 3 && (name[0] == 'S' || name[0] == 'K') && isDigit(name[1]) && isDigit(name[2]) {
		return name[3:]
	}
	return name
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ServiceNameFromLink follows the symlink chain from path until the next step is no
// longer a symlink, and returns the base name of the last link.
func ServiceNameFromLink(path string) string {
	if !strings.Contains(path, "/") {
		if p, err := lookPathDirs(path); err == nil {
			path = p
		}
	}
	cur, last := path, path
	for i := 0; i < 40; i++ {
		target, err := os.Readlink(cur)
		if err != nil {
			break
		}
		last = cur
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(cur), target)
		}
		cur = target
	}
	name := filepath.Base(last)
	if last == path {
		// Not a symlink at all (a copy or a hard link): strip an rc prefix.
		name = trimRcPrefix(name)
	}
	// openvpn@office -> openvpn -> svcwrap: an instance of the template openvpn.
	if inst := instanceIn(trimRcPrefix(filepath.Base(path)), name); inst != "" {
		name += "@" + inst
	}
	return name
}

func lookPathDirs(name string) (string, error) {
	return definition.ResolveProgram(name)
}

// invoke loads the definition and runs one verb.
func invoke(name, file string, args []string) int { return invokeAs(name, file, "", args) }

// invokeAs is invoke for a service run by the path via (the init script or an rc
// link; "" for `svcwrap run`, which counts as INITDIR/NAME). On a host booted with
// systemd, hand-run verbs may go to systemctl instead (systemd.go).
func invokeAs(name, file, via string, args []string) int {
	rep := newReporter(args)
	paths := definition.PathsFromEnv(os.Getenv)
	if err := checkArgs(args); err != nil {
		rep.Failure(name, err)
		return lsb.ExitCodeOf(err)
	}
	verb := ""
	if len(args) > 0 {
		verb = args[0]
		args = args[1:]
	}
	if _, inst := definition.SplitInstance(name); inst != "" {
		if err := definition.ValidInstance(inst); err != nil {
			// Before any file is touched: the name makes paths.
			rep.Failure(name, &lsb.Error{Service: name, Action: verbOr(verb), Code: lsb.BadArgs, Err: err})
			return int(lsb.BadArgs)
		}
	}
	if code, done := systemdRedirect(rep, name, via, verb, args, paths); done {
		return code
	}
	def, err := definition.Load(name, file, paths)
	if err != nil {
		if code, ok := brokenDefinition(rep, name, file, paths, verb, args, err); ok {
			return code
		}
		code := lsb.NotConfigured
		if verb == "status" {
			code = lsb.Exit(lsb.Unknown)
		}
		e := &lsb.Error{Service: name, Action: verbOr(verb), Code: code, Err: err}
		rep.Failure(name, e)
		return int(code)
	}
	prog := via
	if prog == "" {
		prog = "svcwrap run " + name
	}
	if def.IsTemplate && def.Instance == "" {
		return runTemplate(rep, def, paths, prog, verb, args)
	}
	svc := &service.Service{Def: def, Paths: paths}
	return report(rep, name, verb, Dispatch(rep, svc, prog, verb, args))
}

// report prints a verb's failure (a custom command speaks for itself) and
// returns its exit code.
func report(rep *lsb.Reporter, name, verb string, err error) int {
	if err != nil {
		err = lsb.Wrap(err, name, verbOr(verb))
		var ce *service.CommandExit
		if !errors.As(err, &ce) && !errors.Is(err, errSilent) {
			rep.Failure(name, err)
		}
	}
	return lsb.ExitCodeOf(err)
}

func verbOr(v string) string {
	if v == "" {
		return "usage"
	}
	if len(v) > 64 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return shortQuote(v) // a verb in a message must stay one short line
	}
	return v
}

// firstLine reads the first line of a file, for recognising script-mode definitions.
func firstLine(path string) string {
	// The common case with open, read and close only (os.Open also tries to add
	// the file to the runtime poller: list does this for every file in INITDIR).
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	var buf [512]byte
	n, err := unix.Read(fd, buf[:])
	unix.Close(fd)
	if err == nil && n >= 0 {
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 || n < len(buf) {
			if i < 0 {
				i = n // one line and no newline: that is all there was
			}
			return strings.TrimRight(string(buf[:i]), "\r\n")
		}
	}
	f, err := os.Open(path) // a line longer than the buffer, or EINTR
	if err != nil {
		return ""
	}
	defer f.Close()
	line, _ := bufio.NewReader(f).ReadString('\n')
	return strings.TrimRight(line, "\r\n")
}

// isScript reports whether path is a script-mode definition: a file whose `#!`
// interpreter is a program called svcwrap.
func isScript(path string) bool {
	l := firstLine(path)
	if !strings.HasPrefix(l, "#!") {
		return false
	}
	f := strings.Fields(l[2:])
	return len(f) > 0 && filepath.Base(f[0]) == "svcwrap"
}

// FindDefinition locates the definition of service name: a script-mode file in
// INITDIR, else CONFDIR/NAME. An instance, TEMPLATE@INST or TEMPLATE.INST, has its
// template's definition; the name returned is then TEMPLATE@INST.
func FindDefinition(paths definition.Paths, name string) (string, string, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return "", "", fmt.Errorf("%q is not a service name", name)
	}
	if file, ok := findFile(paths, name); ok {
		return name, file, nil // also a link TEMPLATE@INST to the template
	}
	if tmpl, inst := definition.SplitInstance(name); inst != "" {
		if file, ok := findFile(paths, tmpl); ok {
			return name, file, nil
		}
	}
	for i := strings.IndexByte(name, '.'); i > 0; i = nextDot(name, i) {
		if file, ok := findFile(paths, name[:i]); ok {
			return name[:i] + "@" + name[i+1:], file, nil // OpenRC's net.eth1
		}
	}
	return "", "", fmt.Errorf("no service %q: neither %s is a svcwrap script nor does %s exist",
		name, filepath.Join(paths.InitDir, name), filepath.Join(paths.ConfDir, name))
}

func nextDot(s string, i int) int {
	if j := strings.IndexByte(s[i+1:], '.'); j >= 0 {
		return i + 1 + j
	}
	return -1
}

// findFile is the definition file of name, if there is one.
func findFile(paths definition.Paths, name string) (string, bool) {
	p := filepath.Join(paths.InitDir, name)
	if real, err := filepath.EvalSymlinks(p); err == nil && isScript(real) {
		return real, true
	}
	c := filepath.Join(paths.ConfDir, name)
	if _, err := os.Stat(c); err == nil {
		return c, true
	}
	return "", false
}
