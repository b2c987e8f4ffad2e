package commands

import (
	"fmt"
	"io"
	"os"
	"strings"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/probe"
	"svcwrap/proc"
	"svcwrap/service"
)

// Dispatch runs one verb of a service; prog is how the service was called, for
// usage ("/etc/init.d/nginx", "svcwrap run nginx").
func Dispatch(rep *lsb.Reporter, svc *service.Service, prog, verb string, args []string) error {
	d := svc.Def
	if len(args) > 0 && definition.IsBuiltin(verb) && !takesArgs(verb) && verb != "stop" {
		return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("%s takes no arguments (got %d: %s)", verb, len(args), shortQuote(strings.Join(args, " ")))}
	}
	switch verb {
	case "start":
		if err := startRequiredOf(rep, svc); err != nil {
			return err
		}
		return svc.Locked(func() error { return start(rep, svc) })
	case "stop":
		return stopVerb(rep, svc, args)
	case "restart":
		if err := startRequiredOf(rep, svc); err != nil {
			return err
		}
		if err := svc.Locked(func() error { return restart(rep, svc) }); err != nil {
			return err
		}
		return restartDependents(rep, svc)
	case "try-restart", "condrestart":
		restarted := false
		if err := svc.Locked(func() error {
			if !svc.Inspect().Alive() {
				rep.Success("%s: not running; nothing to restart", d.Name)
				return nil
			}
			restarted = true
			return restart(rep, svc)
		}); err != nil || !restarted {
			return err
		}
		return restartDependents(rep, svc)
	case "reload":
		return svc.Locked(func() error { return reload(rep, svc) })
	case "force-reload":
		// LSB: reload if the service can, else restart it if it runs. A stopped
		// service is left alone and that is success either way (as systemd's
		// reload-or-try-restart), so force-reload is safe in package scripts.
		return svc.Locked(func() error {
			if !svc.Inspect().Alive() {
				rep.Success("%s: not running; nothing to reload", d.Name)
				return nil
			}
			if d.CanReload() {
				return reload(rep, svc)
			}
			return restart(rep, svc)
		})
	case "status":
		st := svc.Inspect()
		fmt.Fprintf(os.Stdout, "%s: %s\n", d.Name, st.Line())
		if st.Code == lsb.Running {
			return nil
		}
		return &lsb.Error{Code: lsb.Exit(st.Code), Err: errSilent}
	case "signal":
		if len(args) != 1 {
			return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("usage: signal SIG (a name like HUP or a number)")}
		}
		sig, err := definition.ParseSignal(args[0])
		if err != nil {
			return &lsb.Error{Code: lsb.BadArgs, Err: err}
		}
		return svc.Signal(sig)
	case "help", "--help", "-h":
		Usage(os.Stdout, d, prog)
		return nil
	case "":
		Usage(os.Stderr, d, prog)
		return &lsb.Error{Code: lsb.BadArgs, Err: errSilent}
	}
	if v := d.Verb(verb); v != nil {
		return custom(svc, v, args)
	}
	Usage(os.Stderr, d, prog)
	e := &lsb.Error{Code: lsb.Unimplemented, Err: fmt.Errorf("unknown verb %s", shortQuote(verb))}
	if v := d.Verb(definition.VerbName(verb)); v != nil {
		e.Hint = "did you mean " + v.Name + "?"
	}
	return e
}

// takesArgs reports whether the built-in verb takes arguments.
func takesArgs(verb string) bool {
	for _, b := range definition.Builtins {
		if b.Name == verb {
			return b.Args
		}
	}
	return false // condrestart
}

// errSilent marks an exit code that needs no message (status, usage).
var errSilent = silentError{}

type silentError struct{}

func (silentError) Error() string { return "" }

func start(rep *lsb.Reporter, svc *service.Service) error {
	d := svc.Def
	if st := svc.Inspect(); st.State == "disabled" {
		// An enable switch or a condition: start does nothing, and that is
		// success (as Debian's scripts exit 0 when RUN_DAEMON=no).
		rep.Success("%s: %s", d.Name, st.Reason)
		return nil
	}
	rep.Begin("Starting", d.Desc, d.Name)
	st, started, err := svc.Start()
	if err != nil {
		rep.End(false)
		return err
	}
	if !started {
		rep.Note(alreadyNote(st))
	}
	rep.End(true)
	return nil
}

func alreadyNote(st service.Status) string {
	switch st.State {
	case "respawning":
		return "already supervised; respawning"
	case "running", "starting":
		if st.WatchdogPID == 0 {
			return fmt.Sprintf("already running, pid %d", st.PID)
		}
		return fmt.Sprintf("already running, pid %d", st.PID)
	}
	return fmt.Sprintf("adopted running pid %d", st.PID)
}

func stop(rep *lsb.Reporter, svc *service.Service) error {
	d := svc.Def
	rep.Begin("Stopping", d.Desc, d.Name)
	was, err := svc.Stop()
	if err != nil {
		rep.End(false)
		return err
	}
	if !was {
		rep.Note("not running")
	}
	rep.End(true)
	return nil
}

func restart(rep *lsb.Reporter, svc *service.Service) error {
	// The guard runs before the stop, so a broken configuration never takes a
	// running daemon down; start then does not run it a second time.
	if err := svc.Guard(); err != nil {
		return err
	}
	// LISTEN: the watchdog restarts the daemon and keeps the sockets.
	d := svc.Def
	if done, err := svc.RestartInPlace(); done {
		rep.Begin("Restarting", d.Desc, d.Name)
		rep.End(err == nil)
		return err
	}
	if err := stop(rep, svc); err != nil {
		return err
	}
	return start(rep, svc)
}

func reload(rep *lsb.Reporter, svc *service.Service) error {
	d := svc.Def
	rep.Begin("Reloading", d.Desc, d.Name)
	out := &probe.Tail{Max: 64 << 10}
	err := svc.Reload(out) // RELOAD_COMMAND's output, on its own lines after the status line
	rep.End(err == nil)
	if text := out.String(); text != "" {
		fmt.Fprintln(os.Stdout, text)
	}
	return err
}

func custom(svc *service.Service, v *definition.Verb, args []string) error {
	if v.Kind == definition.VerbSignal {
		if len(args) > 0 {
			return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("%s sends SIG%s and takes no arguments", v.Name, proc.SignalName(v.Signal))}
		}
		return svc.Signal(v.Signal)
	}
	argv := append(append([]string{}, v.Argv...), args...)
	return svc.RunCommand(argv, os.Stdin, os.Stdout, os.Stderr)
}

// Usage lists every verb, built-in first, then the definition's own with HELP_
// lines, for the service called as prog.
func Usage(w io.Writer, d *definition.Definition, prog string) {
	verbs := make([]string, 0, len(definition.Builtins)+len(d.Verbs))
	for _, b := range definition.Builtins {
		verbs = append(verbs, b.Name)
	}
	for _, v := range d.Verbs {
		verbs = append(verbs, v.Name)
	}
	fmt.Fprintf(w, "Usage: %s {%s}\n\n", prog, strings.Join(verbs, "|"))
	for _, b := range definition.Builtins {
		fmt.Fprintf(w, "  %-14s %s\n", b.Name, b.Help)
	}
	for _, v := range d.Verbs {
		help := v.Help
		if help == "" {
			if v.Kind == definition.VerbSignal {
				help = "send SIG" + proc.SignalName(v.Signal) + " to the daemon"
			} else {
				help = "run the command of " + v.Key // never the command line: it may hold a secret
			}
		}
		fmt.Fprintf(w, "  %-14s %s\n", v.Name, help)
	}
}
