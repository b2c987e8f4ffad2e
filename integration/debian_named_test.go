package integration_test

// examples/debian/named: bind9's named as /etc/init.d/named, answering dig and
// rndc in the namespace, with its hooks seen at work: rndc stop and rndc reload
// through the control channel (named's own log says it received them), and the
// resolvconf registration (a recording /sbin/resolvconf, RESOLVCONF=yes).

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const (
	namedLog        = "/var/log/named/svcwrap-test.log" // named's own log, set up by the test
	resolvconfCalls = "/run/resolvconf.calls"           // what the fake resolvconf was asked
)

// namedSetup prepares the namespace as bind9's postinst leaves a host (the rndc
// key), and adds what lets the test see the hooks: a log file for named, a
// recording /sbin/resolvconf (RESOLVCONF=yes is in the defaults).
func namedSetup(t *testing.T, ns *pkgNS) {
	if _, err := os.Stat(ns.Path("/etc/bind/rndc.key")); err != nil {
		// The postinst's own command; its key is what named's default control
		// channel and rndc both read.
		if r := ns.Exec("/usr/sbin/rndc-confgen", "-a", "-u", "bind"); r.Code != 0 || r.Err != nil {
			t.Fatalf("no /etc/bind/rndc.key and rndc-confgen failed: %s", r)
		}
	}
	uid, gid := userIDs(t, "bind")
	if err := os.MkdirAll(ns.Path("/var/log/named"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(ns.Path("/var/log/named"), uid, gid); err != nil {
		t.Fatal(err)
	}
	local, err := os.ReadFile(ns.Path("/etc/bind/named.conf.local"))
	if err != nil {
		t.Fatal(err)
	}
	ns.WriteFile(t, "/etc/bind/named.conf.local", string(local)+`
// svcwrap's test: named's messages in a file (the namespace has no syslog).
logging {
	channel svcwrap_test { file "`+namedLog+`"; severity info; print-time yes; };
	category default { svcwrap_test; };
};
`, 0o644)
	ns.WriteFile(t, "/usr/sbin/resolvconf", `#!/bin/sh
# TestDebianNamed: records each call, with the nameserver lines given to -a.
{ printf '%s' "$*"; if [ "$1" = -a ]; then printf ': %s' "$(cat)"; fi; echo; } >> `+resolvconfCalls+"\n", 0o755)
	t.Cleanup(func() {
		// After the last stop (this runs before runDebianExample's cleanup):
		// PRE_STOP unregistered named last.
		if t.Failed() {
			return
		}
		if calls := nsLines(ns, resolvconfCalls); len(calls) == 0 || calls[len(calls)-1] != "-d lo.named" {
			t.Errorf("after stop, the resolvconf calls end with %q, want -d lo.named", calls)
		}
	})
}

// userIDs is the uid and gid of user.
func userIDs(t *testing.T, user string) (int, int) {
	t.Helper()
	var ids [2]int
	for i, flag := range []string{"-u", "-g"} {
		out, err := exec.Command("id", flag, user).Output()
		if err != nil {
			t.Fatalf("id %s %s: %v", flag, user, err)
		}
		if ids[i], err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil {
			t.Fatal(err)
		}
	}
	return ids[0], ids[1]
}

// nsLines is a file of the namespace, line by line (nil when it is absent).
func nsLines(ns *pkgNS, path string) []string {
	b, err := os.ReadFile(ns.Path(path))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

// countIn counts the lines of a namespace file that contain s.
func countIn(ns *pkgNS, path, s string) int {
	n := 0
	for _, l := range nsLines(ns, path) {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

func TestDebianNamed(t *testing.T) {
	const registered = "-a lo.named: nameserver 127.0.0.1"
	for _, client := range []string{"/usr/bin/dig", "/usr/sbin/rndc"} {
		if _, err := os.Stat(client); err != nil {
			t.Skipf("%s is not installed (bind9-dnsutils, bind9-utils): %v", client, err)
		}
	}
	runDebianExample(t, debianExample{
		name: "named", program: "/usr/sbin/named", user: "bind", pidfile: "/run/named.pid", runDir: "/run/named",
		setup:    namedSetup,
		defaults: []string{"RESOLVCONF=yes"},
		answers: func(ns *pkgNS) error {
			if err := inNS(ns, "127.0.0.1", "/usr/bin/dig", "+short", "+time=2", "+tries=1", "@127.0.0.1", "localhost", "A"); err != nil {
				return err
			}
			return inNS(ns, "server is up and running", "/usr/sbin/rndc", "status")
		},
		verbs: []verbCheck{
			// reload and force-reload ran before: rndc reload, twice.
			{args: []string{"status"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				if n := countIn(ns, namedLog, "received control channel command 'reload'"); n != 2 {
					t.Errorf("named received %d rndc reloads, want 2 (reload, force-reload): %q", n, nsLines(ns, namedLog))
				}
				if calls := nsLines(ns, resolvconfCalls); len(calls) != 1 || calls[0] != registered {
					t.Errorf("after start, resolvconf calls %q, want [%q] (POST_START)", calls, registered)
				}
			}},
			// restart: PRE_STOP unregisters, STOP_COMMAND's rndc stop ends named
			// (no signal needed), POST_START registers the new one.
			{args: []string{"restart"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				if n := countIn(ns, namedLog, "received control channel command 'stop'"); n != 1 {
					t.Errorf("named received %d rndc stops, want 1: %q", n, nsLines(ns, namedLog))
				}
				want := fmt.Sprint([]string{registered, "-d lo.named", registered})
				if calls := fmt.Sprint(nsLines(ns, resolvconfCalls)); calls != want {
					t.Errorf("after restart, resolvconf calls %s, want %s", calls, want)
				}
			}},
		},
		reloadKeepsPID: true,
	})
}
