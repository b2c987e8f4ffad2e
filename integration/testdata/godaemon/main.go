// Command godaemon daemonizes itself with github.com/sevlyar/go-daemon v0.1.6
// the way a watchdog would, so that godaemon_test.go can show the defects that
// make svcwrap daemonize with os/exec instead (docs/design.md, "Why not go-daemon").
//
// Usage: godaemon DIR
//
//	parent:     Reborn; print "reborn returned child=PID" and exit 0.
//	child:      (reborn, go-daemon's pidfile DIR/gd.pid) connect to the unix
//	            stream socket DIR/gate.sock the test listens on, send
//	            "waiting PID", and block until the test sends a line: this is
//	            the child's initialisation, which the parent cannot wait for.
//	            Then start a grandchild exactly as a watchdog starts a daemon
//	            with os/exec (environment from os.Environ(), no ExtraFiles),
//	            send "grandchild PID", and live until the connection closes.
//	grandchild: godaemon grandchild: live until killed.

//go:debug containermaxprocs=0
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	daemon "github.com/sevlyar/go-daemon"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: godaemon DIR | godaemon grandchild")
		os.Exit(2)
	}
	if os.Args[1] == "grandchild" {
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		<-c
		return
	}
	dir := os.Args[1]
	ctx := &daemon.Context{
		PidFileName: filepath.Join(dir, "gd.pid"),
		PidFilePerm: 0o644,
		WorkDir:     "/",
		Args:        os.Args,
	}
	child, err := ctx.Reborn()
	if err != nil {
		// In the child this goes to go-daemon's /dev/null.
		fmt.Fprintf(os.Stderr, "godaemon: reborn: %v\n", err)
		os.Exit(1)
	}
	if child != nil {
		fmt.Printf("reborn returned child=%d\n", child.Pid)
		os.Exit(0)
	}
	code := runChild(dir)
	ctx.Release()
	os.Exit(code)
}

func runChild(dir string) int {
	conn, err := net.DialTimeout("unix", filepath.Join(dir, "gate.sock"), 10*time.Second)
	if err != nil {
		return 1
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(conn, "waiting %d\n", os.Getpid())
	r := bufio.NewReader(conn)
	if _, err := r.ReadString('\n'); err != nil {
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	gc := exec.Command(exe, "grandchild")
	if err := gc.Start(); err != nil {
		fmt.Fprintf(conn, "error %v\n", err)
		return 1
	}
	fmt.Fprintf(conn, "grandchild %d\n", gc.Process.Pid)
	r.ReadString('\n') // until the test closes the connection or kills us
	gc.Process.Kill()
	gc.Wait()
	return 0
}
