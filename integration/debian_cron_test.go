package integration_test

// examples/debian/cron: Debian's cron as /etc/init.d/cron. cron has no port and
// no client; what shows it runs, at once: it wrote its own /run/crond.pid with
// the PID of svcwrap's pidfile and holds that file's flock (a second cron would
// refuse to start), and it ran the test's @reboot job from /etc/cron.d when it
// started (cron runs @reboot jobs once per boot: not again for a respawn).

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const cronFired = "/run/svcwrap-cron.fired" // the @reboot job appends a line

// cronHoldsLock says whether pid has /run/crond.pid open with a flock on it
// (the fd's "lock:" line in /proc/PID/fdinfo).
func cronHoldsLock(pid int) error {
	fds, err := procFds(pid)
	if err != nil {
		return err
	}
	for fd, target := range fds {
		if target != "/run/crond.pid" {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
		if err != nil {
			return err
		}
		if strings.Contains(string(info), "FLOCK") {
			return nil
		}
		return fmt.Errorf("pid %d has /run/crond.pid open without a flock: %q", pid, info)
	}
	return fmt.Errorf("pid %d does not have /run/crond.pid open: %v", pid, fds)
}

func TestDebianCron(t *testing.T) {
	const pidfile = "/run/cron.pid"
	runDebianExample(t, debianExample{
		name: "cron", program: "/usr/sbin/cron", user: "root", pidfile: pidfile,
		defaults: []string{"EXTRA_OPTS='-L 15'"},
		setup: func(t *testing.T, ns *pkgNS) {
			// The host's jobs do not run in the namespace: its copy-on-write
			// /etc/crontab, /etc/cron.d and crontabs go (the host keeps them).
			old, _ := filepath.Glob(ns.Path("/etc/cron.d/*"))
			users, _ := filepath.Glob(ns.Path("/var/spool/cron/crontabs/*"))
			for _, p := range append(append(old, users...), ns.Path("/etc/crontab"), ns.Path("/run/crond.reboot")) {
				if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			ns.WriteFile(t, "/etc/cron.d/svcwrap-test", "@reboot root echo fired >> "+cronFired+"\n", 0o644)
			t.Cleanup(func() {
				// After the last stop: the respawns and the restart were
				// not a boot for cron (its /run/crond.reboot stayed), and
				// POST_STOP removed cron's pidfile.
				if t.Failed() {
					return
				}
				if lines := nsLines(ns, cronFired); len(lines) != 1 {
					t.Errorf("the @reboot job ran %d times, want once: %q", len(lines), lines)
				}
				if _, err := os.Stat(ns.Path("/run/crond.pid")); err == nil {
					t.Errorf("/run/crond.pid is still there after stop")
				}
			})
		},
		answers: func(ns *pkgNS) error {
			pid := ns.Pid(pidfile)
			if own := ns.Pid("/run/crond.pid"); own != pid || pid == 0 {
				return fmt.Errorf("/run/crond.pid says %d, %s %d", own, pidfile, pid)
			}
			return cronHoldsLock(pid)
		},
		verbs: []verbCheck{
			// The first cron ran the @reboot job of /etc/cron.d (reload, a
			// no-op, did not replace it), with EXTRA_OPTS.
			{args: []string{"status"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				eventually(t, 10*time.Second, "the @reboot job", func() (bool, string) {
					lines := nsLines(ns, cronFired)
					return len(lines) == 1 && lines[0] == "fired", fmt.Sprintf("%q", lines)
				})
				pid := ns.Pid(pidfile)
				if got, want := procCmdline(pid), "/usr/sbin/cron -f -L 15"; got != want {
					t.Errorf("cron runs %q, want %q", got, want)
				}
			}},
		},
		reloadKeepsPID: true,
	})
}
