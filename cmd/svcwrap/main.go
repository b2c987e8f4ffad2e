// Command svcwrap is the /etc/init.d script of any service. main only decides how
// it was invoked:
//
//	svcwrap /etc/init.d/NAME VERB ...   script mode (#!/usr/sbin/svcwrap)
//	/etc/init.d/NAME VERB ...           symlink mode (a link to svcwrap)
//	svcwrap SUBCOMMAND ...              admin mode
//	svcwrap __watchdog ...              the watchdog, started by svcwrap itself (package watchdog)
//
// containermaxprocs=0: since Go 1.25 the runtime reads /proc/self/cgroup,
// /proc/self/mountinfo and the cgroup CPU quota at every start, and keeps the quota
// files open to follow the limit. svcwrap is exec'd for every `status` and is a
// long-lived watchdog that needs one P: neither is worth four opens and a
// mountinfo parse per exec, nor two fds held for ever.
//
// updatemaxprocs=0: since Go 1.25 runtime.main also starts a goroutine that
// re-reads the CPU count and the cgroup limit when sysmon asks it to; creating it
// wakes an idle P, and so another thread, in every exec. A CLI lives a few
// milliseconds and the watchdog sets GOMAXPROCS(1) itself (which turns the updates
// off anyway), so neither has a use for it.

//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"os"
	"path/filepath"
	"strings"

	"svcwrap/commands"
	"svcwrap/protocol"
	"svcwrap/watchdog"
)

func main() {
	args := os.Args
	switch {
	case len(args) > 1 && args[1] == protocol.Arg:
		os.Exit(watchdog.Main(args[2:]))
	case len(args) > 1 && args[1] == protocol.ExecArg:
		os.Exit(watchdog.Exec(args[2:]))
	case len(args) > 1 && strings.Contains(args[1], "/"):
		os.Exit(commands.RunScript(args[1], args[2:]))
	case filepath.Base(args[0]) != "svcwrap":
		os.Exit(commands.RunSymlink(args[0], args[1:]))
	default:
		os.Exit(commands.RunAdmin(args[1:]))
	}
}
