package boot

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// InitOptions are svcwrap init's.
type InitOptions struct {
	Options                        // Runlevel is the boot's; Timeout bounds each script
	ShutdownRunlevel string        // whose K links the shutdown runs ("0")
	ShutdownTimeout  time.Duration // bound of the whole shutdown, the leftovers' end included
	Cmd              []string      // the main process, or none
	Err              io.Writer
}

// Init is svcwrap as PID 1 (or, elsewhere, as a child subreaper): it reaps every
// orphan, boots, runs Cmd if any, and on SIGTERM, SIGINT or SIGPWR (or Cmd's
// exit) shuts down within ShutdownTimeout, then ends what is left (as PID 1:
// every process of its PID namespace, SIGTERM then SIGKILL). It returns Cmd's
// exit code (128+N for a signal N), else the number of services that failed to
// stop.
func Init(o InitOptions) int {
	pid1 := os.Getpid() == 1
	if !pid1 {
		// Orphans of what it starts come to it, as they would to PID 1.
		unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
	}
	reaper := NewReaper()
	o.Spawner = reaper
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT, syscall.SIGPWR)
	logf := func(format string, args ...any) { fmt.Fprintf(o.Out, "init: "+format+"\n", args...) }

	bootCtx, cancelBoot := context.WithCancel(context.Background())
	var got os.Signal
	bootDone := make(chan Result, 1)
	go func() {
		res, err := Boot(bootCtx, o.Options)
		if err != nil {
			logf("boot: %v", err)
		}
		bootDone <- res
	}()
	var booted Result
	select {
	case booted = <-bootDone:
	case got = <-sigc:
		logf("%v during boot: no more starts", got)
		cancelBoot()
		booted = <-bootDone // each start is bounded by --timeout
	}
	cancelBoot()

	code, haveCmd := 0, len(o.Cmd) > 0
	var cmdPid int
	var cmdDone <-chan unix.WaitStatus
	if haveCmd && got == nil {
		env := o.Env
		files := []*os.File{os.Stdin, os.Stdout, os.Stderr}
		path := o.Cmd[0]
		if p, err := lookPath(path, env); err == nil {
			path = p
		}
		var err error
		cmdPid, cmdDone, err = reaper.Start(append([]string{path}, o.Cmd[1:]...), env, files, false)
		if err != nil {
			fmt.Fprintf(o.Err, "svcwrap: init: cannot run %s: %v\n", o.Cmd[0], err)
			code, haveCmd = 127, false
		} else {
			logf("main process %s (pid %d)", o.Cmd[0], cmdPid)
		}
	} else if haveCmd {
		code, haveCmd = 128+int(got.(syscall.Signal)), false
	}
	var cmdWS *unix.WaitStatus
	if got == nil {
		if cmdDone != nil {
			select {
			case ws := <-cmdDone:
				cmdWS = &ws
				logf("main process exited: %s", describe(ws))
			case got = <-sigc:
			}
		} else if !haveCmd && code == 0 {
			got = <-sigc
		}
	}
	if got != nil {
		logf("%v: shutting down", got)
		if cmdPid != 0 && cmdWS == nil {
			unix.Kill(cmdPid, got.(syscall.Signal))
		}
	}
	// Signals during the shutdown are taken: it is bounded.
	go func() {
		for range sigc {
		}
	}()

	deadline := time.Now().Add(o.ShutdownTimeout)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	so := o.Options
	so.Runlevel = o.ShutdownRunlevel
	so.Also = booted.Links
	res, err := Shutdown(ctx, so)
	if err != nil {
		logf("shutdown: %v", err)
	}
	failedStops := len(res.Failed)

	// What is left: the main process, daemons no script stopped, orphans.
	if cmdPid != 0 && cmdWS == nil {
		select {
		case ws := <-cmdDone:
			cmdWS = &ws
		case <-time.After(time.Until(deadline)):
		}
	}
	if pid1 {
		endAll(reaper, deadline, logf)
	}
	if cmdPid != 0 && cmdWS == nil {
		select {
		case ws := <-cmdDone:
			cmdWS = &ws
		case <-time.After(time.Second):
		}
	}
	logf("done: %d orphan%s reaped, %d service%s failed to stop", reaper.Orphans(), plural(reaper.Orphans()), failedStops, plural(failedStops))
	switch {
	case cmdWS != nil:
		return exitCode(*cmdWS)
	case code != 0:
		return code
	}
	return min(failedStops, 255)
}

// endAll sends SIGTERM to every other process of the PID namespace, waits for
// them until the deadline (at least a second), then SIGKILL.
func endAll(r *Reaper, deadline time.Time, logf func(string, ...any)) {
	if r.WaitNoChildren(time.Now()) {
		return
	}
	unix.Kill(-1, unix.SIGTERM)
	if r.WaitNoChildren(later(deadline, time.Now().Add(time.Second))) {
		return
	}
	logf("processes left after SIGTERM: SIGKILL")
	unix.Kill(-1, unix.SIGKILL)
	if !r.WaitNoChildren(time.Now().Add(5 * time.Second)) {
		logf("processes left after SIGKILL")
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return fmt.Sprintf("killed by signal %d", ws.Signal())
	}
	return fmt.Sprintf("exit %d", ws.ExitStatus())
}

func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// lookPath finds a program in the PATH of env (not svcwrap's own PATH).
func lookPath(name string, env []string) (string, error) {
	if len(name) > 0 && (name[0] == '/' || containsSlash(name)) {
		return name, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			path = kv[5:]
		}
	}
	for _, dir := range filepathSplit(path) {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", name)
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

func filepathSplit(path string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(path); i++ {
		if i == len(path) || path[i] == ':' {
			out = append(out, path[start:i])
			start = i + 1
		}
	}
	return out
}
