package integration_test

// examples/debian/openvpn: one VPN of Debian's openvpn as /etc/init.d/openvpn.
// The test's VPN needs no tun device and no peer: "dev null", a static key, and
// its own UDP port as the remote, with pings, so that it connects to itself
// (CONNECTED,SUCCESS within a second or two). openvpn answers on its management
// port, whose state history also shows each signal that restarted the tunnel
// inside the same process.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

const (
	ovpnName = "svcwrap-test"   // VPN= in /etc/default/openvpn
	ovpnMgmt = "127.0.0.1:7505" // the management port of its config
)

// ovpnConfig is /etc/openvpn/svcwrap-test.conf; the key is relative to --cd.
const ovpnConfig = `dev null
proto udp
lport 1194
remote 127.0.0.1 1194
secret svcwrap-test.key
cipher AES-256-CBC
ping 1
management 127.0.0.1 7505
verb 3
`

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

// ovpnManage sends one command to openvpn's management interface, after its
// banner (a command sent before it may be lost), and returns the answer: up to
// its SUCCESS: or ERROR: line, or its END line, without the real-time ">"
// notifications. (openvpn drops the answer to a command followed at once by
// quit: the connection is closed instead.)
func ovpnManage(ns *pkgNS, cmd string) (string, error) {
	c, err := nsDial(ns, ovpnMgmt, 5*time.Second)
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

// ovpnState is the management's state history ("state all"), one state word
// with its reason per line: CONNECTED,SUCCESS, RECONNECTING,SIGHUP, ...
func ovpnState(ns *pkgNS) ([]string, error) {
	out, err := ovpnManage(ns, "state all")
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

// ovpnConnected waits until the tunnel is up (the last state is
// CONNECTED,SUCCESS) with the history holding between min and max restarts by
// reason (RECONNECTING,SIGHUP, ...).
func ovpnConnected(t *testing.T, ns *pkgNS, reason string, min, max int) {
	t.Helper()
	eventually(t, 20*time.Second, fmt.Sprintf("openvpn's state CONNECTED,SUCCESS after %d to %d %s", min, max, reason), func() (bool, string) {
		states, err := ovpnState(ns)
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

func TestDebianOpenVPN(t *testing.T) {
	const pidfile = "/run/openvpn.pid"
	runDebianExample(t, debianExample{
		name: "openvpn", program: "/usr/sbin/openvpn", user: "root", pidfile: pidfile, runDir: "/run/openvpn",
		// STATUSREFRESH=1: the status file is written within a second.
		defaults: []string{"VPN=" + ovpnName, "STATUSREFRESH=1", "OPTARGS=--mute-replay-warnings"},
		setup: func(t *testing.T, ns *pkgNS) {
			ns.WriteFile(t, "/etc/openvpn/"+ovpnName+".conf", ovpnConfig, 0o644)
			if r := ns.Exec("/usr/sbin/openvpn", "--genkey", "secret", "/etc/openvpn/"+ovpnName+".key"); r.Code != 0 || r.Err != nil {
				t.Fatalf("openvpn --genkey: %s", r)
			}
			t.Cleanup(func() {
				// After the last stop: POST_STOP removed the VPN's files.
				for _, f := range []string{"/run/openvpn/" + ovpnName + ".pid", "/run/openvpn/" + ovpnName + ".status"} {
					if _, err := os.Stat(ns.Path(f)); !t.Failed() && err == nil {
						t.Errorf("%s is still there after stop", f)
					}
				}
			})
		},
		// The daemon of the pidfile runs the VPN's config: its management port
		// answers with its own PID, and it runs start_vpn's command line.
		answers: func(ns *pkgNS) error {
			pid := ns.Pid(pidfile)
			out, err := ovpnManage(ns, "pid")
			if err != nil {
				return err
			}
			if !strings.Contains(out, fmt.Sprintf("SUCCESS: pid=%d\n", pid)) {
				return fmt.Errorf("management says %q; the pidfile %d", out, pid)
			}
			want := "/usr/sbin/openvpn --mute-replay-warnings --writepid /run/openvpn/" + ovpnName + ".pid --status /run/openvpn/" + ovpnName + ".status 1 --syslog ovpn-" + ovpnName + " --cd /etc/openvpn --config /etc/openvpn/" + ovpnName + ".conf"
			if got := procCmdline(pid); got != want {
				return fmt.Errorf("pid %d runs %q, want %q", pid, got, want)
			}
			if own := ns.Pid("/run/openvpn/" + ovpnName + ".pid"); own != pid {
				return fmt.Errorf("--writepid wrote %d, want %d", own, pid)
			}
			return nil
		},
		verbs: []verbCheck{
			// reload and force-reload ran before: the same process restarted
			// its tunnel on SIGHUP (the history is the process's own), and it
			// connects again. Two SIGHUPs, or one: the second may come during
			// the first's restart, when openvpn may lose it, and so would
			// soft-restart's signal, hence this wait. The status file is
			// written every second (STATUSREFRESH=1).
			{args: []string{"status"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				ovpnConnected(t, ns, "RECONNECTING,SIGHUP", 1, 2)
				eventually(t, 10*time.Second, "the status file", func() (bool, string) {
					b, err := os.ReadFile(ns.Path("/run/openvpn/" + ovpnName + ".status"))
					return strings.HasPrefix(string(b), "OpenVPN STATISTICS"), fmt.Sprintf("%q %v", b, err)
				})
			}},
			{args: []string{"soft-restart"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				ovpnConnected(t, ns, "RECONNECTING,SIGUSR1", 1, 1)
			}},
			// cond-restart: a new process, whose history starts afresh.
			{args: []string{"cond-restart"}, code: 0, check: func(t *testing.T, ns *pkgNS, r Result) {
				ovpnConnected(t, ns, "RECONNECTING,SIGUSR1", 0, 0)
			}},
		},
		reloadKeepsPID: true,
	})
}
