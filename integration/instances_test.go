package integration_test

// Instances: a definition that uses ${INSTANCE} (or sets INSTANCES) is a
// template; TEMPLATE@INST (and TEMPLATE.INST) is one daemon of it, with its own
// env file, pidfile, state, lock and watchdog; the template's bare verbs act on
// every instance INSTANCES selects, and on every one that runs.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// instancePid is the live daemon of TEMPLATE@INST, from its pidfile.
func instancePid(t *testing.T, e *Env, name string) int {
	t.Helper()
	pid := pidFromFile(t, e.PidfilePath(name))
	if !alive(pid) {
		t.Fatalf("%s: pid %d from its pidfile is not alive", name, pid)
	}
	return pid
}

func TestInstances(t *testing.T) {
	e := newEnv(t)
	script := e.Script("vpn", e.Daemon()+"\nRESPAWN_DELAY=0\nINSTANCES=\"a b\"\n"+
		"COMMAND_greet=\"/bin/echo ${INSTANCE} ${GREETING}\"\n", svcMarker("vpn"), "GREETING=template")
	e.WriteEnvFile("vpn@b", "GREETING=own")

	// The bare verbs act on INSTANCES: a line each.
	r := e.Run("vpn", "start")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "vpn@a") || !strings.Contains(r.Stdout, "vpn@b") {
		t.Errorf("start: a line for each instance: %s", r)
	}
	a, b := instancePid(t, e, "vpn@a"), instancePid(t, e, "vpn@b")
	if a == b {
		t.Fatalf("one daemon for two instances: %d", a)
	}
	wantCode(t, e.Run("vpn", "status"), 0)

	// Each instance is its own row of list, with its template.
	for _, inst := range []string{"a", "b"} {
		ent := e.Entry(t, "vpn@"+inst)
		if ent.State != "running" || ent.Template != "vpn" || ent.Instance != inst || ent.Pid != instancePid(t, e, "vpn@"+inst) {
			t.Errorf("list --json entry %+v", ent)
		}
	}

	// ${INSTANCE} in values; env files template first, then the instance's.
	for inst, want := range map[string]string{"a": "a template", "b": "b own"} {
		r := e.Exec(e.Svcwrap, "run", "vpn@"+inst, "greet")
		if r.Code != 0 || strings.TrimSpace(r.Stdout) != want {
			t.Errorf("vpn@%s greet: %s; want %q", inst, r, want)
		}
	}
	// A custom verb needs instances: named after it (Debian's openvpn
	// soft-restart VPN...), each one INSTANCES selects or that runs.
	if r := e.Run("vpn", "greet"); r.Code != 2 || !strings.Contains(r.Stderr, "vpn@INSTANCE greet") {
		t.Errorf("greet on the bare template: %s; want exit 2 and the way to name an instance", r)
	}
	if r := e.Run("vpn", "greet", "a", "b"); r.Code != 0 || !strings.Contains(r.Stdout, "a template") || !strings.Contains(r.Stdout, "b own") {
		t.Errorf("greet a b: %s", r)
	}
	if r := e.Run("vpn", "greet", "a", "nosuch"); r.Code != 2 {
		t.Errorf("greet of an instance that is neither selected nor running: %s", r)
	}

	// kill -9 of one instance: it respawns, the other is untouched.
	syscall.Kill(a, syscall.SIGKILL)
	eventually(t, 10*time.Second, "vpn@a to respawn", func() (bool, string) {
		pid, err := e.PidE("vpn@a")
		return err == nil && pid != a && alive(pid), "pid " + strconv.Itoa(pid)
	})
	if got := instancePid(t, e, "vpn@b"); got != b {
		t.Errorf("vpn@b changed when vpn@a was killed: %d, was %d", got, b)
	}

	// An instance by a link (systemd's and OpenRC's spellings), and by the Debian
	// script's form (verb, then instance names).
	for _, l := range []string{"vpn@c", "vpn.d"} {
		if err := os.Symlink("vpn", e.InitScript(l)); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, e.Run("vpn@c", "start"), 0)
	wantCode(t, e.Run("vpn.d", "start"), 0)
	instancePid(t, e, "vpn@c")
	d := instancePid(t, e, "vpn@d")
	if r := e.Run("vpn", "status"); r.Code != 0 || strings.Count(r.Stdout, "running") != 4 {
		t.Errorf("status of 2 selected and 2 more running instances: %s", r)
	}
	wantCode(t, e.Run("vpn", "stop", "c", "d"), 0)
	waitExit(t, d, 10*time.Second)
	wantCode(t, e.Run("vpn@c", "status"), 3)

	// Partly running is 1 (LSB has no word for it); none is 3.
	wantCode(t, e.Exec(e.Svcwrap, "run", "vpn@a", "stop"), 0)
	wantCode(t, e.Run("vpn", "status"), 1)
	wantCode(t, e.Run("vpn", "stop"), 0)
	waitExit(t, b, 10*time.Second)
	wantCode(t, e.Run("vpn", "status"), 3)
	noProcs(t, e, "after stop")

	// check reads the template as an instance; unit writes a systemd template.
	wantCode(t, e.Admin("check", "vpn"), 0)
	if r := e.Admin("unit", "vpn"); r.Code != 0 || !strings.Contains(r.Stdout, "ExecStart="+script+" start %I\n") {
		t.Errorf("unit of a template: %s", r)
	}
}

// TestInstancesFromFiles: INSTANCES="${AUTOSTART:-all}" with INSTANCES_ALL a
// glob of configuration files, as Debian's openvpn script selects its VPNs; a
// file added is an instance at the next verb.
func TestInstancesFromFiles(t *testing.T) {
	e := newEnv(t)
	conf := filepath.Join(e.Root, "conf")
	os.MkdirAll(conf, 0o755)
	for _, n := range []string{"one", "two"} {
		e.writeFile(filepath.Join(conf, n+".conf"), "x\n", 0o644)
	}
	e.Script("vpn", e.Daemon()+"\nINSTANCES=\"${AUTOSTART:-all}\"\nINSTANCES_ALL=\""+conf+"/*.conf\"\n", svcMarker("vpn"))
	wantCode(t, e.Run("vpn", "start"), 0)
	one, two := instancePid(t, e, "vpn@one"), instancePid(t, e, "vpn@two")
	e.writeFile(filepath.Join(conf, "three.conf"), "x\n", 0o644)
	wantCode(t, e.Run("vpn", "start"), 0)
	instancePid(t, e, "vpn@three")
	if instancePid(t, e, "vpn@one") != one || instancePid(t, e, "vpn@two") != two {
		t.Error("a second start changed the running instances")
	}
	wantCode(t, e.Run("vpn", "stop"), 0)
	waitExit(t, one, 10*time.Second)

	// AUTOSTART from the env file selects.
	e.WriteEnvFile("vpn", svcMarker("vpn"), "AUTOSTART=two")
	r := e.Run("vpn", "start")
	wantCode(t, r, 0)
	if strings.Contains(r.Stdout, "vpn@one") || !strings.Contains(r.Stdout, "vpn@two") {
		t.Errorf("AUTOSTART=two: %s", r)
	}
	wantCode(t, e.Run("vpn", "stop"), 0)
	noProcs(t, e, "after stop")
}

// TestInstanceBadNames: an instance name that could name another file, or that
// would not survive a command line, is refused (exit 2) before any file is
// touched; so is an instance of a definition that is no template.
func TestInstanceBadNames(t *testing.T) {
	e := newEnv(t)
	e.Script("vpn", e.Daemon()+"\nINSTANCES=none\n", svcMarker("vpn"))
	e.Script(svc, e.Daemon(), svcMarker(svc))
	before := dirNames(t, e.RunDir, e.PidDir, e.LogDir)
	for _, bad := range []string{"../x", "a/b", "a b", "..", "a\tb", "a\x01", strings.Repeat("x", 65)} {
		if r := e.Run("vpn", "start", bad); r.Code != 2 {
			t.Errorf("start %q: %s; want exit 2", bad, r)
		}
		if r := e.Admin("run", "vpn@"+bad, "start"); r.Code != 2 {
			t.Errorf("run vpn@%q start: %s; want exit 2", bad, r)
		}
	}
	if r := e.Admin("run", svc+"@x", "start"); r.Code == 0 || !strings.Contains(r.Stderr, "is not a template") {
		t.Errorf("an instance of a plain definition: %s", r)
	}
	if after := dirNames(t, e.RunDir, e.PidDir, e.LogDir); after != before {
		t.Errorf("bad names touched files: %s, was %s", after, before)
	}
	wantCode(t, e.Run("vpn", "status"), 3) // INSTANCES=none and nothing runs
	noProcs(t, e, "after bad names")
}

func dirNames(t *testing.T, dirs ...string) string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		ents, _ := os.ReadDir(d)
		for _, e := range ents {
			out = append(out, filepath.Join(d, e.Name()))
		}
	}
	return strings.Join(out, " ")
}
