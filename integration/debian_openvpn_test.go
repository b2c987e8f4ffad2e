package integration_test

// examples/debian/openvpn: Debian's openvpn script as a template, one instance
// openvpn@NAME per /etc/openvpn/NAME.conf, as /etc/init.d/openvpn. The test's
// two VPNs need no tun device and no peer: "dev null", a static key, and each
// its own UDP port as the remote, with pings, so that each connects to itself
// (CONNECTED,SUCCESS within a second or two). Each openvpn answers on its own
// management port, whose state history also shows each signal that restarted
// the tunnel inside the same process.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ovpnVPN is one VPN of the test: /etc/openvpn/NAME.conf.
type ovpnVPN struct {
	name string
	port int    // its UDP port, and its remote
	mgmt string // its management port
}

var (
	ovpnOffice = ovpnVPN{"office", 1194, "127.0.0.1:7505"}
	ovpnHome   = ovpnVPN{"home", 1195, "127.0.0.1:7506"}
)

// config is /etc/openvpn/NAME.conf; the key is relative to --cd.
func (v ovpnVPN) config() string {
	return fmt.Sprintf(`dev null
proto udp
lport %d
remote 127.0.0.1 %d
secret %s.key
cipher AES-256-CBC
ping 1
management %s
verb 3
`, v.port, v.port, v.name, strings.Replace(v.mgmt, ":", " ", 1))
}

// pidfile is svcwrap's pidfile of the instance openvpn@NAME.
func (v ovpnVPN) pidfile() string { return "/run/openvpn@" + v.name + ".pid" }

// cmdline is start_vpn's command line for the VPN, in the foreground, with the
// test's OPTARGS and STATUSREFRESH.
func (v ovpnVPN) cmdline() string {
	n := v.name
	return "/usr/sbin/openvpn --mute-replay-warnings --writepid /run/openvpn/" + n + ".pid --status /run/openvpn/" + n +
		".status 1 --syslog ovpn-" + n + " --cd /etc/openvpn --config /etc/openvpn/" + n + ".conf"
}

// nsDial connects to addr from inside the namespace's network namespace: the
// dialling goroutine's thread enters it and is never unlocked, so Go ends
// that thread with the goroutine.
func nsDial(ns *pkgNS, addr string, timeout time.Duration) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/net", ns.pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			ch <- result{nil, fmt.Errorf("setns: %v", err)}
			return
		}
		c, err := net.DialTimeout("tcp", addr, timeout)
		ch <- result{c, err}
	}()
	r := <-ch
	return r.c, r.err
}

// ovpnManage sends one command to the management interface at addr, after its
// banner (a command sent before it may be lost), and returns the answer: up to
// its SUCCESS: or ERROR: line, or its END line, without the real-time ">"
// notifications. (openvpn drops the answer to a command followed at once by
// quit: the connection is closed instead.)
func ovpnManage(ns *pkgNS, addr, cmd string) (string, error) {
	c, err := nsDial(ns, addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(c)
	banner, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(banner, "OpenVPN Management Interface") {
		return "", fmt.Errorf("management banner %q: %v", banner, err)
	}
	if _, err := fmt.Fprint(c, cmd+"\n"); err != nil {
		return "", err
	}
	var out strings.Builder
	for {
		l, err := rd.ReadString('\n')
		if err != nil {
			return out.String(), fmt.Errorf("%s: %v after %q", cmd, err, out.String())
		}
		l = strings.TrimRight(l, "\r\n")
		if strings.HasPrefix(l, ">") {
			continue
		}
		out.WriteString(l + "\n")
		if l == "END" || strings.HasPrefix(l, "SUCCESS:") || strings.HasPrefix(l, "ERROR:") {
			return out.String(), nil
		}
	}
}

// ovpnState is the state history of the VPN's openvpn ("state all"), one state
// word with its reason per line: CONNECTED,SUCCESS, RECONNECTING,SIGHUP, ...
func ovpnState(ns *pkgNS, v ovpnVPN) ([]string, error) {
	out, err := ovpnManage(ns, v.mgmt, "state all")
	if err != nil {
		return nil, err
	}
	var states []string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, ","); len(f) >= 3 {
			states = append(states, f[1]+","+f[2])
		}
	}
	return states, nil
}

// ovpnConnected waits until the VPN's tunnel is up (the last state is
// CONNECTED,SUCCESS) with the history holding between min and max restarts by
// reason (RECONNECTING,SIGHUP, ...).
func ovpnConnected(t *testing.T, ns *pkgNS, v ovpnVPN, reason string, min, max int) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("%s's state CONNECTED,SUCCESS after %d to %d %s", v.name, min, max, reason), func() (bool, string) {
		states, err := ovpnState(ns, v)
		n := countOf(states, reason)
		return err == nil && len(states) > 0 && states[len(states)-1] == "CONNECTED,SUCCESS" && n >= min && n <= max,
			fmt.Sprint(states, err)
	})
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// ovpnAnswers checks that the daemon of the VPN's pidfile runs the VPN's config:
// start_vpn's command line, --writepid wrote its PID, and its management port
// answers with that PID.
func ovpnAnswers(ns *pkgNS, v ovpnVPN) error {
	pid := ns.Pid(v.pidfile())
	if pid == 0 || !alive(pid) {
		return fmt.Errorf("%s: no live daemon (pid %d)", v.pidfile(), pid)
	}
	if got := procCmdline(pid); got != v.cmdline() {
		return fmt.Errorf("pid %d runs %q, want %q", pid, got, v.cmdline())
	}
	if own := ns.Pid("/run/openvpn/" + v.name + ".pid"); own != pid {
		return fmt.Errorf("--writepid wrote %d, want %d", own, pid)
	}
	out, err := ovpnManage(ns, v.mgmt, "pid")
	if err != nil {
		return err
	}
	if !strings.Contains(out, fmt.Sprintf("SUCCESS: pid=%d\n", pid)) {
		return fmt.Errorf("%s's management says %q; the pidfile %d", v.name, out, pid)
	}
	return nil
}

// ovpnUp waits (there is no READY) until the VPN's openvpn answers, and
// returns its PID, checked to run as root.
func ovpnUp(t *testing.T, ns *pkgNS, v ovpnVPN) int {
	t.Helper()
	eventually(t, 20*time.Second, "openvpn@"+v.name+" to answer", func() (bool, string) {
		err := ovpnAnswers(ns, v)
		return err == nil, fmt.Sprint(err)
	})
	return runningAs(t, ns, v.pidfile(), "/usr/sbin/openvpn", "root")
}

// ovpnUntouched fails unless the VPN's openvpn is still pid, from /proc: alive,
// named by its pidfile, running its own config.
func ovpnUntouched(t *testing.T, ns *pkgNS, v ovpnVPN, pid int, when string) {
	t.Helper()
	if got := ns.Pid(v.pidfile()); got != pid || !alive(pid) || procCmdline(pid) != v.cmdline() {
		t.Errorf("%s: openvpn@%s changed: pidfile %d (%q), was %d (alive %v)", when, v.name, got, procCmdline(got), pid, alive(pid))
	}
}

// ovpnProcs fails unless the namespace's openvpn processes are exactly pids.
func ovpnProcs(t *testing.T, ns *pkgNS, when string, pids ...int) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("openvpn processes %v %s", pids, when), func() (bool, string) {
		got := nsProcs(ns, "/usr/sbin/openvpn")
		slices.Sort(got)
		want := slices.Clone(pids)
		slices.Sort(want)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
}

func TestDebianOpenVPN(t *testing.T) {
	requireRoot(t, "runs openvpn from its Debian package as /etc/init.d/openvpn in a private mount and network namespace")
	x := debianExample{
		name: "openvpn", program: "/usr/sbin/openvpn",
		// STATUSREFRESH=1: the status files are written within a second.
		defaults: []string{"STATUSREFRESH=1", "OPTARGS=--mute-replay-warnings"},
		setup: func(t *testing.T, ns *pkgNS) {
			for _, v := range []ovpnVPN{ovpnOffice, ovpnHome} {
				ns.WriteFile(t, "/etc/openvpn/"+v.name+".conf", v.config(), 0o644)
				if r := ns.Exec("/usr/sbin/openvpn", "--genkey", "secret", "/etc/openvpn/"+v.name+".key"); r.Code != 0 || r.Err != nil {
					t.Fatalf("openvpn --genkey: %s", r)
				}
				t.Cleanup(func() {
					// After the last stop: POST_STOP removed the VPN's files.
					for _, f := range []string{"/run/openvpn/" + v.name + ".pid", "/run/openvpn/" + v.name + ".status"} {
						if _, err := os.Stat(ns.Path(f)); !t.Failed() && err == nil {
							t.Errorf("%s is still there after stop", f)
						}
					}
				})
			}
		},
	}
	if _, err := os.Stat(x.program); err != nil {
		t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it): %v", x.program, err)
	}
	ns := debianNS(t, newEnv(t))
	script := installDebianExample(t, ns, x)
	office, home := ovpnOffice, ovpnHome

	// The bare start starts every /etc/openvpn/*.conf (AUTOSTART unset: all),
	// each its own openvpn with its own pidfiles and config.
	r := ns.Exec(script, "start")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "openvpn@office") || !strings.Contains(r.Stdout, "openvpn@home") {
		t.Errorf("start: a line for each VPN: %s", r)
	}
	officePid, homePid := ovpnUp(t, ns, office), ovpnUp(t, ns, home)
	if officePid == homePid {
		t.Fatalf("one openvpn for two VPNs: %d", officePid)
	}
	ovpnProcs(t, ns, "after start", officePid, homePid)
	wantCode(t, ns.Exec(script, "start"), 0) // both running already
	ovpnUntouched(t, ns, office, officePid, "a second start")
	ovpnUntouched(t, ns, home, homePid, "a second start")
	if r := ns.Exec(script, "status"); r.Code != 0 ||
		!strings.Contains(r.Stdout, fmt.Sprintf("openvpn@office: running (pid %d", officePid)) ||
		!strings.Contains(r.Stdout, fmt.Sprintf("openvpn@home: running (pid %d", homePid)) {
		t.Errorf("status of two running VPNs: %s", r)
	}

	// reload and force-reload: SIGHUP to every running VPN; each openvpn
	// restarts its tunnel inside the same process (the history is the
	// process's own) and connects again. Two SIGHUPs, or one: the second may
	// come during the first's restart, when openvpn may lose it, and so would
	// soft-restart's signal, hence this wait. The status files are written
	// every second (STATUSREFRESH=1).
	wantCode(t, ns.Exec(script, "reload"), 0)
	wantCode(t, ns.Exec(script, "force-reload"), 0)
	for v, pid := range map[ovpnVPN]int{office: officePid, home: homePid} {
		ovpnUntouched(t, ns, v, pid, "reload")
		ovpnConnected(t, ns, v, "RECONNECTING,SIGHUP", 1, 2)
		eventually(t, 10*time.Second, v.name+"'s status file", func() (bool, string) {
			b, err := os.ReadFile(ns.Path("/run/openvpn/" + v.name + ".status"))
			return strings.HasPrefix(string(b), "OpenVPN STATISTICS"), fmt.Sprintf("%q %v", b, err)
		})
	}

	// soft-restart and cond-restart act on one VPN: through a link
	// /etc/init.d/openvpn@office; the bare template says how.
	if r := ns.Exec(script, "soft-restart"); r.Code != 2 || !strings.Contains(r.Stderr, "openvpn@INSTANCE soft-restart") {
		t.Errorf("soft-restart of the bare template: %s; want exit 2 and the way to name a VPN", r)
	}
	if err := os.Symlink("openvpn", ns.Path("/etc/init.d/openvpn@office")); err != nil {
		t.Fatal(err)
	}
	link := "/etc/init.d/openvpn@office"
	wantCode(t, ns.Exec(link, "status"), 0)
	wantCode(t, ns.Exec(link, "soft-restart"), 0)
	ovpnConnected(t, ns, office, "RECONNECTING,SIGUSR1", 1, 1)
	ovpnUntouched(t, ns, office, officePid, "soft-restart")
	ovpnConnected(t, ns, home, "RECONNECTING,SIGUSR1", 0, 0) // home got no USR1
	// cond-restart: a new process, whose history starts afresh; home runs on.
	wantCode(t, ns.Exec(link, "cond-restart"), 0)
	waitExit(t, officePid, 30*time.Second)
	officePid = ovpnUp(t, ns, office)
	ovpnConnected(t, ns, office, "RECONNECTING,SIGUSR1", 0, 0)
	ovpnUntouched(t, ns, home, homePid, "office's cond-restart")
	if r := ns.Exec(script, "help"); r.Code != 0 || !strings.Contains(r.Stdout, "Usage: "+script+" {") {
		t.Errorf("help: %s", r)
	}

	// kill -9 of one VPN's openvpn: its watchdog starts it again; the other
	// VPN's openvpn is the same process.
	killAndRespawn(t, ns, office.pidfile(), x.program, "root", func() error { return ovpnAnswers(ns, office) })
	officePid = ns.Pid(office.pidfile())
	ovpnUntouched(t, ns, home, homePid, "office's kill -9")
	ovpnProcs(t, ns, "after office's respawn", officePid, homePid)
	// /run/openvpn gone, as after a reboot cleared /run: home's respawn makes
	// it again (DIRS before every spawn); office, which runs on, writes its
	// files there again at its restart below.
	if err := os.RemoveAll(ns.Path("/run/openvpn")); err != nil {
		t.Fatal(err)
	}
	killAndRespawn(t, ns, home.pidfile(), x.program, "root", func() error { return ovpnAnswers(ns, home) })
	homePid = ns.Pid(home.pidfile())
	if fi, err := os.Stat(ns.Path("/run/openvpn")); err != nil || !fi.IsDir() {
		t.Errorf("/run/openvpn was not made again: %v", err)
	}
	if got := ns.Pid(office.pidfile()); got != officePid || !alive(officePid) {
		t.Errorf("home's kill -9 changed office: %d, was %d", got, officePid)
	}

	// The bare restart: both, new processes.
	wantCode(t, ns.Exec(script, "restart"), 0)
	waitExit(t, officePid, 30*time.Second)
	waitExit(t, homePid, 30*time.Second)
	officePid, homePid = ovpnUp(t, ns, office), ovpnUp(t, ns, home)
	ovpnProcs(t, ns, "after restart", officePid, homePid)

	// Debian's form: stop one VPN by name; the other runs on, and the bare
	// status says "partly" (1).
	wantCode(t, ns.Exec(script, "stop", "office"), 0)
	waitExit(t, officePid, 30*time.Second)
	ovpnUntouched(t, ns, home, homePid, "stop office")
	ovpnProcs(t, ns, "after stop office", homePid)
	wantCode(t, ns.Exec(script, "status"), 1)
	wantCode(t, ns.Exec(script, "status", "office"), 3)
	wantCode(t, ns.Exec(script, "status", "home"), 0)
	wantCode(t, ns.Exec(link, "status"), 3)
	// ... and start it again by name, or through its link.
	wantCode(t, ns.Exec(script, "start", "office"), 0)
	officePid = ovpnUp(t, ns, office)
	wantCode(t, ns.Exec(link, "stop"), 0)
	waitExit(t, officePid, 30*time.Second)
	wantCode(t, ns.Exec(link, "start"), 0)
	officePid = ovpnUp(t, ns, office)
	ovpnUntouched(t, ns, home, homePid, "office's stop and start")
	wantCode(t, ns.Exec(script, "status"), 0)
	// A VPN without its config fails, as the script's "No such VPN".
	if r := ns.Exec(script, "start", "nosuch"); r.Code != 1 || !strings.Contains(r.Output(), "No such VPN") {
		t.Errorf("start nosuch: %s; want exit 1, No such VPN", r)
	}

	// The bare stop: every running VPN.
	wantCode(t, ns.Exec(script, "stop"), 0)
	waitExit(t, officePid, 30*time.Second)
	waitExit(t, homePid, 30*time.Second)
	ovpnProcs(t, ns, "after stop")
	wantCode(t, ns.Exec(script, "status"), 3)
	if _, err := ovpnManage(ns, office.mgmt, "pid"); err == nil {
		t.Error("office still answers after stop")
	}

	// AUTOSTART="home" in /etc/default/openvpn: the bare start starts home
	// alone, and the bare status counts what it selects and what runs.
	def, err := os.ReadFile(ns.Path("/etc/default/openvpn"))
	if err != nil {
		t.Fatal(err)
	}
	ns.WriteFile(t, "/etc/default/openvpn", string(def)+"AUTOSTART=home\n", 0o644)
	r = ns.Exec(script, "start")
	wantCode(t, r, 0)
	if strings.Contains(r.Output(), "office") {
		t.Errorf("AUTOSTART=home: start acted on office: %s", r)
	}
	homePid = ovpnUp(t, ns, home)
	ovpnProcs(t, ns, "with AUTOSTART=home", homePid)
	if _, err := os.Stat(ns.Path(office.pidfile())); err == nil {
		t.Errorf("AUTOSTART=home: %s exists", office.pidfile())
	}
	wantCode(t, ns.Exec(script, "status"), 0)
	wantCode(t, ns.Exec(script, "start", "office"), 0) // by name: AUTOSTART does not matter
	officePid = ovpnUp(t, ns, office)
	wantCode(t, ns.Exec(script, "status"), 0)
	wantCode(t, ns.Exec(script, "stop"), 0) // home, and office, which runs
	waitExit(t, officePid, 30*time.Second)
	waitExit(t, homePid, 30*time.Second)
	ovpnProcs(t, ns, "after stop with AUTOSTART=home")

	// AUTOSTART=none: the bare start starts nothing.
	ns.WriteFile(t, "/etc/default/openvpn", string(def)+"AUTOSTART=none\n", 0o644)
	wantCode(t, ns.Exec(script, "start"), 0)
	ovpnProcs(t, ns, "with AUTOSTART=none")
	wantCode(t, ns.Exec(script, "status"), 3)
}
