package integration_test

// examples/debian/postgresql as /etc/init.d/postgresql: a template whose
// instances are the clusters of Debian's postgresql-15 (postgresql@main is
// 15/main), each run through pg_ctlcluster, in a private namespace (see
// debian_test.go). Two clusters are made in the namespace's copy-on-write /etc
// and /var/lib: 15/main on port 5432, which starts as a standby
// (standby.signal) so that promote has something to do, and 15/second on 5433.

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	pgPostgres = "/usr/lib/postgresql/15/bin/postgres"
	pgData     = "/var/lib/postgresql/15/main"
)

// pgQuery runs one SQL statement as user postgres with psql on a cluster
// ("15/main"; Debian's pg_wrapper finds its socket directory and port in its
// postgresql.conf) and returns its unaligned output.
func pgQuery(ns *pkgNS, cluster, sql string) (string, error) {
	r := ns.ExecWith(nil, 20*time.Second, "/usr/sbin/runuser", "-u", "postgres", "--",
		"/usr/bin/psql", "--cluster", cluster, "-X", "-A", "-t", "-c", sql)
	if r.Err != nil || r.Code != 0 {
		return "", fmt.Errorf("%s", r)
	}
	return strings.TrimSpace(r.Stdout), nil
}

// pgWant waits (bounded) for sql to answer want on cluster.
func pgWant(t *testing.T, ns *pkgNS, cluster, what, sql, want string) {
	t.Helper()
	eventually(t, 20*time.Second, what, func() (bool, string) {
		got, err := pgQuery(ns, cluster, sql)
		if err != nil {
			return false, err.Error()
		}
		return got == want, fmt.Sprintf("%s on %s: %q, want %q", sql, cluster, got, want)
	})
}

// pgAnswers: the cluster answers psql, on its own port.
func pgAnswers(ns *pkgNS, cluster, port string) error {
	got, err := pgQuery(ns, cluster, "select 'port ' || current_setting('port')")
	if err == nil && got != "port "+port {
		err = fmt.Errorf("psql on %s answered %q, want port %s", cluster, got, port)
	}
	return err
}

// pgPostmasters are the namespace's postmasters, from /proc: the postgres
// processes whose parent is no postgres (the backends are the postmaster's
// children), sorted.
func pgPostmasters(ns *pkgNS) []int {
	var out []int
	for _, pid := range nsProcs(ns, pgPostgres) {
		st, err := procStatus(pid)
		if err != nil {
			continue
		}
		var ppid int
		fmt.Sscanf(st["PPid"], "%d", &ppid)
		if procExe(ppid) != procExe(pid) {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// wantPostmasters waits (bounded: a killed postmaster's backends take a moment
// to go) until the namespace's postmasters are exactly pids.
func wantPostmasters(t *testing.T, ns *pkgNS, what string, pids ...int) {
	t.Helper()
	slices.Sort(pids)
	eventually(t, 20*time.Second, what, func() (bool, string) {
		got := pgPostmasters(ns)
		return slices.Equal(got, pids), fmt.Sprintf("postmasters %v, want %v", got, pids)
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
	requireRoot(t, "runs PostgreSQL 15 clusters from Debian's package as /etc/init.d/postgresql in a private mount and network namespace")
	for _, p := range []string{pgPostgres, "/usr/bin/pg_createcluster", "/usr/sbin/runuser"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", p, err)
		}
	}
	e := newEnv(t)
	ns := debianNS(t, e)
	const (
		mainPidfile   = "/run/postgresql@main.pid"
		secondPidfile = "/run/postgresql@second.pid"
		link          = "/etc/init.d/postgresql@main" // one instance, by a link
	)
	script := installDebianExample(t, ns, debianExample{
		name: "postgresql", program: pgPostgres,
		setup: func(t *testing.T, ns *pkgNS) {
			logsOnFailure(t, ns, "/var/log/svcwrap/postgresql@main.log", "/var/log/svcwrap/postgresql@second.log",
				"/var/log/postgresql/postgresql-15-main.log", "/var/log/postgresql/postgresql-15-second.log")
			// What pg_createcluster makes, whatever the host's postinst left:
			// the host's clusters (stopped) are dropped from the namespace's
			// copy-on-write overlays only.
			for _, c := range []string{"main", "second"} {
				if _, err := os.Stat(ns.Path("/etc/postgresql/15/" + c)); err == nil {
					mustNS(t, ns, "/usr/bin/pg_dropcluster", "15", c)
				}
			}
			mustNS(t, ns, "/usr/bin/pg_createcluster", "-p", "5432", "15", "main")
			mustNS(t, ns, "/usr/bin/pg_createcluster", "-p", "5433", "15", "second")
			// A standby with nothing to follow: it replays its own WAL,
			// answers read-only queries, and waits for promote.
			mustNS(t, ns, "/usr/sbin/runuser", "-u", "postgres", "--", "/usr/bin/touch", pgData+"/standby.signal")
			if err := os.Symlink("postgresql", ns.Path(link)); err != nil {
				t.Fatal(err)
			}
		},
	})
	mainAnswers := func() error { return pgAnswers(ns, "15/main", "5432") }
	secondAnswers := func() error { return pgAnswers(ns, "15/second", "5433") }

	// The bare start starts every cluster of /etc/postgresql/15: two
	// postmasters, each answering on its own port once start returns.
	r := ns.Exec(script, "start")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "postgresql@main") || !strings.Contains(r.Stdout, "postgresql@second") {
		t.Errorf("start: a line for each cluster: %s", r)
	}
	main := runningAs(t, ns, mainPidfile, pgPostgres, "postgres")
	second := runningAs(t, ns, secondPidfile, pgPostgres, "postgres")
	if main == second {
		t.Fatalf("one postmaster for two clusters: %d", main)
	}
	wantPostmasters(t, ns, "the two clusters' postmasters", main, second)
	for _, answers := range []func() error{mainAnswers, secondAnswers} {
		if err := answers(); err != nil {
			t.Fatalf("after start (READY passed): %v", err)
		}
	}
	wantCode(t, ns.Exec(script, "start"), 0) // already running
	if m, s := ns.Pid(mainPidfile), ns.Pid(secondPidfile); m != main || s != second {
		t.Fatalf("a second start changed the postmasters: %d %d, were %d %d", m, s, main, second)
	}
	r = ns.Exec(script, "status")
	wantCode(t, r, 0)
	for _, pid := range []int{main, second} {
		if !strings.Contains(r.Stdout, fmt.Sprintf("running (pid %d", pid)) {
			t.Errorf("status has no line for pid %d: %s", pid, r)
		}
	}
	wantCode(t, ns.Exec(script, "reload"), 0)
	wantCode(t, ns.Exec(script, "force-reload"), 0)
	if m, s := ns.Pid(mainPidfile), ns.Pid(secondPidfile); m != main || s != second || !alive(main) || !alive(second) {
		t.Fatalf("reload replaced a postmaster: %d %d, were %d %d", m, s, main, second)
	}
	if r := ns.Exec(script, "help"); r.Code != 0 || !strings.Contains(r.Stdout, "is a template") {
		t.Errorf("help: %s", r)
	}

	// One cluster, 15/main, through the link postgresql@main: promote and
	// reload of its own.
	wantCode(t, ns.Exec(link, "status"), 0)
	pgWant(t, ns, "15/main", "a standby before promote", "select pg_is_in_recovery()", "t")
	// promote needs a cluster: the template alone says how to name one.
	if r := ns.Exec(script, "promote"); r.Code != 2 || !strings.Contains(r.Stderr, "postgresql@INSTANCE promote") {
		t.Errorf("promote of the bare template: %s; want exit 2 and the way to name a cluster", r)
	}
	wantCode(t, ns.Exec(link, "promote"), 0)
	pgWant(t, ns, "15/main", "a primary after promote", "select pg_is_in_recovery()", "f")
	if _, err := os.Stat(ns.Path(pgData + "/standby.signal")); err == nil {
		t.Errorf("standby.signal is still there after promote")
	}
	// pg_ctl's refusal and exit status pass through; svcwrap run names the
	// instance as well as the link does.
	if r := ns.Exec("/usr/sbin/svcwrap", "run", "postgresql@main", "promote"); r.Code != 1 || !strings.Contains(r.Stdout+r.Stderr, "not in standby mode") {
		t.Errorf("promote of a primary: %s", r)
	}
	// A setting changes, and reload makes 15/main's postmaster read it.
	ns.WriteFile(t, "/etc/postgresql/15/main/conf.d/svcwrap-test.conf", "work_mem = '7MB'\n", 0o644)
	wantCode(t, ns.Exec(link, "reload"), 0)
	pgWant(t, ns, "15/main", "the new work_mem after reload", "show work_mem", "7MB")
	if got := ns.Pid(mainPidfile); got != main || !alive(main) {
		t.Errorf("reload replaced the postmaster: %d, was %d", got, main)
	}
	if r := ns.Exec(link, "help"); r.Code != 0 || !strings.Contains(r.Stdout, "Usage: "+link+" {") || !strings.Contains(r.Stdout, "promote") {
		t.Errorf("help of postgresql@main: %s", r)
	}

	// kill -9 of 15/main's postmaster: its watchdog starts it again, and
	// 15/second's postmaster is the same process.
	killAndRespawn(t, ns, mainPidfile, pgPostgres, "postgres", mainAnswers)
	main = ns.Pid(mainPidfile)
	if got := ns.Pid(secondPidfile); got != second || !alive(second) {
		t.Errorf("15/second's postmaster changed when 15/main's was killed: %d, was %d", got, second)
	}
	wantPostmasters(t, ns, "the respawned postmaster and 15/second's", main, second)
	if err := secondAnswers(); err != nil {
		t.Errorf("15/second after 15/main's respawn: %v", err)
	}

	// One cluster stopped by name: the other runs on; status says "partly" (1).
	wantCode(t, ns.Exec(script, "stop", "second"), 0)
	waitExit(t, second, 30*time.Second)
	wantPostmasters(t, ns, "15/main's postmaster alone", main)
	if err := secondAnswers(); err == nil {
		t.Errorf("15/second still answers after stop second")
	}
	wantCode(t, ns.Exec(script, "status"), 1)

	// The socket directory gone, as after a reboot cleared /run (only 15/main
	// runs, so no other cluster loses its socket): the respawn makes it again
	// (DIRS before every spawn).
	if err := os.RemoveAll(ns.Path("/run/postgresql")); err != nil {
		t.Fatal(err)
	}
	killAndRespawn(t, ns, mainPidfile, pgPostgres, "postgres", mainAnswers)
	if fi, err := os.Stat(ns.Path("/run/postgresql")); err != nil || !fi.IsDir() {
		t.Errorf("/run/postgresql was not made again: %v", err)
	}
	main = ns.Pid(mainPidfile)
	wantCode(t, ns.Exec(link, "restart"), 0)
	if got := ns.Pid(mainPidfile); got == main || !alive(got) {
		t.Errorf("restart: pid %d, was %d", got, main)
	}
	if err := mainAnswers(); err != nil {
		t.Errorf("after restart: %v", err)
	}
	main = ns.Pid(mainPidfile)

	// 15/second's start.conf says manual: the bare start leaves it alone and
	// succeeds, as Debian's do_ctl_all does; so does a start that names it
	// (Debian's script never starts a manual cluster: pg_ctlcluster does).
	ns.WriteFile(t, "/etc/postgresql/15/second/start.conf", "# svcwrap test\nmanual\n", 0o644)
	wantCode(t, ns.Exec(script, "start"), 0)
	wantCode(t, ns.Exec(script, "start", "second"), 0)
	if got := ns.Pid(mainPidfile); got != main {
		t.Errorf("start changed 15/main's postmaster: %d, was %d", got, main)
	}
	if _, err := os.Stat(ns.Path(secondPidfile)); err == nil {
		t.Errorf("a manual cluster has a pidfile after start")
	}
	wantPostmasters(t, ns, "no postmaster for the manual cluster", main)
	if r := ns.Exec("/usr/sbin/svcwrap", "run", "postgresql@second", "status"); r.Code != 3 || !strings.Contains(r.Stdout, "disabled") {
		t.Errorf("status of the manual cluster: %s; want exit 3, disabled", r)
	}

	// The bare stop stops every cluster that runs.
	wantCode(t, ns.Exec(script, "stop"), 0)
	waitExit(t, main, 30*time.Second)
	eventually(t, 10*time.Second, "no postgres left after stop", func() (bool, string) {
		left := nsProcs(ns, pgPostgres)
		return len(left) == 0, fmt.Sprint(left)
	})
	if mainAnswers() == nil {
		t.Errorf("15/main still answers after stop")
	}
	wantCode(t, ns.Exec(script, "status"), 3)
}
