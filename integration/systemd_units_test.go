package integration_test

// Native units for systemd 260 and later, which has no systemd-sysv-generator
// and ignores an init script without a unit: `svcwrap new --enable` on a host
// booted with systemd writes and enables NAME.service, and `svcwrap unit --all
// --install` converts every definition. The tests run the real systemctl and
// systemd-analyze on an offline root directory (SVCWRAP_SYSTEMD_ROOT: systemctl
// --root, no manager), with "booted with systemd" simulated by
// SVCWRAP_SYSTEMD_DIR. The root holds a copy of the host's unit directory and no
// generator at all, so systemd there knows an init script only through a unit.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sdRoot is an offline systemd installation under an Env: ROOT/etc/init.d and
// ROOT/etc/svcwrap are the Env's INITDIR and CONFDIR (so that the units name
// /etc/init.d/NAME), ROOT/usr/lib/systemd/system is a copy of the host's units
// (systemd-analyze verify --root needs sysinit.target and the others).
type sdRoot struct {
	e      *Env
	root   string
	booted string // stands for /run/systemd/system
}

func newSdRoot(t *testing.T, e *Env) *sdRoot {
	t.Helper()
	for _, p := range []string{"/usr/bin/systemctl", "/usr/bin/systemd-analyze", "/usr/lib/systemd/system/multi-user.target"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not installed (package systemd): %v", p, err)
		}
	}
	s := &sdRoot{e: e, root: filepath.Join(e.Root, "sysroot"), booted: filepath.Join(e.Root, "run-systemd-system")}
	e.InitDir = filepath.Join(s.root, "etc", "init.d")
	e.ConfDir = filepath.Join(s.root, "etc", "svcwrap")
	for _, d := range []string{e.InitDir, e.ConfDir, s.booted, filepath.Join(s.root, "usr", "lib", "systemd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r := e.ExecWith(ExecOpts{Env: cleanEnviron()}, "/bin/cp", "-a", "/usr/lib/systemd/system", filepath.Join(s.root, "usr", "lib", "systemd"))
	wantCode(t, r, 0)
	for _, gen := range []string{"usr/lib/systemd/system-generators", "lib/systemd/system-generators"} {
		if _, err := os.Stat(filepath.Join(s.root, gen)); err == nil {
			t.Fatalf("the root has %s: it must stand for a systemd without systemd-sysv-generator", gen)
		}
	}
	return s
}

// env is the CLI environment with the root, booted with systemd or not. The
// harness's SYSTEMCTL_SKIP_REDIRECT stays: nothing here starts a service
// through systemctl.
func (s *sdRoot) env(booted bool) []string {
	extra := []string{"SVCWRAP_SYSTEMD_ROOT=" + s.root}
	if booted {
		extra = append(extra, "SVCWRAP_SYSTEMD_DIR="+s.booted)
	} else {
		extra = append(extra, "SVCWRAP_SYSTEMD_DIR="+filepath.Join(s.e.Root, "no-such-dir"))
	}
	return s.e.CLIEnv(extra...)
}

func (s *sdRoot) svcwrap(booted bool, args ...string) Result {
	return s.e.ExecWith(ExecOpts{Env: s.env(booted)}, s.e.Svcwrap, args...)
}

// unit is ROOT/etc/systemd/system/NAME.
func (s *sdRoot) unit(name string) string {
	return filepath.Join(s.root, "etc", "systemd", "system", name)
}

// wants is the symlink `systemctl enable` makes for a unit WantedBy=multi-user.target.
func (s *sdRoot) wants(name string) string {
	return s.unit(filepath.Join("multi-user.target.wants", name))
}

// isEnabled is `systemctl --root=ROOT is-enabled UNIT`'s answer.
func (s *sdRoot) isEnabled(unit string) string {
	r := s.e.ExecWith(ExecOpts{Env: cleanEnviron()}, "/usr/bin/systemctl", "--root="+s.root, "is-enabled", unit)
	return strings.TrimSpace(r.Stdout + r.Stderr)
}

// verify runs systemd-analyze verify on units (names or paths as seen in the
// root) with --root: ExecStart= must exist and be executable there.
func (s *sdRoot) verify(t *testing.T, units ...string) {
	t.Helper()
	args := append([]string{"verify", "--man=no", "--root=" + s.root}, units...)
	r := s.e.ExecWith(ExecOpts{Env: cleanEnviron()}, "/usr/bin/systemd-analyze", args...)
	if r.Code != 0 || strings.TrimSpace(r.Stderr) != "" {
		t.Errorf("systemd-analyze verify --root rejects %v:\n%s", units, r)
	}
}

// TestSystemdNewEnableWritesUnit: on a host booted with systemd, `new --enable`
// makes the rc links as before and also writes NAME.service (what `unit`
// prints) and enables it with systemctl: the wants symlink exists, systemctl
// says enabled, systemd-analyze accepts the unit, and its ExecStart and ExecStop
// start and stop the service. An init script alone (new --enable on a host not
// booted with systemd) is not a unit there. A second run changes nothing; a unit
// svcwrap did not write is left alone and the failure says how to replace it.
func TestSystemdNewEnableWritesUnit(t *testing.T) {
	e := newEnv(t)
	s := newSdRoot(t, e)
	sock, events := e.Reporter(t)

	// Not booted with systemd: rc links only, as before.
	r := s.svcwrap(false, "new", "plain", "--exec", "/bin/sleep 1000", "--enable")
	wantCode(t, r, 0)
	if _, err := os.Stat(s.unit("plain.service")); err == nil || strings.Contains(r.Stdout, "systemctl") {
		t.Errorf("not booted with systemd, new --enable wrote a unit or ran systemctl:\n%s", r)
	}
	wantLink(t, filepath.Join(s.root, "etc", "rc2.d", "S20plain"), "../init.d/plain")
	if st := s.isEnabled("plain.service"); st == "enabled" {
		t.Errorf("without a generator, an init script with rc links is enabled to systemd? %q", st)
	}

	// Booted with systemd.
	e.WriteEnvFile("web")
	e.addService("web")
	r = s.svcwrap(true, "new", "web", "--exec", e.TDaemon+" -report "+sock, "--desc", "Native web", "--enable")
	wantCode(t, r, 0)
	for _, want := range []string{
		"Wrote " + e.InitScript("web") + ".",
		"Enabled web: rc2.d/S20web",
		"Wrote " + s.unit("web.service") + ".",
		"Enabled web.service with systemctl enable",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("new --enable on systemd: output lacks %q:\n%s", want, r)
		}
	}
	b, err := os.ReadFile(s.unit("web.service"))
	if err != nil {
		t.Fatalf("no unit: %v\n%s", err, r)
	}
	u := unitKeys(string(b))
	for k, want := range map[string][]string{
		"Description": {"Native web"},
		"SourcePath":  {"/etc/init.d/web"},
		"ExecStart":   {"/etc/init.d/web start"},
		"ExecStop":    {"/etc/init.d/web stop"},
		"WantedBy":    {"multi-user.target"},
	} {
		if !sameSet(u[k], want) {
			t.Errorf("unit %s=%q, want %q\n%s", k, u[k], want, b)
		}
	}
	printed := s.svcwrap(true, "unit", "web")
	wantCode(t, printed, 0)
	if printed.Stdout != string(b) {
		t.Errorf("new --enable wrote\n%s\nbut svcwrap unit prints\n%s", b, printed.Stdout)
	}
	wantLink(t, s.wants("web.service"), "/etc/systemd/system/web.service")
	if st := s.isEnabled("web.service"); st != "enabled" {
		t.Errorf("systemctl --root is-enabled web.service: %q", st)
	}
	s.verify(t, "/etc/systemd/system/web.service")

	// What systemd would run: ExecStart, then ExecStop, with the unit's Environment=.
	run := func(line string) Result {
		argv := strings.Fields(line)
		env := append(e.CLIEnv(), u["Environment"]...)
		return e.ExecWith(ExecOpts{Env: env}, filepath.Join(s.root, argv[0]), argv[1:]...)
	}
	wantCode(t, run(u["ExecStart"][0]), 0)
	events.WaitFor(t, 10*time.Second, isStart)
	pid, _ := supervised(t, e, "web")
	wantCode(t, run(u["ExecStop"][0]), 0)
	waitExit(t, pid, 10*time.Second)

	// Idempotent: the same again is unchanged and still enabled.
	r = s.svcwrap(true, "new", "web", "--exec", e.TDaemon+" -report "+sock, "--desc", "Native web", "--enable")
	wantCode(t, r, 0)
	if strings.Count(r.Stdout, "unchanged") != 2 || strings.Contains(r.Stdout, "Wrote") {
		t.Errorf("second new --enable: want the script and the unit unchanged:\n%s", r)
	}
	if st := s.isEnabled("web.service"); st != "enabled" {
		t.Errorf("after a second run: is-enabled %q", st)
	}

	// A unit of the same name that svcwrap did not write: kept, exit 1, a hint.
	foreign := "[Service]\nExecStart=/bin/true\n"
	e.writeFile(s.unit("api.service"), foreign, 0o644)
	r = s.svcwrap(true, "new", "api", "--exec", "/bin/sleep 1000", "--enable")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "not written by svcwrap") || !strings.Contains(r.Stderr, "svcwrap unit api --install --force") {
		t.Errorf("foreign unit: %s", r)
	}
	if b, _ := os.ReadFile(s.unit("api.service")); string(b) != foreign {
		t.Errorf("a foreign unit was replaced:\n%s", b)
	}
	if _, err := os.Lstat(s.wants("api.service")); err == nil {
		t.Errorf("the foreign unit was enabled")
	}
}

// TestUnitAllInstall: `unit --all --install` writes a unit for every
// definition (script mode, symlink mode, a template as NAME@.service), reports
// each, goes on past a broken definition and a foreign unit and then exits 1.
// Not booted with systemd it enables nothing; booted, it enables exactly the
// services whose rc links start them (what the generator read), so that a host
// converted to native units still starts them at boot. Every unit passes
// systemd-analyze verify; a rerun after the fixes is unchanged and exits 0.
func TestUnitAllInstall(t *testing.T) {
	e := newEnv(t)
	s := newSdRoot(t, e)
	// Services as a host that relied on systemd-sysv-generator has them.
	wantCode(t, s.svcwrap(false, "new", "web", "--exec", "/bin/sleep 1000", "--enable"), 0)
	wantCode(t, s.svcwrap(false, "new", "idle", "--exec", "/bin/sleep 1000"), 0)
	wantCode(t, s.svcwrap(false, "new", "worker", "--symlink", "--exec", "/bin/sleep 1000", "--enable"), 0)
	wantCode(t, s.svcwrap(false, "new", "foreign", "--exec", "/bin/sleep 1000", "--enable"), 0)
	e.Script("vpn", "DAEMON=\"/bin/sleep 1000 ${INSTANCE}\"\nINSTANCES=a\n")
	e.writeFile(e.InitScript("broken"), "#!"+e.Svcwrap+"\nDAEMON=/bin/sleep\nNO_SUCH_KEY=1\n", 0o755)
	foreign := "[Service]\nExecStart=/bin/true\n"
	os.MkdirAll(s.unit(""), 0o755)
	e.writeFile(s.unit("foreign.service"), foreign, 0o644)
	// worker's init script is a symlink to the binary: the root needs it too.
	if bin, err := os.ReadFile(e.Svcwrap); err != nil {
		t.Fatal(err)
	} else {
		writeExe(t, filepath.Join(s.root, e.Svcwrap), string(bin))
	}

	// Not booted with systemd: units written, nothing enabled.
	r := s.svcwrap(false, "unit", "--all", "--install")
	wantCode(t, r, 1)
	for _, want := range []string{
		"Wrote " + s.unit("web.service") + ".",
		"Wrote " + s.unit("idle.service") + ".",
		"Wrote " + s.unit("worker.service") + ".",
		"Wrote " + s.unit("vpn@.service") + ".",
		"web.service: started at boot by its rc links: enable it with systemctl enable web.service.",
		"idle.service: no rc link starts idle at boot: not enabled",
		"vpn@.service: a template: enable its instances with systemctl enable vpn@INSTANCE.service.",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("unit --all --install (not booted): stdout lacks %q\n%s", want, r)
		}
	}
	for _, want := range []string{
		"broken: unit: the definition is not valid",
		"foreign: unit: " + s.unit("foreign.service") + " exists and was not written by svcwrap",
		"2 of 6 services failed: broken foreign",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("unit --all --install (not booted): stderr lacks %q\n%s", want, r)
		}
	}
	if _, err := os.Stat(s.unit("multi-user.target.wants")); err == nil {
		t.Errorf("not booted with systemd, but units were enabled")
	}
	if b, _ := os.ReadFile(s.unit("foreign.service")); string(b) != foreign {
		t.Errorf("a foreign unit was replaced without --force:\n%s", b)
	}
	if b, _ := os.ReadFile(s.unit("vpn@.service")); !strings.Contains(string(b), "ExecStart=/etc/init.d/vpn start %I\n") {
		t.Errorf("template unit:\n%s", b)
	}

	// Booted with systemd: the units are there already; the rc-enabled are enabled.
	r = s.svcwrap(true, "unit", "--all", "--install")
	wantCode(t, r, 1)
	for _, want := range []string{
		s.unit("web.service") + ": unchanged.",
		"Enabled web.service: its rc links started web at boot.",
		"Enabled worker.service: its rc links started worker at boot.",
		"idle.service: no rc link starts idle at boot: not enabled",
	} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("unit --all --install (booted): stdout lacks %q\n%s", want, r)
		}
	}
	for unit, want := range map[string]string{"web.service": "enabled", "worker.service": "enabled", "idle.service": "disabled"} {
		if st := s.isEnabled(unit); st != want {
			t.Errorf("is-enabled %s: %q, want %q", unit, st, want)
		}
	}
	wantLink(t, s.wants("web.service"), "/etc/systemd/system/web.service")
	if ents, _ := os.ReadDir(s.unit("multi-user.target.wants")); len(ents) != 2 {
		t.Errorf("multi-user.target.wants holds %d links, want web and worker", len(ents))
	}
	s.verify(t, "/etc/systemd/system/web.service", "/etc/systemd/system/idle.service", "/etc/systemd/system/worker.service", "vpn@a.service")

	// The fixes: broken removed, the foreign unit replaced with --force. Then
	// a rerun is unchanged and exits 0.
	os.Remove(e.InitScript("broken"))
	r = s.svcwrap(true, "unit", "--all", "--install", "--force")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "Wrote "+s.unit("foreign.service")+".") || !strings.Contains(r.Stdout, "Enabled foreign.service") {
		t.Errorf("--force: %s", r)
	}
	s.verify(t, "/etc/systemd/system/foreign.service")
	r = s.svcwrap(true, "unit", "--all", "--install")
	wantCode(t, r, 0)
	if strings.Count(r.Stdout, ": unchanged.") != 5 || strings.Contains(r.Stdout, "Wrote") || r.Stderr != "" {
		t.Errorf("rerun: want 5 units unchanged, nothing on stderr:\n%s", r)
	}
	if !strings.Contains(r.Stdout, "5 services: every unit is in "+s.unit("")) {
		t.Errorf("rerun: no summary:\n%s", r)
	}

	// Usage: --all needs --install, and excludes a name.
	wantCode(t, s.svcwrap(true, "unit", "--all"), 2)
	wantCode(t, s.svcwrap(true, "unit", "web", "--all", "--install"), 2)
	wantCode(t, s.svcwrap(true, "unit"), 2)
}
