package commands

import "svcwrap/service"

// WatchdogArg is argv[1] of a watchdog process: svcwrap re-executes itself as
// `svcwrap __watchdog ...` to supervise a daemon.
const WatchdogArg = service.WatchdogArg

// RunWatchdog runs the watchdog of one service (started by `start`, never by hand)
// and returns its exit code.
func RunWatchdog(args []string) int { return service.RunWatchdog(args) }
