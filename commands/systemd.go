package commands

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"svcwrap/definition"
	"svcwrap/lsb"
)

// systemdBooted returns the directory that says the host was booted with systemd
// (SVCWRAP_SYSTEMD_DIR, default /run/systemd/system) when it exists, else "".
func systemdBooted() string {
	dir := os.Getenv("SVCWRAP_SYSTEMD_DIR")
	if dir == "" {
		dir = "/run/systemd/system"
	}
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return dir
	}
	return ""
}

// systemdRoot is SVCWRAP_SYSTEMD_ROOT, for tests: the root directory of an
// offline systemd installation ("" for the host's own). Units are then written
// under it (ROOT/etc/systemd/system), paths under it are written into units as
// seen from it, systemctl gets --root=ROOT and systemd is never asked to reload.
func systemdRoot() string {
	if r := os.Getenv("SVCWRAP_SYSTEMD_ROOT"); r != "" {
		if r = filepath.Clean(r); r != "/" {
			return r
		}
	}
	return ""
}

// inSystemdRoot is path as systemd under systemdRoot sees it: ROOT/etc/init.d/web
// is /etc/init.d/web there. Paths outside the root, and every path without one,
// are left as they are.
func inSystemdRoot(path string) string {
	root := systemdRoot()
	if root == "" {
		return path
	}
	if rel, err := filepath.Rel(root, path); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		return filepath.Join("/", rel)
	}
	return path
}

// systemctlPath is SVCWRAP_SYSTEMCTL, else systemctl on the fixed PATH.
func systemctlPath() (string, error) {
	if p := os.Getenv("SVCWRAP_SYSTEMCTL"); p != "" {
		return p, nil
	}
	return definition.ResolveProgram("systemctl")
}

// systemctl runs systemctl with args and returns its trimmed stdout; stderr is
// discarded, as init-functions does with 2>/dev/null.
func systemctl(path string, args ...string) (string, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = redirectEnv()
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// redirectEnv is svcwrap's environment plus _SYSTEMCTL_SKIP_REDIRECT, which tells
// any init script systemctl may run on our behalf not to redirect again.
func redirectEnv() []string {
	return append(os.Environ(), "_SYSTEMCTL_SKIP_REDIRECT=true")
}

// reloadSystemd runs `systemctl daemon-reload` so that systemd-sysv-generator sees
// new init scripts and rc links, and systemd a new unit file.
func reloadSystemd(env *adminEnv) {
	if systemdRoot() != "" {
		return // an offline root: no manager to tell
	}
	sc, err := systemctlPath()
	if err != nil {
		return
	}
	cmd := exec.Command(sc, "--no-ask-password", "daemon-reload")
	cmd.Env = redirectEnv()
	cmd.Stdout, cmd.Stderr = env.out, env.errw
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(env.errw, "svcwrap: warning: systemctl daemon-reload: %v\n", err)
	}
}

// redirectMessages are init-functions' words for each redirected verb.
var redirectMessages = map[string]string{
	"start":        "Starting %s (via systemctl)",
	"stop":         "Stopping %s (via systemctl)",
	"reload":       "Reloading %s configuration (via systemctl)",
	"force-reload": "Reloading %s configuration (via systemctl)",
	"try-restart":  "Restarting %s if running (via systemctl)",
	"restart":      "Restarting %s (via systemctl)",
}

// calledBySystemd reports whether svcwrap's caller is systemd: PID 1 (the system
// manager running ExecStart=) or a process named systemd (a user manager, or
// systemd in a container that is not PID 1).
func calledBySystemd() bool {
	ppid := os.Getppid()
	if ppid == 1 {
		return true
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	return err == nil && strings.TrimSpace(string(comm)) == "systemd"
}

// runAsInitScript reports whether via, the path svcwrap was run by, is the init
// script INITDIR/NAME, directly or through a chain of symlinks (an rc link).
// This is init-functions' `readlink -f "$0"` is in /etc/init.d/ test; in symlink
// mode readlink -f ends at the binary, so the chain is walked instead.
func runAsInitScript(via, initDir, name string) bool {
	want := filepath.Join(initDir, name)
	if real, err := filepath.EvalSymlinks(initDir); err == nil {
		want = filepath.Join(real, name)
	}
	if via == "" {
		return false
	}
	if !filepath.IsAbs(via) {
		abs, err := filepath.Abs(via)
		if err != nil {
			return false
		}
		via = abs
	}
	if real, err := filepath.EvalSymlinks(via); err == nil && real == want {
		return true // script mode
	}
	cur := via
	for i := 0; i < 40; i++ {
		dirReal, err := filepath.EvalSymlinks(filepath.Dir(cur))
		if err == nil && filepath.Join(dirReal, filepath.Base(cur)) == want {
			return true
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return false
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(cur), target)
		}
		cur = target
	}
	return false
}

// systemdRedirect is Debian's /lib/lsb/init-functions.d/40-systemd for svcwrap.
// On a host booted with systemd:
//   - a masked NAME.service makes every verb but status exit 0 at once, doing
//     nothing (init-functions exits 0 for status too, but LSB's status 0 means
//     "running", which a masked service is not);
//   - unless systemd is the caller, or SYSTEMCTL_SKIP_REDIRECT or
//     _SYSTEMCTL_SKIP_REDIRECT is set, a hand-run start, stop, restart, reload,
//     force-reload or try-restart (condrestart) of INITDIR/NAME is passed to
//     `systemctl VERB NAME.service`, so that systemd's view of the service stays
//     true; reload runs directly when the unit cannot reload (CanReload=no);
//   - status and custom verbs always run directly (init-functions sends
//     status to systemctl too, but svcwrap's status knows the watchdog, the
//     respawns and the last exit, and changes nothing).
//
// It returns the exit code and true when it handled the verb.
func systemdRedirect(rep *lsb.Reporter, name, via, verb string, args []string, paths definition.Paths) (int, bool) {
	if verb == "status" || systemdBooted() == "" {
		return 0, false // status needs no systemctl round trip, masked or not
	}
	sc, err := systemctlPath()
	if err != nil {
		return 0, false
	}
	unit := strings.TrimSuffix(name, ".sh") + ".service"
	state, err := systemctl(sc, "-p", "LoadState", "--value", "show", unit)
	if err != nil || state == "" {
		state = "not-found"
	}
	if state == "masked" {
		return 0, true
	}
	if calledBySystemd() || os.Getenv("SYSTEMCTL_SKIP_REDIRECT") != "" || os.Getenv("_SYSTEMCTL_SKIP_REDIRECT") != "" {
		return 0, false
	}
	if via == "" {
		via = filepath.Join(paths.InitDir, name)
	}
	if !runAsInitScript(via, paths.InitDir, name) {
		return 0, false
	}
	if verb == "condrestart" {
		verb = "try-restart"
	}
	msg, ok := redirectMessages[verb]
	if !ok || len(args) > 0 {
		return 0, false
	}
	if state == "not-found" && os.Geteuid() == 0 {
		// A new init script that systemd-sysv-generator has not seen yet.
		systemctl(sc, "--no-ask-password", "daemon-reload")
		if state, err = systemctl(sc, "-p", "LoadState", "--value", "show", unit); err != nil || state == "" || state == "not-found" {
			// Still no unit: no generator (systemd 260 and later have none)
			// and no native unit. systemctl could only fail; run it here.
			fmt.Fprintf(os.Stderr, "svcwrap: warning: systemd has no %s (no systemd-sysv-generator, as in systemd 260 and later, and no native unit): running %s directly; svcwrap unit %s --install and systemctl enable %s make it a unit\n",
				unit, verb, strings.TrimSuffix(name, ".sh"), unit)
			return 0, false
		}
	}
	if verb == "reload" {
		if can, _ := systemctl(sc, "-p", "CanReload", "--value", "show", unit); can == "no" {
			return 0, false
		}
	}
	sargs := []string{"--no-pager"}
	if verb == "reload" {
		// Never block a reload during boot or shutdown (dependency loops).
		if _, err := systemctl(sc, "--quiet", "is-system-running"); err != nil {
			sargs = append(sargs, "--no-block")
		}
	}
	sargs = append(sargs, verb, unit)
	prog := strings.TrimSuffix(name, ".sh")
	rep.Begin("", fmt.Sprintf(msg, prog), unit)
	cmd := exec.Command(sc, sargs...)
	cmd.Env = redirectEnv()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	code := 0
	if err != nil {
		code = 1
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() > 0 {
			code = ee.ExitCode()
		}
	}
	rep.End(code == 0)
	if err != nil && code == 1 {
		if _, ok := err.(*exec.ExitError); !ok {
			rep.Failure(name, lsb.Errorf(lsb.Failed, "%s: cannot run %s: %v", verb, sc, err))
		}
	}
	return code, true
}

// enableUnit runs `systemctl --no-reload enable UNIT` (with --root under
// SVCWRAP_SYSTEMD_ROOT), its messages passed on; the caller reloads systemd once
// its units are written and enabled. SYSTEMCTL_SKIP_SYSV: systemctl on Debian would also run
// update-rc.d for an init script of the same name (systemd-sysv-install, in a
// chroot under --root); svcwrap has made or left the rc links itself.
func enableUnit(env *adminEnv, unit string) error {
	sc, err := systemctlPath()
	if err != nil {
		return fmt.Errorf("systemctl is not installed: %v", err)
	}
	args := []string{"--no-ask-password", "--no-reload"}
	if r := systemdRoot(); r != "" {
		args = append(args, "--root="+r)
	}
	args = append(args, "enable", unit)
	cmd := exec.Command(sc, args...)
	cmd.Env = append(redirectEnv(), "SYSTEMCTL_SKIP_SYSV=1")
	cmd.Stdout, cmd.Stderr = env.out, env.errw
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("systemctl %s: %v", strings.Join(args, " "), err)
	}
	return nil
}
