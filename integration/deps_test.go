package integration_test

// Dependencies from the LSB header (svcwrap(8), DEPENDENCIES): start starts the
// svcwrap services its Required-Start needs and waits for their readiness, a
// required service that fails fails the start; stop names the running services
// left without the one it stops, or stops them first with --with-dependents;
// $facilities map through insserv.conf (SVCWRAP_INSSERV_CONF); check reports a
// required service nothing provides and a cycle with file:line.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ScriptHdr defines name in script mode as Script does, with the header lines
// hdr ("Required-Start: a", ...) after its Provides (provides "" is name).
func (e *Env) ScriptHdr(name, provides string, hdr []string, body string, extraEnv ...string) string {
	e.t.Helper()
	if provides == "" {
		provides = name
	}
	h := "### BEGIN INIT INFO\n# Provides: " + provides + "\n"
	for _, l := range hdr {
		h += "# " + l + "\n"
	}
	h += "# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: test service " + name + "\n### END INIT INFO\n"
	path := filepath.Join(e.InitDir, name)
	e.writeFile(path, "#!"+e.Svcwrap+"\n"+h+withNewline(body), 0o755)
	e.WriteEnvFile(name, extraEnv...)
	e.addService(name)
	return path
}

// wantStatus fails the test unless `NAME status` exits code.
func (e *Env) wantStatus(t *testing.T, name string, code int) {
	t.Helper()
	if r := e.Run(name, "status"); r.Code != code {
		t.Errorf("%s status: want exit %d, got:\n%s", name, code, r)
	}
}

func TestDepStartStartsRequired(t *testing.T) {
	e := newEnv(t)
	ready := filepath.Join(e.Root, "a.ready")
	// a is ready only once its READY probe made a.ready; b's PRE_START fails without it.
	e.ScriptHdr("a", "", nil, e.Daemon()+"\nREADY=\"exec /bin/sh -c 'touch "+ready+"'\"\n")
	e.ScriptHdr("b", "", []string{"Required-Start: $remote_fs a", "Should-Start: ghost"},
		e.Daemon()+"\nPRE_START=\"/bin/test -e "+ready+"\"\n")
	r := e.Run("b", "start")
	wantCode(t, r, 0)
	ia, ib := strings.Index(r.Stdout, "Starting test service a"), strings.Index(r.Stdout, "Starting test service b")
	if ia < 0 || ib < ia {
		t.Errorf("want a started before b:\n%s", r)
	}
	e.wantStatus(t, "a", 0)
	e.wantStatus(t, "b", 0)
	// Both run: a second start starts nothing more.
	r = e.Run("b", "start")
	wantCode(t, r, 0)
	if strings.Contains(r.Stdout, "service a") {
		t.Errorf("start of b with a running touched a:\n%s", r)
	}
	wantCode(t, e.Run("b", "stop"), 0)
	wantCode(t, e.Run("a", "stop"), 0)
	os.Remove(ready)

	// A required service that fails fails the start, naming it; b never runs.
	e.ScriptHdr("a", "", nil, e.Daemon("-die-at-start", "no-config"))
	r = e.Run("b", "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "b: start: required service a failed to start") || !strings.Contains(r.Stderr, "no-config") {
		t.Errorf("want the failure of a named:\n%s", r)
	}
	e.wantStatus(t, "a", 3)
	e.wantStatus(t, "b", 3)

	// A disabled required service fails it too.
	e.ScriptHdr("a", "", nil, e.Daemon()+"\nENABLED=no\n")
	r = e.Run("b", "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "required service a is disabled") {
		t.Errorf("want a's being disabled named:\n%s", r)
	}
	e.wantStatus(t, "b", 3)
}

func TestDepStartCycleAndProvides(t *testing.T) {
	e := newEnv(t)
	// x requires "web" which y provides; y requires x: neither starts, the cycle is named.
	e.ScriptHdr("x", "", []string{"Required-Start: web"}, e.Daemon())
	e.ScriptHdr("y", "web", []string{"Required-Start: x"}, e.Daemon())
	r := e.Run("x", "start")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stderr, "dependency cycle: x -> y -> x") {
		t.Errorf("want the cycle named:\n%s", r)
	}
	e.wantStatus(t, "x", 3)
	e.wantStatus(t, "y", 3)
}

func TestDepFacilityInsservConf(t *testing.T) {
	e := newEnv(t)
	conf := filepath.Join(e.Root, "insserv.conf")
	e.writeFile(conf, "$database\t+mysql database-server\n", 0o644)
	os.Mkdir(conf+".d", 0o755)
	e.writeFile(filepath.Join(conf+".d", "cache"), "$cache\t+memcached kv\n", 0o644)
	e.ScriptHdr("pg", "database-server", nil, e.Daemon())
	e.ScriptHdr("kv", "", nil, e.Daemon())
	e.ScriptHdr("app", "", []string{"Required-Start: $remote_fs $database", "Should-Start: $cache"}, e.Daemon())
	env := e.CLIEnv("SVCWRAP_INSSERV_CONF=" + conf)
	r := e.ExecWith(ExecOpts{Env: env}, e.InitScript("app"), "start")
	wantCode(t, r, 0)
	e.wantStatus(t, "pg", 0)
	e.wantStatus(t, "kv", 3) // Should-Start orders a boot; start does not pull it in
	// stop pg: app is left without it, and is named.
	r = e.ExecWith(ExecOpts{Env: env}, e.InitScript("pg"), "stop")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "pg: stopped; left without it: app") {
		t.Errorf("want app named:\n%s", r)
	}
	// Without the conf $database stands for nothing: app restarts alone.
	wantCode(t, e.Run("app", "restart"), 0)
	e.wantStatus(t, "pg", 3)
}

func TestDepStopWithDependents(t *testing.T) {
	e := newEnv(t)
	e.ScriptHdr("a", "", nil, e.Daemon())
	e.ScriptHdr("b", "", []string{"Required-Start: a"}, e.Daemon())
	e.ScriptHdr("c", "", []string{"Required-Start: b"}, e.Daemon())
	e.ScriptHdr("d", "", []string{"Should-Start: a"}, e.Daemon())
	wantCode(t, e.Run("c", "start"), 0) // a, then b, then c
	wantCode(t, e.Run("d", "start"), 0)
	for _, n := range []string{"a", "b", "c", "d"} {
		e.wantStatus(t, n, 0)
	}
	// A plain stop stops a alone and names what runs on without it.
	r := e.Run("a", "stop")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "a: stopped; left without it: b ") {
		t.Errorf("want b named (and not d, which only Should-Start a):\n%s", r)
	}
	e.wantStatus(t, "a", 3)
	e.wantStatus(t, "b", 0)
	wantCode(t, e.Run("a", "start"), 0)

	wantCode(t, e.Run("a", "stop", "--bogus"), 2)
	e.wantStatus(t, "a", 0)

	// --with-dependents: c, then b, then a; d (Should-Start) runs on.
	r = e.Run("a", "stop", "--with-dependents")
	wantCode(t, r, 0)
	ic, ib, ia := strings.Index(r.Stdout, "service c"), strings.Index(r.Stdout, "service b"), strings.Index(r.Stdout, "service a")
	if ic < 0 || ib < ic || ia < ib {
		t.Errorf("want c, b, a stopped in that order:\n%s", r)
	}
	if strings.Contains(r.Stderr, "left without") {
		t.Errorf("nothing is left without a:\n%s", r)
	}
	for _, n := range []string{"a", "b", "c"} {
		e.wantStatus(t, n, 3)
	}
	e.wantStatus(t, "d", 0)
	// svcwrap run takes the flag too.
	wantCode(t, e.Run("c", "start"), 0)
	wantCode(t, e.Admin("run", "b", "stop", "--with-dependents"), 0)
	e.wantStatus(t, "c", 3)
	e.wantStatus(t, "a", 0)
}

func TestDepCheck(t *testing.T) {
	e := newEnv(t)
	x := e.ScriptHdr("x", "", []string{"Required-Start: $syslog y"}, e.Daemon())
	y := e.ScriptHdr("y", "", []string{"Should-Start: x"}, e.Daemon())
	m := e.ScriptHdr("m", "", []string{"Required-Start: $network ghost"}, e.Daemon())
	ok := e.ScriptHdr("ok", "", []string{"Required-Start: x", "Should-Start: phantom"}, e.Daemon())
	// A classic script in the cycle counts too.
	e.writeFile(filepath.Join(e.InitDir, "classic"), "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: classic\n# Required-Start: m\n### END INIT INFO\nexit 0\n", 0o755)

	r := e.Admin("check", "x")
	wantCode(t, r, 6)
	if !strings.Contains(r.Stderr, x+":4: Required-Start: dependency cycle: x -> y -> x") {
		t.Errorf("want the cycle at x:4:\n%s", r)
	}
	r = e.Admin("check", y)
	wantCode(t, r, 6)
	if !strings.Contains(r.Stderr, y+":4: Should-Start: dependency cycle: y -> x -> y") {
		t.Errorf("want the cycle at y:4:\n%s", r)
	}
	r = e.Admin("check", "m")
	wantCode(t, r, 6)
	if !strings.Contains(r.Stderr, m+`:4: Required-Start: no service provides "ghost"`) {
		t.Errorf("want ghost missing at m:4:\n%s", r)
	}
	r = e.Admin("check", "ok")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, ok+": ok") {
		t.Errorf("%s", r)
	}
	r = e.Admin("check")
	wantCode(t, r, 6)
	for _, want := range []string{x + ":4:", y + ":4:", m + ":4:", "3 services with problems"} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("check of every service: want %q:\n%s", want, r)
		}
	}
	if !strings.Contains(r.Stdout, ok+": ok") {
		t.Errorf("check of every service: want ok passed:\n%s", r)
	}
}

func TestDepRestartDependents(t *testing.T) {
	e := newEnv(t)
	e.ScriptHdr("a", "", nil, e.Daemon()+"\nRESTART_DEPENDENTS=yes\n")
	e.ScriptHdr("b", "", []string{"Required-Start: a"}, e.Daemon()+"\nRESTART_DEPENDENTS=yes\n")
	e.ScriptHdr("c", "", []string{"Required-Start: b"}, e.Daemon())
	e.ScriptHdr("d", "", []string{"Required-Start: a"}, e.Daemon())
	e.ScriptHdr("plain", "", nil, e.Daemon())
	e.ScriptHdr("p2", "", []string{"Required-Start: plain"}, e.Daemon())
	wantCode(t, e.Run("c", "start"), 0) // a, b, c; d stays stopped
	wantCode(t, e.Run("p2", "start"), 0)
	pa, pb, pc, pp2 := e.Pid(t, "a"), e.Pid(t, "b"), e.Pid(t, "c"), e.Pid(t, "p2")

	r := e.Run("a", "restart")
	wantCode(t, r, 0)
	for name, old := range map[string]int{"a": pa, "b": pb, "c": pc} {
		if now := e.Pid(t, name); now == old {
			t.Errorf("%s: pid %d unchanged after restart of a (RESTART_DEPENDENTS=yes down the chain):\n%s", name, old, r)
		}
	}
	e.wantStatus(t, "d", 3) // not running: try-restart leaves it
	// Without the key a restart leaves its dependents alone.
	wantCode(t, e.Run("plain", "restart"), 0)
	if now := e.Pid(t, "p2"); now != pp2 {
		t.Errorf("p2 restarted by a restart of plain (no RESTART_DEPENDENTS)")
	}
	// try-restart restarts them too.
	pb = e.Pid(t, "b")
	wantCode(t, e.Run("a", "try-restart"), 0)
	if e.Pid(t, "b") == pb {
		t.Errorf("b not restarted by try-restart of a")
	}
}
