package integration_test

// Debian's own tools against svcwrap services, on the real paths: each command
// runs as root in a private mount namespace (unshare -m --propagation private)
// where /etc/init.d, /etc/rc?.d, /etc/default, /etc/svcwrap, /run, /var/log,
// /etc/systemd/system and /etc/insserv/overrides are this test's directories
// and /etc is an overlay whose writes go to a throw-away directory. Nothing on
// the machine changes. The watchdog and the daemon keep the namespace of the
// command that started them; every namespace of a test sees the same files.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// nsHost is a Debian host in mount namespaces over an Env's directories.
type nsHost struct {
	e      *Env
	script string // ROOT/ns.sh
	n      atomic.Int32
}

const (
	// policyAllow permits what the rc links permit: invoke-rc.d puts an action
	// that the current runlevel's links do not enable in parentheses.
	policyAllow  = "#!/bin/sh\ncase \"$2\" in \\(*) exit 101 ;; esac\nexit 0\n"
	policyRefuse = "#!/bin/sh\nexit 101\n"
)

// nsSetup is the namespace script. /usr/sbin is an overlay too, so that
// runlevel (a symlink to systemctl on this host) can say runlevel 2, which
// invoke-rc.d needs to tell an enabled service from a disabled one.
const nsSetup = `#!/bin/sh
# ns.sh N POLICY CMD...: the test's private view of the system, then CMD.
set -e
R=%[1]s
n=$1; policy=$2; shift 2
mkdir -p $R/ovl/$n/upper $R/ovl/$n/work
mount -t overlay overlay -o lowerdir=/etc,upperdir=$R/ovl/$n/upper,workdir=$R/ovl/$n/work /etc
for l in 0 1 2 3 4 5 6 S; do mount --bind $R/rc$l.d /etc/rc$l.d; done
mount --bind $R/init.d /etc/init.d
mount --bind $R/default /etc/default
mkdir -p /etc/svcwrap /etc/insserv/overrides /etc/systemd/system
mount --bind $R/svcwrap /etc/svcwrap
mount --bind $R/etc-systemd-system /etc/systemd/system
mount --bind $R/insserv-overrides /etc/insserv/overrides
mount --bind $R/run /run
mount --bind $R/varlog /var/log
mount --bind $R/log /var/log/svcwrap
mkdir -p $R/ovl/$n/sbin-upper $R/ovl/$n/sbin-work
printf '#!/bin/sh\necho N 2\n' > $R/ovl/$n/sbin-upper/runlevel
chmod 755 $R/ovl/$n/sbin-upper/runlevel
mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=$R/ovl/$n/sbin-upper,workdir=$R/ovl/$n/sbin-work /usr/sbin
[ "$policy" = - ] || mount --bind "$policy" /usr/sbin/policy-rc.d
exec "$@"
`

// newNSHost prepares the directories and the namespace script, and checks that
// this machine lets root make a private mount namespace with an overlay.
func newNSHost(t *testing.T, e *Env) *nsHost {
	t.Helper()
	requireRoot(t, "mount namespaces and the real /etc/init.d, /etc/rc?.d")
	for _, tool := range []string{"unshare", "mount", "update-rc.d", "invoke-rc.d", "service", "insserv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it)", tool)
		}
	}
	h := &nsHost{e: e, script: filepath.Join(e.Root, "ns.sh")}
	for _, d := range []string{"rc0.d", "rc1.d", "rc3.d", "rc4.d", "rc5.d", "rc6.d", "rcS.d", "etc-systemd-system", "insserv-overrides", "varlog/svcwrap", "ovl"} {
		if err := os.MkdirAll(filepath.Join(e.Root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.writeFile(h.script, fmt.Sprintf(nsSetup, e.Root), 0o755)
	e.writeFile(filepath.Join(e.Root, "policy-allow"), policyAllow, 0o755)
	e.writeFile(filepath.Join(e.Root, "policy-refuse"), policyRefuse, 0o755)
	if r := h.run("-", "/bin/true"); r.Code != 0 {
		t.Skipf("cannot make a private mount namespace with an overlay on /etc here: %s", r)
	}
	return h
}

// env is a root shell's environment, as dpkg or an administrator has it: no
// SVCWRAP_* overrides, so svcwrap uses the real paths of the namespace.
func nsEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/root"}
}

// runWith runs argv in a fresh namespace with policy ("-": the host's
// /usr/sbin/policy-rc.d) and extra inherited files.
func (h *nsHost) runWith(policy string, extra []*os.File, argv ...string) Result {
	n := h.n.Add(1)
	args := append([]string{"-m", "--propagation", "private", h.script, fmt.Sprint(n), policy}, argv...)
	return h.e.ExecWith(ExecOpts{Env: nsEnv(), ExtraFiles: extra}, "/usr/bin/unshare", args...)
}

func (h *nsHost) run(policy string, argv ...string) Result { return h.runWith(policy, nil, argv...) }

func (h *nsHost) allow() string  { return filepath.Join(h.e.Root, "policy-allow") }
func (h *nsHost) refuse() string { return filepath.Join(h.e.Root, "policy-refuse") }

// links returns the rc links of name: "rc2.d/S01name" ... (sorted by glob).
func (h *nsHost) links(name string) []string {
	var out []string
	for _, l := range []string{"0", "1", "2", "3", "4", "5", "6", "S"} {
		m, _ := filepath.Glob(filepath.Join(h.e.Root, "rc"+l+".d", "[SK][0-9][0-9]"+name))
		for _, p := range m {
			out = append(out, "rc"+l+".d/"+filepath.Base(p))
		}
	}
	return out
}

// wantEnabled checks S links in 2-5 and K links in 0, 1, 6 (start: "S" or "K"
// for the start runlevels, i.e. enabled or disabled).
func (h *nsHost) wantLinks(t *testing.T, name, start string) {
	t.Helper()
	links := strings.Join(h.links(name), " ")
	for _, l := range []string{"2", "3", "4", "5"} {
		if !strings.Contains(links, "rc"+l+".d/"+start) {
			t.Errorf("%s: no %s link in rc%s.d; links: %s", name, start, l, links)
		}
	}
	for _, l := range []string{"0", "1", "6"} {
		if !strings.Contains(links, "rc"+l+".d/K") {
			t.Errorf("%s: no K link in rc%s.d; links: %s", name, l, links)
		}
	}
}

// stopAll stops services in the namespace (cleanup before Env's own).
func (h *nsHost) stopAll(names ...string) {
	h.e.t.Cleanup(func() {
		for _, n := range names {
			if _, err := os.Lstat(h.e.InitScript(n)); err == nil {
				h.run("-", "/etc/init.d/"+n, "stop")
			}
		}
	})
}

// TestDebianToolsScriptMode: a `svcwrap new --enable` service on the real paths
// behaves like a hand-written Debian init script under update-rc.d (with
// insserv), service, invoke-rc.d with policy-rc.d, and rc links; a maintainer
// script's inherited fds are released as soon as invoke-rc.d returns.
func TestDebianToolsScriptMode(t *testing.T) {
	e := newEnv(t)
	h := newNSHost(t, e)
	sock, events := e.Reporter(t)
	e.WriteEnvFile("web")
	h.stopAll("web")

	// new --enable: update-rc.d defaults, which hands the work to insserv.
	r := h.run("-", e.Svcwrap, "new", "web", "--exec", e.TDaemon+" -report "+sock, "--desc", "Test web", "--enable")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "update-rc.d web defaults") {
		t.Errorf("new --enable did not use update-rc.d: %s", r)
	}
	h.wantLinks(t, "web", "S")
	if !hasLine(readLines(t, e.InitScript("web")), "# pidfile: /run/web.pid") {
		t.Errorf("/etc/init.d/web lacks '# pidfile: /run/web.pid'")
	}

	// A custom verb, added by hand as an administrator would.
	f, err := os.OpenFile(e.InitScript("web"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("COMMAND_hello=\"/bin/echo hello from web\"\n")
	f.Close()

	// service (clean environment, like an administrator's shell).
	wantCode(t, h.run("-", "service", "web", "start"), 0)
	events.WaitFor(t, 10*time.Second, isStart)
	pid := pidFromFile(t, filepath.Join(e.Root, "run", "web.pid"))
	if exe := procExe(pid); exe != e.TDaemon {
		t.Fatalf("daemon %d runs %s", pid, exe)
	}
	r = h.run("-", "service", "web", "status")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "running") {
		t.Errorf("service web status: %s", r)
	}

	for _, argv := range [][]string{{"service", "web", "hello"}, {"invoke-rc.d", "web", "hello"}} {
		r = h.run(h.allow(), argv...)
		wantCode(t, r, 0)
		if !strings.Contains(r.Stdout, "hello from web") {
			t.Errorf("%v: the custom verb did not run: %s", argv, r)
		}
	}

	// invoke-rc.d: a refusing policy-rc.d (101) keeps the daemon; a permitting
	// one restarts it.
	r = h.run(h.refuse(), "invoke-rc.d", "web", "restart")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "policy-rc.d denied") {
		t.Errorf("invoke-rc.d with policy 101: %s", r)
	}
	if p := pidFromFile(t, filepath.Join(e.Root, "run", "web.pid")); p != pid || !alive(pid) {
		t.Errorf("a refused restart changed the daemon %d -> %d", pid, p)
	}
	// The maintainer-script case: debconf's fd 3 and another fd 9 are
	// inherited; they reach EOF as soon as invoke-rc.d returns.
	extra, readers, names := inheritedPipes(t)
	r = h.runWith(h.allow(), extra, "invoke-rc.d", "web", "restart")
	for _, f := range extra {
		if f != nil {
			f.Close()
		}
	}
	wantCode(t, r, 0)
	expectEOF(t, "invoke-rc.d web restart", readers)
	waitExit(t, pid, 10*time.Second)
	events.WaitFor(t, 10*time.Second, isStart)
	pid2 := pidFromFile(t, filepath.Join(e.Root, "run", "web.pid"))
	holdsNone(t, "daemon", pid2, names...)
	if ent := e.Entry(t, "web"); ent.WatchdogPid > 0 {
		holdsNone(t, "watchdog", ent.WatchdogPid, names...)
	}

	// rc links, as the boot and the shutdown sequences run them.
	klink := filepath.Join("/etc", h.links("web")[0]) // rc0.d/K..web
	wantCode(t, h.run("-", klink, "stop"), 0)
	waitExit(t, pid2, 10*time.Second)
	var slink string
	for _, l := range h.links("web") {
		if strings.HasPrefix(l, "rc2.d/S") {
			slink = filepath.Join("/etc", l)
		}
	}
	wantCode(t, h.run("-", slink, "start"), 0)
	events.WaitFor(t, 10*time.Second, isStart)
	wantCode(t, h.run("-", "service", "web", "stop"), 0)
	wantCode(t, h.run("-", "service", "web", "status"), 3)

	// update-rc.d disable, enable, remove: the links change as for any script.
	wantCode(t, h.run("-", "update-rc.d", "web", "disable"), 0)
	h.wantLinks(t, "web", "K")
	r = h.run(h.allow(), "invoke-rc.d", "web", "start") // disabled: invoke-rc.d does not start it
	wantCode(t, r, 0)
	wantCode(t, h.run("-", "service", "web", "status"), 3)
	wantCode(t, h.run("-", "update-rc.d", "web", "enable"), 0)
	h.wantLinks(t, "web", "S")
	wantCode(t, h.run("-", "update-rc.d", "web", "remove"), 0)
	if l := h.links("web"); len(l) != 0 {
		t.Errorf("update-rc.d remove left %v", l)
	}
	wantCode(t, h.run("-", "update-rc.d", "web", "defaults"), 0)
	h.wantLinks(t, "web", "S")
}

// pidFromFile reads a pidfile.
func pidFromFile(t *testing.T, path string) int {
	t.Helper()
	var pid int
	eventually(t, 10*time.Second, "pidfile "+path, func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		_, err = fmt.Sscan(string(b), &pid)
		return err == nil && pid > 0, string(b)
	})
	return pid
}

// TestDebianToolsSymlinkMode: `svcwrap new --symlink --enable` makes the rc
// links itself (insserv cannot read the header through the link); the rc link
// starts the service; insserv, run for another script, keeps the links (it
// renumbers them as for a script without dependencies); update-rc.d remove
// removes them.
func TestDebianToolsSymlinkMode(t *testing.T) {
	e := newEnv(t)
	h := newNSHost(t, e)
	sock, events := e.Reporter(t)
	e.WriteEnvFile("sym")
	e.WriteEnvFile("other")
	h.stopAll("sym")

	r := h.run("-", e.Svcwrap, "new", "sym", "--symlink", "--exec", e.TDaemon+" -report "+sock, "--enable")
	wantCode(t, r, 0)
	wantLink(t, e.InitScript("sym"), e.Svcwrap)
	if _, err := os.Stat(filepath.Join(e.ConfDir, "sym")); err != nil {
		t.Fatalf("/etc/svcwrap/sym: %v", err)
	}
	h.wantLinks(t, "sym", "S")
	wantLink(t, filepath.Join(e.Root, "rc2.d", "S20sym"), "../init.d/sym")

	wantCode(t, h.run("-", "/etc/rc2.d/S20sym", "start"), 0)
	events.WaitFor(t, 10*time.Second, isStart)
	pid := pidFromFile(t, filepath.Join(e.Root, "run", "sym.pid"))
	wantCode(t, h.run("-", "service", "sym", "status"), 0)

	// Another script registered with update-rc.d: insserv keeps sym's links.
	wantCode(t, h.run("-", e.Svcwrap, "new", "other", "--exec", "/bin/sleep 60", "--enable"), 0)
	h.wantLinks(t, "sym", "S")
	h.wantLinks(t, "other", "S")
	if _, err := os.Stat(filepath.Join(e.Root, "insserv-overrides", "svcwrap")); err == nil {
		t.Errorf("an insserv override named svcwrap exists: it would apply to every symlinked service")
	}

	wantCode(t, h.run("-", "service", "sym", "stop"), 0)
	waitExit(t, pid, 10*time.Second)
	wantCode(t, h.run("-", "update-rc.d", "sym", "remove"), 0)
	if l := h.links("sym"); len(l) != 0 {
		t.Errorf("update-rc.d remove left %v", l)
	}
}

// TestServiceStatusAll: `service --status-all` shows [ + ] for a running
// svcwrap service, [ - ] for a stopped, failed or broken one, never [ ? ] (no
// usage text in status output, even when the daemon's own usage message is
// why it failed), and [ ? ] for a script whose status prints usage.
func TestServiceStatusAll(t *testing.T) {
	e := newEnv(t)
	h := newNSHost(t, e)
	sock, events := e.Reporter(t)
	e.Script("up", e.Daemon("-report", sock))
	e.Script("down", e.Daemon())
	e.Script("usagefail", e.Daemon("-die-at-start", "Usage:_tdaemon_[-x]", "-exit-code", "2")+"\nRESPAWN=no")
	e.Script("broken", "DAEMON=/bin/sleep\nNO_SUCH_KEY=1")
	e.writeFile(e.InitScript("legacy"), "#!/bin/sh\necho \"Usage: /etc/init.d/legacy {start|stop}\" >&2\nexit 1\n", 0o755)
	h.stopAll("up")

	wantCode(t, h.run("-", "service", "up", "start"), 0)
	events.WaitFor(t, 10*time.Second, isStart)
	r := h.run("-", "service", "usagefail", "start")
	if r.Code == 0 {
		t.Fatalf("usagefail started: %s", r)
	}
	st := h.run("-", "/etc/init.d/usagefail", "status")
	if strings.Contains(strings.ToLower(st.Output()), "usage:") {
		t.Errorf("status output holds usage text: %s", st)
	}

	r = h.run("-", "service", "--status-all")
	wantCode(t, r, 0)
	want := map[string]string{"up": "+", "down": "-", "usagefail": "-", "broken": "-", "legacy": "?"}
	for name, mark := range want {
		line := fmt.Sprintf(" [ %s ]  %s", mark, name)
		if !strings.Contains(r.Stdout+r.Stderr, line) {
			t.Errorf("service --status-all: want %q\n%s", line, r)
		}
	}
	wantCode(t, h.run("-", "service", "up", "stop"), 0)
}

// TestSystemdRedirectRealPath: with /run/systemd/system present (no
// SVCWRAP_SYSTEMD_DIR), a hand-run /etc/init.d/NAME start goes to systemctl,
// and an rc link too; status runs directly.
func TestSystemdRedirectRealPath(t *testing.T) {
	e := newEnv(t)
	h := newNSHost(t, e)
	e.Script("web", e.Daemon())
	f := newFakeSystemd(t, e)
	if err := os.MkdirAll(filepath.Join(e.Root, "run", "systemd", "system"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Symlink("../init.d/web", filepath.Join(e.Root, "rc2.d", "S01web"))
	for _, path := range []string{"/etc/init.d/web", "/etc/rc2.d/S01web"} {
		r := h.run("-", "env", "SVCWRAP_SYSTEMCTL="+f.systemctl, path, "start")
		wantCode(t, r, 0)
		if c := f.calls(); !hasLine(c, "--no-pager start web.service [skip=true]") {
			t.Errorf("%s start on a systemd host: systemctl calls %q\n%s", path, c, r)
		}
	}
	wantCode(t, h.run("-", "env", "SVCWRAP_SYSTEMCTL="+f.systemctl, "/etc/init.d/web", "status"), 3)
	if c := f.calls(); hasLine(c, "--no-pager status web.service [skip=true]") {
		t.Errorf("status went to systemctl: %q", c)
	}
	noProcs(t, e, "after redirected starts")
}

// TestDebianToolsTemplate: the template is the init script that update-rc.d
// and insserv register; an instance link (/etc/init.d/vpn@b -> vpn) is skipped
// by insserv ("a symlink to another script") and gets no rc links of its own;
// the template's rc link starts the instances INSTANCES selects, `service` runs
// one instance by its link, and the template's stop stops every one that runs.
func TestDebianToolsTemplate(t *testing.T) {
	e := newEnv(t)
	h := newNSHost(t, e)
	e.Script("vpn", e.Daemon()+"\nINSTANCES=a\n", svcMarker("vpn"))
	if err := os.Symlink("vpn", e.InitScript("vpn@b")); err != nil {
		t.Fatal(err)
	}
	h.stopAll("vpn")
	wantCode(t, h.run("-", "update-rc.d", "vpn", "defaults"), 0)
	h.wantLinks(t, "vpn", "S")
	if l := h.links("vpn@b"); len(l) != 0 {
		t.Errorf("the instance link got rc links of its own: %v", l)
	}
	if r := h.run("-", "insserv", "-v", "vpn@b"); !strings.Contains(r.Output(), "symlink to another script, skipped") {
		t.Errorf("insserv on an instance link: %s", r)
	}
	var slink string
	for _, l := range h.links("vpn") {
		if strings.HasPrefix(l, "rc2.d/S") {
			slink = filepath.Join("/etc", l)
		}
	}
	wantCode(t, h.run("-", slink, "start"), 0)
	a := pidFromFile(t, filepath.Join(e.Root, "run", "vpn@a.pid"))
	wantCode(t, h.run("-", "service", "vpn@b", "start"), 0)
	b := pidFromFile(t, filepath.Join(e.Root, "run", "vpn@b.pid"))
	if r := h.run("-", "service", "vpn", "status"); r.Code != 0 || strings.Count(r.Stdout, "running") != 2 {
		t.Errorf("service vpn status: %s", r)
	}
	wantCode(t, h.run("-", "service", "vpn", "stop"), 0)
	waitExit(t, a, 10*time.Second)
	waitExit(t, b, 10*time.Second)
}
