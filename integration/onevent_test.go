package integration_test

// ON_EVENT: rate-limited, coalesced, never swallowing the give-up.

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func onEventLines(t *testing.T, path string) (runs []string, sum int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		runs = append(runs, l)
		f := strings.Fields(l)
		n, _ := strconv.Atoi(f[len(f)-1])
		sum += n
	}
	return runs, sum
}

func onEventHook(e *Env, out string) string {
	return "ON_EVENT=\"/bin/sh -c 'echo \\$SVCWRAP_SERVICE \\$SVCWRAP_EVENT \\$SVCWRAP_COUNT >> " + out + "'\"\n"
}

// Twenty crashes: one run at the first, the rest counted into the run at stop.
func TestOnEventCoalesced(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(e.Root, "events")
	e.Script(svc, e.Daemon("-exit-after", "20ms", "-exit-code", "3")+"\nSTART_WAIT=0\nRESPAWN_DELAY=0\nRESPAWN_LIMIT=1000/1m\n"+onEventHook(e, out), svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	eventually(t, 30*time.Second, "20 respawns", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.Respawns >= 20, strconv.Itoa(ent.Respawns)
	})
	wantCode(t, e.Run(svc, "stop"), 0)
	log, _ := os.ReadFile(e.LogPath(svc))
	respawns := strings.Count(string(log), "respawned daemon (pid")
	runs, sum := onEventLines(t, out)
	if len(runs) < 1 || len(runs) > 2 || sum < respawns || sum > respawns+1 {
		t.Errorf("%d respawns gave runs %q (counts sum to %d); want 1-2 runs counting every respawn", respawns, runs, sum)
	}
	if !strings.HasPrefix(runs[0], svc+" respawn ") {
		t.Errorf("first run %q", runs[0])
	}
	noProcs(t, e, "after stop")
}

// The give-up runs at once, whatever the interval, with what was pending.
func TestOnEventGiveUp(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(e.Root, "events")
	e.Script(svc, e.Daemon("-exit-after", "20ms", "-exit-code", "3")+"\nSTART_WAIT=0\nRESPAWN_DELAY=0\nRESPAWN_LIMIT=3/1m\n"+onEventHook(e, out), svcMarker(svc))
	wantCode(t, e.Run(svc, "start"), 0)
	eventually(t, 30*time.Second, "the give-up", func() (bool, string) {
		ent, err := e.EntryE(svc)
		return err == nil && ent.State == "failed", ent.State
	})
	eventually(t, 30*time.Second, "the give-up's run", func() (bool, string) {
		runs, _ := onEventLines(t, out)
		return len(runs) > 0 && strings.Contains(runs[len(runs)-1], " failed "), strings.Join(runs, "; ")
	})
	runs, sum := onEventLines(t, out)
	if sum != 4 || len(runs) > 2 {
		t.Errorf("runs %q: want the first respawn, then the give-up with what was pending (4 events in all)", runs)
	}
}
