package integration_test

// examples/debian/postgresql as /etc/init.d/postgresql, running cluster 15/main
// of Debian's postgresql-15 through pg_ctlcluster, in a private namespace (see
// debian_test.go). The cluster is made in the namespace's copy-on-write /etc
// and /var/lib; it starts as a standby (standby.signal), so that promote has
// something to do.

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

const pgData = "/var/lib/postgresql/15/main"

// pgQuery runs one SQL statement as user postgres with psql (through Debian's
// pg_wrapper, which finds the cluster's socket and port) and returns its
// unaligned output.
func pgQuery(ns *pkgNS, sql string) (string, error) {
	r := ns.ExecWith(nil, 20*time.Second, "/usr/sbin/runuser", "-u", "postgres", "--",
		"/usr/bin/psql", "--cluster", "15/main", "-X", "-A", "-t", "-c", sql)
	if r.Err != nil || r.Code != 0 {
		return "", fmt.Errorf("%s", r)
	}
	return strings.TrimSpace(r.Stdout), nil
}

// pgWant waits (bounded) for sql to answer want.
func pgWant(t *testing.T, ns *pkgNS, what, sql, want string) {
	t.Helper()
	eventually(t, 20*time.Second, what, func() (bool, string) {
		got, err := pgQuery(ns, sql)
		if err != nil {
			return false, err.Error()
		}
		return got == want, fmt.Sprintf("%s: %q, want %q", sql, got, want)
	})
}

// mustNS runs a command in the namespace and fails the test unless it exits 0.
func mustNS(t *testing.T, ns *pkgNS, path string, args ...string) Result {
	t.Helper()
	r := ns.ExecWith(nil, 60*time.Second, path, args...)
	if r.Err != nil || r.Code != 0 {
		t.Fatalf("%s", r)
	}
	return r
}

// logsOnFailure logs the tail of files of the namespace if the test fails (the
// namespace's /var/log/svcwrap is a tmpfs, gone with it). Called from setup.
func logsOnFailure(t *testing.T, ns *pkgNS, paths ...string) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, p := range paths {
			b, err := os.ReadFile(ns.Path(p))
			if len(b) > 8192 {
				b = b[len(b)-8192:]
			}
			t.Logf("%s (%v):\n%s", p, err, b)
		}
	})
}

func TestDebianPostgreSQL(t *testing.T) {
	runDebianExample(t, debianExample{
		name: "postgresql", program: "/usr/lib/postgresql/15/bin/postgres", user: "postgres",
		pidfile: "/run/postgresql.pid", runDir: "/run/postgresql",
		setup: func(t *testing.T, ns *pkgNS) {
			logsOnFailure(t, ns, "/var/log/svcwrap/postgresql.log", "/var/log/postgresql/postgresql-15-main.log")
			for _, p := range []string{"/usr/bin/pg_createcluster", "/usr/sbin/runuser"} {
				if _, err := os.Stat(p); err != nil {
					t.Skipf("%s is not installed: %v", p, err)
				}
			}
			// What pg_createcluster makes, whatever the host's postinst left:
			// a 15/main of the host (stopped) is dropped from the namespace's
			// copy-on-write overlays only.
			if _, err := os.Stat(ns.Path("/etc/postgresql/15/main")); err == nil {
				mustNS(t, ns, "/usr/bin/pg_dropcluster", "15", "main")
			}
			mustNS(t, ns, "/usr/bin/pg_createcluster", "15", "main")
			// A standby with nothing to follow: it replays its own WAL,
			// answers read-only queries, and waits for promote.
			mustNS(t, ns, "/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/touch", pgData+"/standby.signal")
		},
		answers: func(ns *pkgNS) error {
			got, err := pgQuery(ns, "select 'postgres' || ' answers'")
			if err == nil && got != "postgres answers" {
				err = fmt.Errorf("psql answered %q", got)
			}
			return err
		},
		verbs: []verbCheck{
			{args: []string{"status"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				pgWant(t, ns, "a standby before promote", "select pg_is_in_recovery()", "t")
			}},
			{args: []string{"promote"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				pgWant(t, ns, "a primary after promote", "select pg_is_in_recovery()", "f")
				if _, err := os.Stat(ns.Path(pgData + "/standby.signal")); err == nil {
					t.Errorf("standby.signal is still there after promote")
				}
			}},
			// pg_ctl's refusal and exit status pass through.
			{args: []string{"promote"}, code: 1, check: func(t *testing.T, ns *pkgNS, r Result) {
				if !strings.Contains(r.Stdout+r.Stderr, "not in standby mode") {
					t.Errorf("promote of a primary: %s", r)
				}
			}},
			// The harness's reload above found nothing new: here a setting
			// changes, and reload makes the postmaster read it.
			{args: []string{"reload"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				pid := ns.Pid("/run/postgresql.pid")
				ns.WriteFile(t, "/etc/postgresql/15/main/conf.d/svcwrap-test.conf", "work_mem = '7MB'\n", 0o644)
				wantCode(t, ns.Exec("/etc/init.d/postgresql", "reload"), 0)
				pgWant(t, ns, "the new work_mem after reload", "show work_mem", "7MB")
				if got := ns.Pid("/run/postgresql.pid"); got != pid || !alive(pid) {
					t.Errorf("reload replaced the postmaster: %d, was %d", got, pid)
				}
			}},
		},
		reloadKeepsPID: true,
	})
}
