package integration_test

// Ansible drives a svcwrap service through ansible.builtin.sysvinit and
// ansible.builtin.service (which picks its sysvinit backend here: there is no
// /run/systemd/system in the namespace, nor on this unbooted host), and the test
// checks Ansible's JSON result against the daemon's real state in /proc.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ansibleResult is the part of a module result the test reads.
type ansibleResult struct {
	Facts   map[string]any `json:"ansible_facts"`
	Changed bool           `json:"changed"`
	Failed  bool           `json:"failed"`
	Msg     string         `json:"msg"`
	State   string         `json:"state"`
	Raw     string         `json:"-"`
}

// ansible runs one ad-hoc module on localhost inside the namespace and returns
// the module's result. ansible-core has no json stdout callback (that one is in
// a collection), so the result is read from the minimal callback's one-line
// form: "localhost | CHANGED => {JSON}".
func (n *pkgNS) ansible(t *testing.T, module, args string) ansibleResult {
	t.Helper()
	home := filepath.Join(n.e.Root, "ansible")
	os.MkdirAll(filepath.Join(home, "tmp"), 0o700)
	env := append(cleanEnviron(),
		"SVCWRAP_TEST_ID="+n.e.TestID,
		"HOME="+home,
		"ANSIBLE_STDOUT_CALLBACK=minimal",
		"ANSIBLE_LOAD_CALLBACK_PLUGINS=1",
		"ANSIBLE_LOCALHOST_WARNING=False",
		"ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_REMOTE_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_NOCOLOR=1",
	)
	r := n.ExecWith(env, 3*time.Minute, "ansible", "localhost", "-i", "localhost,", "-c", "local", "-o", "-m", module, "-a", args)
	if r.Err != nil {
		t.Fatalf("ansible did not finish (it must never hang on svcwrap): %s", r)
	}
	_, raw, ok := strings.Cut(r.Stdout, " => ")
	if !ok || !strings.HasPrefix(r.Stdout, "localhost | ") {
		t.Fatalf("ansible printed no result: %s", r)
	}
	var res ansibleResult
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		t.Fatalf("ansible result: %v in %s", err, raw)
	}
	res.Raw = raw
	if res.Failed {
		t.Fatalf("ansible %s %s failed: %s", module, args, raw)
	}
	t.Logf("ansible -m %s -a %q: changed=%v", module, args, res.Changed)
	return res
}

func TestAnsibleSysvinitAndService(t *testing.T) {
	requireRoot(t, "Ansible must find the service as a real /etc/init.d script (private mount namespace)")
	if _, err := exec.LookPath("ansible"); err != nil {
		t.Skipf("ansible not found (apt-get install ansible-core): %v", err)
	}
	e := newEnv(t)
	ns := newPkgNS(t, e)
	sock, ev := e.Reporter(t)
	const name = "answeb"
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ns.Service(t, name, e.Daemon("-report", sock, "-listen", addr)+"\nRELOAD_SIGNAL=HUP\nREADY=\"tcp "+addr+"\"")
	pidfile := "/run/" + name + ".pid"
	serving := func() error {
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	wantRunning := func(what string) int {
		t.Helper()
		pid := ns.Pid(pidfile)
		if pid == 0 || !alive(pid) {
			t.Fatalf("%s: daemon not running (pidfile %s says %d)", what, pidfile, pid)
		}
		if exe := procExe(pid); exe != e.TDaemon {
			t.Fatalf("%s: pid %d is %s, not tdaemon", what, pid, exe)
		}
		if err := serving(); err != nil {
			t.Fatalf("%s: %s does not serve: %v", what, addr, err)
		}
		return pid
	}

	// sysvinit: start and enable; the rc links come from update-rc.d (insserv).
	res := ns.ansible(t, "ansible.builtin.sysvinit", "name="+name+" state=started enabled=yes")
	if !res.Changed {
		t.Errorf("first start: changed=false: %s", res.Raw)
	}
	ev.WaitFor(t, 30*time.Second, isStart)
	pid := wantRunning("after state=started")
	for _, link := range []string{"/etc/rc2.d/S01" + name, "/etc/rc0.d/K01" + name} {
		target, err := os.Readlink(ns.Path(link))
		if err != nil || target != "../init.d/"+name {
			ents, _ := os.ReadDir(ns.Path(filepath.Dir(link)))
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("enabled=yes: %s -> %q (%v); %s holds %v", link, target, err, filepath.Dir(link), names)
		}
	}

	// Idempotence: a second start changes nothing and leaves the daemon alone.
	res = ns.ansible(t, "ansible.builtin.sysvinit", "name="+name+" state=started enabled=yes")
	if res.Changed {
		t.Errorf("second start: changed=true: %s", res.Raw)
	}
	if p := wantRunning("after second state=started"); p != pid {
		t.Errorf("second start replaced the daemon: %d -> %d", pid, p)
	}

	// ansible.builtin.service picks its backend from ansible_service_mgr: here
	// (PID 1 is not systemd, no /run/systemd/system) that is not systemd, so it
	// falls back to its generic Linux backend, which runs `service NAME VERB`,
	// that is /etc/init.d/NAME, as sysvinit does.
	res = ns.ansible(t, "ansible.builtin.setup", "filter=ansible_service_mgr")
	mgr, _ := res.Facts["ansible_service_mgr"].(string)
	t.Logf("ansible_service_mgr=%q", mgr)
	if mgr == "systemd" || mgr == "" {
		t.Fatalf("ansible_service_mgr is %q: the service module would not use the init script: %s", mgr, res.Raw)
	}

	// reload through the service module: the daemon gets SIGHUP.
	res = ns.ansible(t, "ansible.builtin.service", "name="+name+" state=reloaded")
	if !res.Changed {
		t.Errorf("reload: changed=false: %s", res.Raw)
	}
	ev.WaitFor(t, 30*time.Second, func(x Event) bool { return x.Ev == "signal" && x.Sig == "HUP" && x.Pid == pid })
	if p := wantRunning("after state=reloaded"); p != pid {
		t.Errorf("reload replaced the daemon: %d -> %d", pid, p)
	}

	// restart: a new daemon, the old one gone.
	res = ns.ansible(t, "ansible.builtin.service", "name="+name+" state=restarted")
	if !res.Changed {
		t.Errorf("restart: changed=false: %s", res.Raw)
	}
	waitExit(t, pid, 30*time.Second)
	pid2 := wantRunning("after state=restarted")
	if pid2 == pid {
		t.Errorf("restart kept pid %d", pid)
	}

	// stop, then stop again: changed, then not; the daemon is gone.
	res = ns.ansible(t, "ansible.builtin.sysvinit", "name="+name+" state=stopped")
	if !res.Changed {
		t.Errorf("stop: changed=false: %s", res.Raw)
	}
	waitExit(t, pid2, 30*time.Second)
	if err := serving(); err == nil {
		t.Errorf("after stop %s still serves", addr)
	}
	res = ns.ansible(t, "ansible.builtin.service", "name="+name+" state=stopped")
	if res.Changed {
		t.Errorf("second stop: changed=true: %s", res.Raw)
	}
	if leaks := e.Procs(); len(leaks) > 0 {
		t.Errorf("processes left after stop: %+v", leaks)
	}
	if strings.Contains(res.Raw, "systemd") {
		t.Logf("note: result mentions systemd: %s", res.Raw)
	}
}
