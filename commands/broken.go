package commands

import (
	"errors"
	"time"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/service"
)

// brokenDefinition handles a verb whose definition cannot be loaded. `status` and
// `stop` still work from the state file (service.Fallback), with a warning that
// names the problem: an administrator who broke a definition must still be able to
// see and stop the service. Every other verb is refused by the caller (LSB 6), and
// the running daemon is left alone. ok is false when the caller should refuse.
func brokenDefinition(rep *lsb.Reporter, name, file string, paths definition.Paths, verb string, args []string, loadErr error) (int, bool) {
	if verb != "status" && verb != "stop" {
		return 0, false
	}
	def, known := service.Fallback(name, file, paths)
	if !known {
		return 0, false
	}
	rep.Warning("%s: %s: the definition is not usable; working from the state file (start, restart and reload refuse until it is fixed):\n%s", name, verb, loadErr)
	svc := &service.Service{Def: def, Paths: paths}
	err := Dispatch(rep, svc, name, verb, args) // status and stop: no usage to show
	if err != nil {
		err = lsb.Wrap(err, name, verb)
		if !errors.Is(err, errSilent) {
			rep.Failure(name, err)
		}
	}
	return lsb.ExitCodeOf(err), true
}

// fillFromState puts what the state file says into a list entry of a service whose
// definition is broken, so `list` still shows a daemon that runs.
func fillFromState(e *listEntry, st service.Status) {
	e.status = st
	e.PID, e.WatchdogPID, e.Respawns, e.LastExit = st.PID, st.WatchdogPID, st.Respawns, st.LastExit
	e.HealthRestarts, e.LastRestart, e.OOMKills = st.HealthRestarts, st.LastRestart, st.OOMKills
	if st.PID != 0 {
		e.StatusText = st.Text
	}
	if !st.Started.IsZero() && st.PID != 0 {
		e.Started = st.Started.Format(time.RFC3339)
	}
}
