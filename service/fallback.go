package service

import (
	"path/filepath"

	"svcwrap/definition"
	"svcwrap/protocol"
)

// Fallback is the definition `status` and `stop` use when the real one cannot be
// loaded (a broken edit, a file that became insecure): an administrator must still
// be able to see and stop what runs. It takes nothing from the broken file: the
// daemon is the one the state file records (PID and start time), the pidfile and
// STOP_SCHEDULE are the ones the watchdog recorded there (else the defaults). It
// reports false when there is no state file, so nothing is known to be running.
func Fallback(name, file string, paths definition.Paths) (*definition.Definition, bool) {
	st, err := protocol.FilesOf(paths).ReadState(name)
	if err != nil || st == nil {
		return nil, false
	}
	d := definition.Defaults(name, file, paths)
	d.Log = "none"
	if st.PidFile != "" && filepath.IsAbs(st.PidFile) {
		d.PidFile = filepath.Clean(st.PidFile)
	}
	if st.Phase == protocol.PhaseLaunched {
		d.Respawn = definition.RespawnNo
	}
	if sch, err := definition.ParseSchedule(st.StopSchedule); err == nil {
		d.StopSchedule = sch // the one the daemon was started with
	}
	return d, true
}
