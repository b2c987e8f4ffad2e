package watchdog

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"svcwrap/definition"
	"svcwrap/proc"
	"svcwrap/protocol"

	"golang.org/x/sys/unix"
)

// listenAll binds LISTEN's sockets, as root and before any daemon runs (a port
// below 1024 works for a USER daemon). The watchdog keeps them for its life;
// every spawn gets them as fds 3 and up, so a connection that arrives while no
// daemon runs waits in the backlog for the next one.
func listenAll(ls []definition.Listen) ([]*os.File, error) {
	var files []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		for _, l := range ls[:len(files)] {
			if l.Kind == "unix" {
				os.Remove(l.Addr) // ours: bound above (never another process's socket)
			}
		}
		return nil, err
	}
	for _, l := range ls {
		f, err := listenOne(l)
		if err != nil {
			return fail(fmt.Errorf("LISTEN %s %s: %w", l.Kind, l.Addr, err))
		}
		// O_NONBLOCK belongs to the socket, shared with every daemon that has
		// it, and a File made non-blocking puts it back in blocking mode at
		// every Fd() (os/exec calls it on ExtraFiles at each spawn): that would
		// turn the socket blocking under a daemon serving on it (a Go daemon
		// then hangs in accept(2) and cannot close its listener). So the
		// watchdog keeps a File made from a blocking descriptor: Fd() is then a
		// no-op, and each daemon sets the mode it wants, untouched.
		raw, err := unix.Dup(int(f.Fd()))
		f.Close()
		if err != nil {
			return fail(fmt.Errorf("LISTEN %s %s: %w", l.Kind, l.Addr, err))
		}
		unix.CloseOnExec(raw)
		files = append(files, os.NewFile(uintptr(raw), l.Kind+":"+l.Addr))
	}
	return files, nil
}

func listenOne(l definition.Listen) (*os.File, error) {
	lc := net.ListenConfig{}
	if l.Kind == "tcp" {
		// tcp4 or tcp6 by the address: [::]:80 is IPv6 only (Go sets
		// IPV6_V6ONLY for tcp6), as nginx's own `listen [::]:80` and Debian's
		// default site expect, so that 0.0.0.0:80 can be bound too.
		network := "tcp4"
		if host, _, _ := net.SplitHostPort(l.Addr); strings.Contains(host, ":") {
			network = "tcp6"
		}
		ln, err := lc.Listen(context.Background(), network, l.Addr)
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, inUse(l.Addr, err)
			}
			return nil, err
		}
		defer ln.Close() // the File is a dup: the socket stays open
		return ln.(*net.TCPListener).File()
	}
	if fi, err := os.Lstat(l.Addr); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, errors.New("exists and is not a socket; remove it or choose another path")
		}
		if c, err := net.Dial("unix", l.Addr); err == nil {
			c.Close()
			return nil, errors.New("another process listens on it")
		}
		os.Remove(l.Addr) // a stale socket of a crash
	}
	ln, err := lc.Listen(context.Background(), "unix", l.Addr)
	if err != nil {
		return nil, err
	}
	ul := ln.(*net.UnixListener)
	ul.SetUnlinkOnClose(false)
	defer ul.Close()
	if l.Mode != 0 {
		if err := os.Chmod(l.Addr, l.Mode); err != nil {
			return nil, err
		}
	}
	if l.Owner != "" || l.Group != "" {
		uid, gid := -1, -1
		if l.Owner != "" {
			u, err := user.Lookup(l.Owner)
			if err != nil {
				return nil, fmt.Errorf("owner %s: %w", l.Owner, err)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
		if l.Group != "" {
			g, err := user.LookupGroup(l.Group)
			if err != nil {
				return nil, fmt.Errorf("group %s: %w", l.Group, err)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		if err := os.Lchown(l.Addr, uid, gid); err != nil {
			return nil, err
		}
	}
	return ul.File()
}

// inUse names the process that listens on addr's port, when /proc shows it.
func inUse(addr string, err error) error {
	_, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	if pid := proc.TCPListener(n); pid > 0 {
		exe, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
		return fmt.Errorf("address already in use, by pid %d (%s)", pid, exe)
	}
	return err
}

// listenEnv is what tells the daemon about its sockets: systemd's LISTEN_FDS and
// LISTEN_FDNAMES (LISTEN_PID is set by the exec shim, which knows the PID), or
// nginx's NGINX="3;4;".
func listenEnv(d *definition.Definition) []string {
	if d.ListenNginx {
		var b strings.Builder
		for i := range d.Listen {
			fmt.Fprintf(&b, "%d;", 3+i)
		}
		return []string{"NGINX=" + b.String()}
	}
	names := make([]string, len(d.Listen))
	for i, l := range d.Listen {
		names[i] = l.Name()
	}
	return []string{"LISTEN_FDS=" + strconv.Itoa(len(d.Listen)), "LISTEN_FDNAMES=" + strings.Join(names, ":")}
}

// Exec is the shim between the watchdog's fork and the daemon's exec
// (`svcwrap __exec PATH ARGV...`), for what only the daemon's own process can
// know: LISTEN_PID is its PID (sd_listen_fds(3) checks it). It touches no fd,
// and replaces itself with the daemon: same PID, same start time.
func Exec(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: svcwrap "+protocol.ExecArg+" PATH ARGV0 ARGS...")
		return 2
	}
	env := append(os.Environ(), "LISTEN_PID="+strconv.Itoa(os.Getpid()))
	err := syscall.Exec(args[0], args[1:], env)
	fmt.Fprintf(os.Stderr, "svcwrap: exec %s: %v\n", args[0], err)
	return 127
}
