// Command floor gives `make bench` its floors. Without arguments it exits at once:
// the exec floor of a trivial Go binary. With `spawn PROGRAM ARGS...` it is the
// minimal Go program that forks and execs a daemon once: it prints the wall-clock
// time (Unix nanoseconds) taken just before the fork, then waits for the child.
// With `notify SOCKET PROGRAM ARGS...` it is the minimal sd_notify(3) service
// manager: it binds a datagram socket at SOCKET, forks and execs the daemon with
// NOTIFY_SOCKET=SOCKET, prints the time before the fork, blocks in recvfrom until
// a datagram with a READY=1 line, prints the time then, and waits for the child.
package main

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		return
	}
	switch os.Args[1] {
	case "spawn":
		cmd := &exec.Cmd{Path: os.Args[2], Args: os.Args[2:], SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
		t := time.Now().UnixNano()
		start(cmd)
		os.Stdout.WriteString(strconv.FormatInt(t, 10) + "\n")
		cmd.Wait()
	case "notify":
		if len(os.Args) < 4 {
			fail("usage: floor notify SOCKET PROGRAM ARGS...")
		}
		sock := os.Args[2]
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			fail(err.Error())
		}
		os.Remove(sock)
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
			fail("bind " + sock + ": " + err.Error())
		}
		cmd := &exec.Cmd{Path: os.Args[3], Args: os.Args[3:], Env: append(os.Environ(), "NOTIFY_SOCKET="+sock),
			SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
		t := time.Now().UnixNano()
		start(cmd)
		buf := make([]byte, 4096)
		for {
			n, _, err := syscall.Recvfrom(fd, buf, 0)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				cmd.Process.Kill()
				fail("recvfrom: " + err.Error())
			}
			if ready(buf[:n]) {
				break
			}
		}
		r := time.Now().UnixNano()
		os.Stdout.WriteString(strconv.FormatInt(t, 10) + "\n" + strconv.FormatInt(r, 10) + "\n")
		syscall.Close(fd)
		os.Remove(sock)
		cmd.Wait()
	}
}

func start(cmd *exec.Cmd) {
	if err := cmd.Start(); err != nil {
		fail(err.Error())
	}
}

// ready: the datagram has a line READY=1.
func ready(b []byte) bool {
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		if string(l) == "READY=1" {
			return true
		}
	}
	return false
}

func fail(msg string) {
	os.Stderr.WriteString("floor: " + msg + "\n")
	os.Exit(1)
}
