package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
)

// The -load values.
const (
	loadQuiet = "quiet"
	loadBusy  = "busy"
	loadBoth  = "both"
)

// hogEnv marks a CPU hog: this program re-executed to spin (bench -load busy).
const hogEnv = "SVCWRAP_BENCH_HOG"

// hog says it runs by writing one byte to stdout, then spins for ever; the bench
// kills it. A busy loop is the simplest stand-in for a machine whose CPUs are
// taken by other work (compilers, tests): a command must wait for a CPU, and no
// CPU sleeps between two of its steps.
func hog() {
	os.Stdout.Write([]byte{'h'})
	os.Stdout.Close()
	for {
	}
}

type hogs struct{ cmds []*exec.Cmd }

// startHogs starts n hogs at the default priority and returns once each one runs.
func startHogs(n int) (*hogs, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	h := &hogs{}
	for i := 0; i < n; i++ {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), hogEnv+"=1", "GOMAXPROCS=1")
		out, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			h.stop()
			return nil, fmt.Errorf("CPU hog: %v", err)
		}
		h.cmds = append(h.cmds, cmd)
		var b [1]byte
		if _, err := io.ReadFull(out, b[:]); err != nil {
			h.stop()
			return nil, fmt.Errorf("CPU hog %d did not start: %v", cmd.Process.Pid, err)
		}
	}
	return h, nil
}

// stop kills and reaps every hog.
func (h *hogs) stop() {
	for _, c := range h.cmds {
		c.Process.Kill()
		c.Wait()
	}
	h.cmds = nil
}
