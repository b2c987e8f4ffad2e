package integration_test

// pkgNS: a private mount namespace that looks like a clean Debian host, for the
// tests that must use the real system paths (Ansible, the memcached and redis
// examples): /etc, /run, /var/log and /usr/sbin are copy-on-write overlays of the
// host's (nothing written there reaches the host), /etc/init.d, /etc/svcwrap,
// /etc/default, /etc/rc[0-6S].d, /run/svcwrap and /var/log/svcwrap are empty
// tmpfs, and /usr/sbin/svcwrap is the binary under test. A sleeping holder
// process keeps the namespace alive; commands enter it with nsenter, and the
// test reads and writes its files through /proc/HOLDER/root.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

type pkgNS struct {
	e   *Env
	pid int  // the holder
	net bool // it has its own network namespace too
}

// nsOptions add to the namespace: more copy-on-write overlays of the host's
// directories (/var/lib for a daemon's data), and a network namespace of its own
// with only loopback up, so that a daemon binds its configured ports (22, 53, 80)
// without meeting the host's.
type nsOptions struct {
	overlays []string
	net      bool
	// noSvcwrap: /usr/sbin/svcwrap is not put in place (a test installs the
	// package into the namespace; overlay /usr and /var then, for dpkg).
	noSvcwrap bool
}

func newPkgNS(t *testing.T, e *Env) *pkgNS { return newPkgNSWith(t, e, nsOptions{}) }

func newPkgNSWith(t *testing.T, e *Env, o nsOptions) *pkgNS {
	t.Helper()
	requireRoot(t, "mount namespaces and overlay mounts")
	for _, p := range []string{"unshare", "nsenter", "mount"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not found (util-linux): %v", p, err)
		}
	}
	dir := filepath.Join(e.Root, "ns")
	overlays := map[string]string{"/etc": "etc", "/run": "run", "/var/log": "varlog", "/usr/sbin": "usrsbin"}
	for _, d := range o.overlays {
		overlays[d] = strings.ReplaceAll(strings.Trim(d, "/"), "/", "-")
	}
	var script strings.Builder
	script.WriteString("set -e\n")
	targets := make([]string, 0, len(overlays))
	for target := range overlays {
		targets = append(targets, target)
	}
	sort.Strings(targets) // a parent (/var) before its children (/var/log)
	for _, target := range targets {
		name := overlays[target]
		up, work := filepath.Join(dir, name, "up"), filepath.Join(dir, name, "work")
		for _, d := range []string{up, work} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		fmt.Fprintf(&script, "mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s\n", target, up, work, target)
	}
	if !o.noSvcwrap {
		bin, err := os.ReadFile(svcwrapBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "usrsbin", "up", "svcwrap"), bin, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script.WriteString("for d in /etc/init.d /etc/svcwrap /etc/default /etc/rc0.d /etc/rc1.d /etc/rc2.d /etc/rc3.d " +
		"/etc/rc4.d /etc/rc5.d /etc/rc6.d /etc/rcS.d /run/svcwrap /var/log/svcwrap; do\n" +
		"  mkdir -p $d; mount -t tmpfs -o mode=0755 tmpfs $d\ndone\n")
	// No systemd here, whatever the host: Ansible's service module and Debian's
	// `service` then pick the sysvinit way (the host is not booted with systemd
	// anyway; /run/systemd/system does not exist on it).
	script.WriteString("rm -rf /run/systemd/system\n")
	unshare := []string{"-m", "--propagation", "private"}
	if o.net {
		script.WriteString("ip link set lo up\n")
		unshare = append(unshare, "-n")
	}
	script.WriteString("echo ready\nexec sleep infinity\n")

	cmd := exec.Command("unshare", append(unshare, "--", "/bin/sh", "-c", script.String())...)
	cmd.Env = cleanEnviron()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	p := startProcCmd(t, cmd)
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if strings.TrimSpace(l) != "ready" {
			p.Wait(t, 30*time.Second)
			t.Fatalf("namespace set-up failed: %q %s", l, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("namespace set-up did not finish in 60s: %s", stderr.String())
	}
	return &pkgNS{e: e, pid: p.Pid, net: o.net}
}

// Path is where the test sees path of the namespace.
func (n *pkgNS) Path(path string) string { return fmt.Sprintf("/proc/%d/root%s", n.pid, path) }

// WriteFile writes path in the namespace with mode perm (root-owned).
func (n *pkgNS) WriteFile(t testing.TB, path, content string, perm os.FileMode) {
	t.Helper()
	p := n.Path(path)
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

// ExecWith runs path ARGS... inside the namespace. env nil: a clean environment
// with only SVCWRAP_TEST_ID added (svcwrap uses its default paths there).
func (n *pkgNS) ExecWith(env []string, timeout time.Duration, path string, args ...string) Result {
	if env == nil {
		env = append(cleanEnviron(), "SVCWRAP_TEST_ID="+n.e.TestID)
	}
	full := []string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", n.pid)}
	if n.net {
		full = append(full, fmt.Sprintf("--net=/proc/%d/ns/net", n.pid))
	}
	full = append(append(full, "--", path), args...)
	r := n.e.ExecWith(ExecOpts{Env: env, Timeout: timeout}, "nsenter", full...)
	r.Cmd = strings.Join(append([]string{"[ns]", path}, args...), " ")
	return r
}

// Exec is ExecWith with the default environment and timeout.
func (n *pkgNS) Exec(path string, args ...string) Result { return n.ExecWith(nil, 0, path, args...) }

// Pid reads a pidfile of the namespace (0 when absent).
func (n *pkgNS) Pid(path string) int {
	b, err := os.ReadFile(n.Path(path))
	if err != nil {
		return 0
	}
	var pid int
	fmt.Sscanf(strings.TrimSpace(string(b)), "%d", &pid)
	return pid
}

// Service writes /etc/init.d/NAME (script mode, #!/usr/sbin/svcwrap, mode 0755)
// and /etc/default/NAME (SVCWRAP_TEST_ID, so that the leak sweep finds the
// daemon, then envLines), and registers a cleanup that stops it.
func (n *pkgNS) Service(t *testing.T, name, body string, envLines ...string) {
	t.Helper()
	n.WriteFile(t, "/etc/init.d/"+name, "#!/usr/sbin/svcwrap\n"+lsbHeader(name)+withNewline(body), 0o755)
	env := "SVCWRAP_TEST_ID='" + n.e.TestID + "'\n"
	for _, l := range envLines {
		env += withNewline(l)
	}
	n.WriteFile(t, "/etc/default/"+name, env, 0o644)
	t.Cleanup(func() {
		if r := n.Exec("/etc/init.d/"+name, "stop"); r.Code != 0 || r.Err != nil {
			t.Logf("cleanup: %s", r)
		}
	})
}
