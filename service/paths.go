package service

import (
	"os"
	"path/filepath"
	"strings"

	"svcwrap/lsb"
)

// FixedPATH is the PATH of every process svcwrap starts, and the only PATH used to
// find programs named without a slash.
const FixedPATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Paths are the directories svcwrap works in. Every one has an environment override
// so that tests and unprivileged users can run svcwrap in a temporary tree.
type Paths struct {
	InitDir  string   // SVCWRAP_INITDIR: script-mode definitions (/etc/init.d)
	ConfDir  string   // SVCWRAP_CONFDIR: symlink-mode definitions (/etc/svcwrap)
	RunDir   string   // SVCWRAP_RUNDIR: locks and state (/run/svcwrap)
	PidDir   string   // SVCWRAP_PIDDIR: default pidfiles (/run)
	LogDir   string   // SVCWRAP_LOGDIR: default logs (/var/log/svcwrap)
	Defaults []string // SVCWRAP_DEFAULTS: dirs searched for env file NAME
}

// PathsFromEnv reads the SVCWRAP_* overrides with getenv (os.Getenv in production).
func PathsFromEnv(getenv func(string) string) Paths {
	get := func(key, def string) string {
		if v := getenv(key); v != "" {
			return filepath.Clean(v)
		}
		return def
	}
	p := Paths{
		InitDir: get("SVCWRAP_INITDIR", "/etc/init.d"),
		ConfDir: get("SVCWRAP_CONFDIR", "/etc/svcwrap"),
		RunDir:  get("SVCWRAP_RUNDIR", "/run/svcwrap"),
		PidDir:  get("SVCWRAP_PIDDIR", "/run"),
		LogDir:  get("SVCWRAP_LOGDIR", "/var/log/svcwrap"),
	}
	for _, d := range strings.Split(get("SVCWRAP_DEFAULTS", "/etc/default:/etc/sysconfig"), ":") {
		if d != "" {
			p.Defaults = append(p.Defaults, d)
		}
	}
	return p
}

func (p Paths) lockFile(name string) string   { return filepath.Join(p.RunDir, name+".lock") }
func (p Paths) stateFile(name string) string  { return filepath.Join(p.RunDir, name+".state") }
func (p Paths) wdLockFile(name string) string { return filepath.Join(p.RunDir, name+".wd.lock") }

// ensureRunDir creates RunDir (0755) if it is missing, e.g. after a reboot emptied
// /run, and refuses a RunDir that is a symlink.
func (p Paths) ensureRunDir() error {
	fi, err := os.Lstat(p.RunDir)
	if err == nil {
		if fi.Mode()&os.ModeSymlink != 0 {
			return lsb.Errorf(lsb.NotConfigured, "%s is a symlink; svcwrap keeps locks and state only in a real directory", p.RunDir)
		}
		return checkRunDir(p.RunDir, fi)
	}
	if err := os.MkdirAll(p.RunDir, 0o755); err != nil {
		return lsb.Errorf(lsb.NoPrivilege, "cannot create %s: %v", p.RunDir, err)
	}
	return nil
}

// keptEnv is the part of the caller's environment svcwrap keeps: the locale, its own
// overrides, the variables Debian's init-functions use to decide about systemd, and
// GORACE, so that a race-enabled build of svcwrap (the integration suite's) reports
// races of its watchdog, whose stderr is /dev/null, to a file. GORACE does nothing in
// a normal build, and it is never passed to a daemon (the service environment is
// built separately).
func keptEnv(kv string) bool {
	k, _, _ := strings.Cut(kv, "=")
	return k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") ||
		strings.HasPrefix(k, "SVCWRAP_") || k == "SYSTEMCTL_SKIP_REDIRECT" || k == "_SYSTEMCTL_SKIP_REDIRECT" ||
		k == "GORACE"
}

// NormalizeEnv replaces svcwrap's own environment with the kept variables and the
// fixed PATH, so that nothing svcwrap computes depends on how it was called (a login
// shell, `service`, which clears the environment, cron or Ansible).
func NormalizeEnv() {
	var keep []string
	for _, kv := range os.Environ() {
		if keptEnv(kv) {
			keep = append(keep, kv)
		}
	}
	os.Clearenv()
	for _, kv := range keep {
		k, v, _ := strings.Cut(kv, "=")
		os.Setenv(k, v)
	}
	os.Setenv("PATH", FixedPATH)
}

// localeEnv is the caller's locale, which SPEC passes to the daemon.
func localeEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
			out = append(out, kv)
		}
	}
	return out
}

// svcwrapEnv is what svcwrap hands to its own watchdog: the fixed PATH, the locale
// and the SVCWRAP_* overrides.
func svcwrapEnv() []string {
	out := []string{"PATH=" + FixedPATH}
	for _, kv := range os.Environ() {
		if keptEnv(kv) && !strings.HasPrefix(kv, "PATH=") {
			out = append(out, kv)
		}
	}
	return out
}
