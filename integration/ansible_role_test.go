package integration_test

// The Ansible role of examples/ansible, run as its example playbook site.yml
// with ansible-playbook on localhost (local connection) inside a private mount
// namespace (pkgNS), as the ad-hoc Ansible test runs: /etc, /run, /var and /usr
// are copy-on-write overlays of the host's, /etc/init.d, /etc/default and the rc
// directories empty tmpfs, so neither the package the role installs (dpkg writes
// /usr and /var/lib/dpkg) nor the services it writes reach the host. svcwrap is
// not in the namespace at first: the role installs it from the .deb that
// scripts/mkdeb.sh (make deb) builds from this tree.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var recapRE = regexp.MustCompile(`(?m)^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// playbook runs ansible-playbook PLAYBOOK -e @VARS on localhost inside the
// namespace and returns the recap's changed count and the output.
func (n *pkgNS) playbook(t *testing.T, playbook, vars string) (int, string) {
	t.Helper()
	home := filepath.Join(n.e.Root, "ansible")
	os.MkdirAll(filepath.Join(home, "tmp"), 0o700)
	env := append(cleanEnviron(),
		"SVCWRAP_TEST_ID="+n.e.TestID,
		"HOME="+home,
		"ANSIBLE_LOCALHOST_WARNING=False",
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_REMOTE_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_RETRY_FILES_ENABLED=False",
	)
	r := n.ExecWith(env, 5*time.Minute, "ansible-playbook", "-i", "localhost,", "-c", "local", playbook, "-e", "@"+vars)
	out := r.Stdout + r.Stderr
	if r.Err != nil {
		t.Fatalf("ansible-playbook did not finish: %s", r)
	}
	m := recapRE.FindStringSubmatch(r.Stdout)
	if r.Code != 0 || m == nil || m[3] != "0" || m[4] != "0" {
		t.Fatalf("ansible-playbook failed (exit %d):\n%s", r.Code, out)
	}
	changed, _ := strconv.Atoi(m[2])
	t.Logf("ansible-playbook: %s", m[0])
	return changed, out
}

// TestAnsibleRole: the first run installs svcwrap from its .deb, writes the
// definitions and the env file, starts and enables one service and leaves the
// other stopped and disabled; a second run reports changed=0 and leaves the
// daemon alone; a changed env file restarts the running service (a new daemon
// with the new environment), and the run after that is changed=0 again.
func TestAnsibleRole(t *testing.T) {
	requireRoot(t, "the role installs a package and writes /etc/init.d (private mount namespace)")
	for _, p := range []string{"ansible-playbook", "dpkg-deb", "dpkg", "make", "git"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not found (scripts/install-test-deps.sh installs it): %v", p, err)
		}
	}
	playbook, err := filepath.Abs("../examples/ansible/site.yml")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)

	// The package, as `make deb` builds it.
	out, err := runIn(t, "..", 10*time.Minute, nil, "scripts/mkdeb.sh", filepath.Join(e.Root, "dist"))
	if err != nil {
		t.Fatalf("scripts/mkdeb.sh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	deb := lines[len(lines)-1]
	if !strings.HasSuffix(deb, ".deb") {
		t.Fatalf("mkdeb.sh printed no .deb path:\n%s", out)
	}
	debVersion, err := runIn(t, "..", time.Minute, nil, "dpkg-deb", "-f", deb, "Version")
	if err != nil {
		t.Fatalf("dpkg-deb -f: %v %s", err, debVersion)
	}
	debVersion = strings.TrimSpace(debVersion)

	ns := newPkgNSWith(t, e, nsOptions{overlays: []string{"/usr", "/var"}, noSvcwrap: true})
	hostHas := ns.Exec("/usr/bin/dpkg-query", "-W", "-f=${Status}", "svcwrap").Stdout == "install ok installed"
	if _, err := os.Stat(ns.Path("/usr/sbin/svcwrap")); err == nil && !hostHas {
		t.Fatalf("/usr/sbin/svcwrap exists in the namespace before the role ran")
	}
	sock, ev := e.Reporter(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	services := func(greeting string) []map[string]any {
		return []map[string]any{
			{
				"name": "roleweb", "desc": "Role web",
				"exec":     e.TDaemon + " -report " + sock + " -listen " + addr,
				"settings": map[string]string{"RELOAD_SIGNAL": "HUP", "READY": "tcp " + addr},
				"env":      map[string]string{"SVCWRAP_TEST_ID": e.TestID, "GREETING": greeting},
			},
			{
				"name": "roleidle", "exec": e.TDaemon, "state": "stopped", "enabled": false,
				"env": map[string]string{"SVCWRAP_TEST_ID": e.TestID},
			},
		}
	}
	writeVars := func(greeting string) string {
		b, err := json.Marshal(map[string]any{
			"ansible_become":   false, // root already, and no sudo here
			"svcwrap_deb":      deb,
			"svcwrap_services": services(greeting),
		})
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(e.Root, "vars-"+greeting+".json")
		e.writeFile(p, string(b), 0o600)
		return p
	}
	t.Cleanup(func() {
		for _, n := range []string{"roleweb", "roleidle"} {
			if _, err := os.Stat(ns.Path("/etc/init.d/" + n)); err == nil {
				ns.Exec("/etc/init.d/"+n, "stop")
			}
		}
	})
	serving := func() error {
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	running := func(what, greeting string) int {
		t.Helper()
		pid := ns.Pid("/run/roleweb.pid")
		if pid == 0 || !alive(pid) || procExe(pid) != e.TDaemon {
			t.Fatalf("%s: roleweb's daemon is not running (pidfile says %d)", what, pid)
		}
		if err := serving(); err != nil {
			t.Fatalf("%s: %s does not serve: %v", what, addr, err)
		}
		env, _ := procEnviron(pid)
		if !hasLine(env, "GREETING="+greeting) {
			t.Errorf("%s: the daemon's environment lacks GREETING=%s: %q", what, greeting, env)
		}
		return pid
	}

	// First run: everything is new.
	changed, log := ns.playbook(t, playbook, writeVars("hello"))
	if changed == 0 {
		t.Errorf("first run: changed=0\n%s", log)
	}
	if v := ns.Exec("/usr/bin/dpkg-query", "-W", "-f=${Version}", "svcwrap"); v.Stdout != debVersion {
		t.Errorf("svcwrap %q installed in the namespace, want the package's %s: %s", v.Stdout, debVersion, v)
	}
	if r := ns.Exec("/usr/sbin/svcwrap", "check", "roleweb"); r.Code != 0 {
		t.Errorf("the role's definition does not pass check: %s", r)
	}
	def, _ := os.ReadFile(ns.Path("/etc/init.d/roleweb"))
	for _, want := range []string{"#!/usr/sbin/svcwrap\n", "# Short-Description: Role web\n", `DAEMON="` + e.TDaemon + " -report ", "RELOAD_SIGNAL=\"HUP\"\n", "READY=\"tcp " + addr + "\"\n"} {
		if !strings.Contains(string(def), want) {
			t.Errorf("/etc/init.d/roleweb lacks %q:\n%s", want, def)
		}
	}
	ev.WaitFor(t, 30*time.Second, isStart)
	pid := running("after the first run", "hello")
	links := func(name string) string {
		var l []string
		for _, d := range []string{"rc0.d", "rc2.d", "rc3.d", "rc5.d"} {
			m, _ := filepath.Glob(ns.Path("/etc/" + d + "/[SK][0-9][0-9]" + name))
			for _, p := range m {
				l = append(l, d+"/"+filepath.Base(p))
			}
		}
		return strings.Join(l, " ")
	}
	if l := links("roleweb"); !strings.Contains(l, "rc2.d/S") || !strings.Contains(l, "rc0.d/K") {
		t.Errorf("roleweb is not enabled: rc links %q", l)
	}
	if l := links("roleidle"); strings.Contains(l, "/S") {
		t.Errorf("roleidle (enabled: false) has S links: %q", l)
	}
	if r := ns.Exec("/etc/init.d/roleidle", "status"); r.Code != 3 {
		t.Errorf("roleidle (state: stopped): %s", r)
	}

	// Second run: nothing to do.
	changed, log = ns.playbook(t, playbook, writeVars("hello"))
	if changed != 0 {
		t.Errorf("second run: changed=%d, want 0\n%s", changed, log)
	}
	if p := running("after the second run", "hello"); p != pid {
		t.Errorf("the second run replaced the daemon: %d -> %d", pid, p)
	}

	// The env file changes: the running service is restarted with it.
	changed, log = ns.playbook(t, playbook, writeVars("bonjour"))
	if changed == 0 {
		t.Errorf("changed env: changed=0\n%s", log)
	}
	waitExit(t, pid, 30*time.Second)
	pid2 := running("after the env changed", "bonjour")
	if pid2 == pid {
		t.Errorf("a changed env file did not restart the daemon")
	}
	changed, log = ns.playbook(t, playbook, writeVars("bonjour"))
	if changed != 0 {
		t.Errorf("run after the change: changed=%d, want 0\n%s", changed, log)
	}
	if p := running("after the last run", "bonjour"); p != pid2 {
		t.Errorf("the last run replaced the daemon: %d -> %d", pid2, p)
	}
}
