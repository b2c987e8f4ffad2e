package integration_test

// examples/debian/haproxy as /etc/init.d/haproxy, running Debian's haproxy over
// the package's own /etc/haproxy/haproxy.cfg in a private namespace (see
// debian_test.go). That file listens nowhere, so the test adds a frontend the
// way /etc/default/haproxy allows: EXTRAOPTS="-f FILE", which also shows the
// variable reaching both the daemon and the config test.

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	haproxyTestCfg = "/etc/haproxy/svcwrap-test.cfg"
	haproxyPidfile = "/run/haproxy.pid"
	haproxyLog     = "/var/log/svcwrap/haproxy.log" // LOG's default: the master's stderr
)

// haproxyFrontend is a frontend on port 80 that answers 200 with body, plus
// extra lines.
func haproxyFrontend(body string, extra ...string) string {
	return "frontend svcwrap-test\n" +
		"\tbind 127.0.0.1:80\n" +
		"\thttp-request return status 200 content-type text/plain string \"" + body + "\"\n" +
		strings.Join(extra, "")
}

// haproxyAnswers asks the test frontend with curl and wants want in the body.
// No wait: start and reload return once the master says READY=1, with the
// workers of the configuration it loaded (haproxy 2.6 drops a USR2 that comes
// while it still loads, so a reload that returned earlier lost the next one).
func haproxyAnswers(ns *pkgNS, want string) error {
	return inNS(ns, want, "/usr/bin/curl", "-fsS", "--max-time", "5", "http://127.0.0.1:80/")
}

// haproxyReloads counts the reloads the master logged ("Reloading HAProxy").
func haproxyReloads(t *testing.T, ns *pkgNS) int {
	t.Helper()
	log, err := os.ReadFile(ns.Path(haproxyLog))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(log), fmt.Sprintf("(%d) : Reloading HAProxy", ns.Pid(haproxyPidfile)))
}

// haproxyWorkers lists the haproxy processes of the namespace but the master.
func haproxyWorkers(ns *pkgNS, master int) []int {
	return slices.DeleteFunc(nsProcs(ns, "/usr/sbin/haproxy"), func(p int) bool { return p == master })
}

func TestDebianHAProxy(t *testing.T) {
	const script = "/etc/init.d/haproxy"
	runDebianExample(t, debianExample{
		name: "haproxy", program: "/usr/sbin/haproxy", user: "root", pidfile: haproxyPidfile, runDir: "/run/haproxy",
		setup: func(t *testing.T, ns *pkgNS) {
			logsOnFailure(t, ns, haproxyLog)
			if _, err := os.Stat("/usr/bin/curl"); err != nil {
				t.Skipf("curl is not installed: %v", err)
			}
			ns.WriteFile(t, haproxyTestCfg, haproxyFrontend("haproxy ok"), 0o644)
			// The namespace's /etc/default is empty: the package's file (all
			// comments), what the harness wrote, and the test's EXTRAOPTS.
			pkg, _ := os.ReadFile("/etc/default/haproxy")
			cur, err := os.ReadFile(ns.Path("/etc/default/haproxy"))
			if err != nil {
				t.Fatal(err)
			}
			ns.WriteFile(t, "/etc/default/haproxy", string(pkg)+"\n"+string(cur)+"EXTRAOPTS=\"-f "+haproxyTestCfg+"\"\n", 0o644)
		},
		answers: func(ns *pkgNS) error { return haproxyAnswers(ns, "haproxy ok") },
		verbs: []verbCheck{
			// configtest is the GUARD: with a broken EXTRAOPTS file it fails,
			// and reload and restart are refused with the daemon untouched.
			{args: []string{"configtest"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				if !strings.Contains(r.Stdout, "Configuration file is valid") {
					t.Errorf("configtest: %s", r)
				}
				master := ns.Pid(haproxyPidfile)
				ns.WriteFile(t, haproxyTestCfg, haproxyFrontend("haproxy broken", "\tsvcwrap-no-such-keyword\n"), 0o644)
				if r := ns.Exec(script, "configtest"); checkCode(t, r, 1) && !strings.Contains(r.Stdout+r.Stderr, "svcwrap-no-such-keyword") {
					t.Errorf("configtest of a broken file does not name the problem: %s", r)
				}
				for _, verb := range []string{"reload", "force-reload", "restart", "try-restart"} {
					wantCode(t, ns.Exec(script, verb), 6)
				}
				if got := ns.Pid(haproxyPidfile); got != master || !alive(master) {
					t.Errorf("a refused action changed the master: %d, was %d", got, master)
				}
				if err := haproxyAnswers(ns, "haproxy ok"); err != nil {
					t.Errorf("after the refused actions: %v", err)
				}
				ns.WriteFile(t, haproxyTestCfg, haproxyFrontend("haproxy ok"), 0o644)
				wantCode(t, ns.Exec(script, "configtest"), 0)
			}},
			// The harness's reload above found nothing new: here the frontend
			// changes, and reload (USR2) makes the same master start new
			// workers with it, which answer once reload returns; the old ones
			// exit.
			{args: []string{"reload"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				master := ns.Pid(haproxyPidfile)
				old := haproxyWorkers(ns, master)
				ns.WriteFile(t, haproxyTestCfg, haproxyFrontend("haproxy ok, reloaded"), 0o644)
				wantCode(t, ns.Exec(script, "reload"), 0)
				if err := haproxyAnswers(ns, "haproxy ok, reloaded"); err != nil {
					t.Errorf("right after reload: %v", err)
				}
				eventually(t, 20*time.Second, "only new workers after reload", func() (bool, string) {
					now := haproxyWorkers(ns, master)
					return len(now) > 0 && !slices.ContainsFunc(now, func(p int) bool { return slices.Contains(old, p) }),
						fmt.Sprintf("workers %v, before the reload %v", now, old)
				})
				if got := ns.Pid(haproxyPidfile); got != master || !alive(master) {
					t.Errorf("reload replaced the master: %d, was %d", got, master)
				}
			}},
			// Two reloads back to back, the configuration changed before
			// each: the second USR2 comes once the master has loaded the
			// first, so none is lost and the second change is served.
			{args: []string{"status"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				before := haproxyReloads(t, ns)
				ns.WriteFile(t, haproxyTestCfg, haproxyFrontend("haproxy ok, first change"), 0o644)
				wantCode(t, ns.Exec(script, "reload"), 0)
				ns.WriteFile(t, haproxyTestCfg, haproxyFrontend("haproxy ok, second change"), 0o644)
				wantCode(t, ns.Exec(script, "reload"), 0)
				if err := haproxyAnswers(ns, "haproxy ok, second change"); err != nil {
					t.Errorf("right after the second reload: %v", err)
				}
				if n := haproxyReloads(t, ns) - before; n != 2 {
					t.Errorf("the master logged %d reloads, want 2", n)
				}
			}},
		},
		reloadKeepsPID: true,
	})
}
