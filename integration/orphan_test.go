package integration_test

// A watchdog killed between respawning the daemon and recording it (state file
// and pidfile) leaves a daemon nothing names. It lives on in the killed
// watchdog's session; status, start and stop must find it there, never start
// a second daemon next to it (TestStress found this by chance).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestFaultWatchdogKilledBeforeRecord(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=100ms\n", svcMarker(svc))
	state := filepath.Join(e.RunDir, svc+".state")
	for _, then := range []string{"start", "stop"} {
		wantCode(t, e.Run(svc, "start"), 0)
		pid, wd := supervised(t, e, svc)
		// Rewrite the record as the killed watchdog left it: the daemon it had
		// just respawned recorded nowhere, the state naming an older, dead one.
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		var st map[string]any
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		killPid(t, wd)
		st["daemon"] = map[string]any{"pid": 999999, "start": 1}
		if b, err = json.Marshal(st); err != nil {
			t.Fatal(err)
		}
		e.writeFile(state, string(b), 0o644)
		os.Remove(e.PidfilePath(svc))

		checkCode(t, e.Run(svc, "status"), 0)
		wantCode(t, e.Run(svc, then), 0)
		switch then {
		case "start":
			e.checkInvariants(t, svc, "running", "start after the watchdog was killed before recording its daemon")
			if got := e.serviceProcs(svc).Daemons; len(got) != 1 || got[0] != pid {
				t.Errorf("start did not adopt the unrecorded daemon %d: daemons %v", pid, got)
			}
			wantCode(t, e.Run(svc, "stop"), 0)
		case "stop":
			waitExit(t, pid, 10e9)
		}
		e.checkInvariants(t, svc, "stopped", then+" after the watchdog was killed before recording its daemon")
	}
}
