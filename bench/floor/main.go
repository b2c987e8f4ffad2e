// Command floor gives `make bench` its floors. Without arguments it exits at once:
// the exec floor of a trivial Go binary. With `spawn PROGRAM ARGS...` it is the
// minimal Go program that forks and execs a daemon once: it prints the wall-clock
// time (Unix nanoseconds) taken just before the fork, then waits for the child.
package main

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 3 || os.Args[1] != "spawn" {
		return
	}
	cmd := &exec.Cmd{Path: os.Args[2], Args: os.Args[2:], SysProcAttr: &syscall.SysProcAttr{Setpgid: true}}
	t := time.Now().UnixNano()
	if err := cmd.Start(); err != nil {
		os.Stderr.WriteString("floor: " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString(strconv.FormatInt(t, 10) + "\n")
	cmd.Wait()
}
