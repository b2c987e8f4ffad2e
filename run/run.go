// Package run runs what a definition asks around its daemon, the same way for the
// watchdog and for the command line: the runtime directories and files (DIRS,
// FILES), the hooks (PRE_START, POST_START, PRE_STOP, STOP_COMMAND, POST_STOP),
// and the whole stop of a daemon: PRE_STOP, STOP_COMMAND, STOP_SCHEDULE on what
// is left, POST_STOP.
package run

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"svcwrap/definition"
	"svcwrap/probe"
	"svcwrap/proc"
	"svcwrap/safefile"
)

// Paths makes the definition's DIRS and FILES, as root, owned and moded as they
// say. A path that cannot be made safely is an *safefile.UnsafePathError (exit 6).
func Paths(d *definition.Definition) error {
	for _, set := range []struct {
		specs []definition.PathSpec
		dir   bool
	}{{d.Dirs, true}, {d.Files, false}} {
		for _, p := range set.specs {
			uid, gid := p.UID, p.GID
			if uid < 0 {
				uid, gid = os.Geteuid(), os.Getegid()
			}
			if err := safefile.MakePath(p.Path, set.dir, p.Mode, uid, gid); err != nil {
				key := map[bool]string{true: "DIRS", false: "FILES"}[set.dir]
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	return nil
}

// Hook runs hook key of d (PRE_START, ...), if the definition has it, bounded by
// its bound (definition.HookBound) and in its own process group, which is killed
// when it exits. Its failure reads "PRE_START /usr/bin/x: exit status 1: LAST
// LINE OF ITS OUTPUT".
func Hook(d *definition.Definition, key string) error {
	h := d.Hook(key)
	if h == nil {
		return nil
	}
	cmd, err := d.HookCommand(h)
	if err != nil {
		return err
	}
	out := &probe.Tail{Max: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr.Pdeathsig = unix.SIGKILL // a watchdog that exits takes its hook along
	bound := d.HookBound(key)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	err = proc.Run(ctx, cmd, d.Umask, true)
	switch {
	case errors.Is(err, proc.ErrTimeout):
		return fmt.Errorf("%s %s: did not finish within %v and was killed", key, h.Argv[0], bound)
	case err != nil:
		if l := out.String(); l != "" {
			return fmt.Errorf("%s %s: %v:\n  %s", key, h.Argv[0], err, strings.ReplaceAll(l, "\n", "\n  "))
		}
		return fmt.Errorf("%s %s: %v", key, h.Argv[0], err)
	}
	return nil
}

// Prepare is what comes before every spawn of the daemon: DIRS and FILES, then
// PRE_START.
func Prepare(d *definition.Definition) error {
	if err := Paths(d); err != nil {
		return err
	}
	return Hook(d, "PRE_START")
}

// Stop is the stop of a daemon t: while it runs (live), PRE_STOP and
// STOP_COMMAND (their failures go to warn; the stop goes on); then STOP_SCHEDULE
// on what is left, timed from the command's end; then, once nothing is left,
// POST_STOP. final adds a last SIGKILL to a schedule that lacks one
// (proc.WithFinalKill): for what a dead daemon left, which nobody asked to stop.
// The error is the schedule's: something survived it.
func Stop(d *definition.Definition, t proc.Target, live, final bool, warn func(error)) error {
	if live {
		for _, key := range []string{"PRE_STOP", "STOP_COMMAND"} {
			if err := Hook(d, key); err != nil {
				warn(err)
			}
		}
	}
	steps := d.StopSchedule.Steps
	if final {
		steps = proc.WithFinalKill(steps)
	}
	if err := proc.Stop(t, steps); err != nil {
		return fmt.Errorf("%v after STOP_SCHEDULE %s", err, d.StopSchedule)
	}
	if err := Hook(d, "POST_STOP"); err != nil {
		warn(err)
	}
	return nil
}
