package integration_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	phpfpmSocket = "/run/php/php8.2-fpm.sock" // www.conf's listen
	phpfpmLog    = "/var/log/php8.2-fpm.log"  // php-fpm.conf's error_log
	phpfpmPage   = "/srv/svcwrap-test/ok.php"
)

// phpfpmAnswers sends a FastCGI request for phpfpmPage to socket, with a
// FastCGI client in python3 (testdata/fcgi-get.py), run in the namespace.
func phpfpmAnswers(ns *pkgNS, socket string) error {
	client, err := filepath.Abs(filepath.Join("testdata", "fcgi-get.py"))
	if err != nil {
		return err
	}
	return inNS(ns, "php-fpm ok as www-data", "/usr/bin/python3", client, socket, phpfpmPage)
}

// php8.2-fpm from Debian 12's package, as examples/debian/php8.2-fpm: the
// master as root over the package's php-fpm.conf and www pool, workers as
// www-data answering FastCGI on the pool's socket in /run/php.
func TestDebianPhpFpm(t *testing.T) {
	runDebianExample(t, debianExample{
		name: "php8.2-fpm", program: "/usr/sbin/php-fpm8.2", user: "root", pidfile: "/run/php8.2-fpm.pid", runDir: "/run/php",
		setup: func(t *testing.T, ns *pkgNS) {
			if err := os.MkdirAll(ns.Path(filepath.Dir(phpfpmPage)), 0o755); err != nil {
				t.Fatal(err)
			}
			ns.WriteFile(t, phpfpmPage, `<?php echo "php-fpm ok as ", posix_getpwuid(posix_geteuid())["name"], "\n";`+"\n", 0o644)
			// A fresh error log: "re-opened" in it is then reopen-logs' doing.
			if err := os.Remove(ns.Path(phpfpmLog)); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		},
		answers: func(ns *pkgNS) error { return phpfpmAnswers(ns, phpfpmSocket) },
		verbs: []verbCheck{
			{args: []string{"configtest"}, code: 0, check: phpfpmGuard},
			// After status (no reload of its own): the reload is phpfpmNewPool's.
			{args: []string{"status"}, code: 0, check: phpfpmNewPool},
			{args: []string{"reopen-logs"}, code: 0, check: phpfpmReopened},
			{args: []string{"status"}, code: 0, check: phpfpmAsDebianRunsIt},
		},
		reloadKeepsPID: true,
	})
}

// phpfpmGuard: configtest is php-fpm's own test, and GUARD keeps a broken pool
// from reaching the daemon (USR2 with one kills the master): reload and restart
// are refused and the master answers on.
func phpfpmGuard(t *testing.T, ns *pkgNS, r Result) {
	if !strings.Contains(r.Stderr, "test is successful") {
		t.Errorf("configtest did not run php-fpm's test: %s", r)
	}
	// runDebianExample's reload and force-reload each sent USR2, and returned
	// once the re-executed master said READY=1: it has read its pools and logged
	// "ready" for the start and both reloads, so the broken pool below cannot
	// reach it (USR2 with one kills the master).
	if n := phpfpmReadies(t, ns); n != 3 {
		t.Fatalf("php-fpm was ready %d times, want 3 (start, reload, force-reload)", n)
	}
	const broken = "/etc/php/8.2/fpm/pool.d/zz-broken.conf"
	ns.WriteFile(t, broken, "[broken]\nlisten = /run/php/broken.sock\npm = nonsense\n", 0o644)
	defer func() {
		if err := os.Remove(ns.Path(broken)); err != nil {
			t.Fatal(err)
		}
	}()
	pid := ns.Pid("/run/php8.2-fpm.pid")
	if r := ns.Exec("/etc/init.d/php8.2-fpm", "configtest"); r.Code == 0 || !strings.Contains(r.Stderr, "invalid process manager") {
		t.Errorf("configtest passes a broken pool: %s", r)
	}
	for _, verb := range []string{"reload", "restart", "force-reload"} {
		r := ns.Exec("/etc/init.d/php8.2-fpm", verb)
		checkCode(t, r, 6)
		if !strings.Contains(r.Stderr, "invalid process manager") {
			t.Errorf("%s does not say why it was refused: %s", verb, r)
		}
	}
	if got := ns.Pid("/run/php8.2-fpm.pid"); got != pid || !alive(pid) {
		t.Errorf("a refused action changed the daemon: pid %d, was %d", got, pid)
	}
	if err := phpfpmAnswers(ns, phpfpmSocket); err != nil {
		t.Errorf("after the refused actions: %v", err)
	}
}

// phpfpmReadies counts the master's "ready to handle connections": its start
// and each reload.
func phpfpmReadies(t *testing.T, ns *pkgNS) int {
	t.Helper()
	b, err := os.ReadFile(ns.Path(phpfpmLog))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "NOTICE: ready to handle connections")
}

// phpfpmNewPool: reload returns once the re-executed master is ready (its
// READY=1): it has logged "ready" once more and made the socket of a pool added
// before the reload, which answers; the www pool, whose socket the master
// inherited across the re-exec, answers on.
func phpfpmNewPool(t *testing.T, ns *pkgNS, _ Result) {
	const pool, socket = "/etc/php/8.2/fpm/pool.d/zz-svcwrap-test.conf", "/run/php/svcwrap-test.sock"
	ns.WriteFile(t, pool, "[svcwrap-test]\nuser = www-data\ngroup = www-data\nlisten = "+socket+
		"\nlisten.owner = www-data\nlisten.group = www-data\npm = static\npm.max_children = 1\n", 0o644)
	defer func() {
		if err := os.Remove(ns.Path(pool)); err != nil {
			t.Fatal(err)
		}
	}()
	before := phpfpmReadies(t, ns)
	wantCode(t, ns.Exec("/etc/init.d/php8.2-fpm", "reload"), 0)
	if n := phpfpmReadies(t, ns) - before; n != 1 {
		t.Errorf("reload returned after %d times ready, want 1", n)
	}
	if _, err := os.Stat(ns.Path(socket)); err != nil {
		t.Errorf("the new pool's socket right after reload: %v", err)
	}
	if err := phpfpmAnswers(ns, socket); err != nil {
		t.Errorf("the new pool right after reload: %v", err)
	}
	if err := phpfpmAnswers(ns, phpfpmSocket); err != nil {
		t.Errorf("the www pool after reload: %v", err)
	}
}

// phpfpmReopened: USR1 made the master reopen its error log; and Debian's
// logrotate helper, which signals the pid in php-fpm's own pidfile, still does.
func phpfpmReopened(t *testing.T, ns *pkgNS, _ Result) {
	reopened := func(what string) {
		eventually(t, 10*time.Second, what, func() (bool, string) {
			b, err := os.ReadFile(ns.Path(phpfpmLog))
			return strings.Contains(string(b), "error log file re-opened"), fmt.Sprintf("%q %v", b, err)
		})
	}
	reopened("reopen-logs to reopen " + phpfpmLog)
	if err := os.Rename(ns.Path(phpfpmLog), ns.Path(phpfpmLog+".1")); err != nil {
		t.Fatal(err)
	}
	if r := ns.Exec("/usr/lib/php/php8.2-fpm-reopenlogs"); r.Code != 0 || r.Err != nil {
		t.Errorf("Debian's logrotate helper: %s", r)
	}
	reopened("Debian's logrotate helper to make php-fpm reopen " + phpfpmLog)
}

// phpfpmAsDebianRunsIt: php-fpm's own pidfile names the master (as after the
// script's --daemonize), and the systemd unit's php-fpm.sock alternative leads
// to the pool.
func phpfpmAsDebianRunsIt(t *testing.T, ns *pkgNS, r Result) {
	// php-fpm's STATUS=: at READY=1, then its heartbeat every 10 s.
	if !strings.Contains(r.Stdout, `: "Ready to handle connections"`) && !strings.Contains(r.Stdout, `: "Processes active: `) {
		t.Errorf("status does not show php-fpm's STATUS=: %s", r)
	}
	pid := ns.Pid("/run/php8.2-fpm.pid")
	if own := ns.Pid("/run/php/php8.2-fpm.pid"); own != pid {
		t.Errorf("php-fpm's own pidfile says %d, the master is %d", own, pid)
	}
	if err := phpfpmAnswers(ns, "/run/php/php-fpm.sock"); err != nil {
		t.Errorf("through the php-fpm.sock alternative (POST_START): %v", err)
	}
}
