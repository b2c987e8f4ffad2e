package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// innerEnv marks the benchmark process that runs under the subreaper.
const innerEnv = "SVCWRAP_BENCH_INNER"

// subreaper is the outer process: PID 1 here does not reap orphans, so the
// benchmark runs as the only child of a child subreaper that reaps every orphan
// (detached watchdogs, start-stop-daemon's backgrounded daemons) at once, so a
// dead process never lingers as a zombie that a peer would take for alive. When
// the benchmark exits, anything still parented here is a leftover: it is named,
// killed, and the run fails.
func subreaper() int {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "bench: PR_SET_CHILD_SUBREAPER: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), innerEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Interrupts go to the inner process, which cleans up.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	inner := cmd.Process.Pid
	code := 1
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: wait4: %v\n", err)
			return 1
		}
		if pid == inner {
			code = ws.ExitStatus()
			if ws.Signaled() {
				code = 128 + int(ws.Signal())
			}
			break
		}
	}
	if left := killLeftovers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "bench: %d leftover process(es) (killed):\n  %s\n", len(left), strings.Join(left, "\n  "))
		return 1
	}
	return code
}

// killLeftovers kills and reaps every process still parented to us.
func killLeftovers() []string {
	var left []string
	for round := 0; round < 10; round++ {
		kids := childrenOf(os.Getpid())
		if len(kids) == 0 {
			break
		}
		for _, k := range kids {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(k) + "/cmdline")
			st, _ := os.ReadFile("/proc/" + strconv.Itoa(k) + "/stat")
			zombie := strings.Contains(string(st), ") Z ")
			if !zombie {
				left = append(left, fmt.Sprintf("pid %d: %s", k, strings.ReplaceAll(strings.TrimRight(string(cmdline), "\x00"), "\x00", " ")))
				unix.Kill(k, unix.SIGKILL)
			}
			var ws unix.WaitStatus
			unix.Wait4(k, &ws, 0, nil)
		}
	}
	return left
}

// childrenOf lists the processes whose parent is ppid (a /proc scan: orphans
// reparented to a subreaper need not appear in the thread's children file).
func childrenOf(ppid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := readStat(pid)
		if err == nil && st.ppid == ppid {
			out = append(out, pid)
		}
	}
	return out
}
