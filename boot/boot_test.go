package boot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"svcwrap/definition"
)

func writeScript(t *testing.T, dir, name, hdr, body string) {
	t.Helper()
	s := "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: " + name + "\n" + hdr + "### END INIT INFO\n" + body + "\n"
	if err := os.WriteFile(filepath.Join(dir, "init.d", name), []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
}

func link(t *testing.T, dir, lvl, l, name string) {
	t.Helper()
	os.MkdirAll(filepath.Join(dir, "rc"+lvl+".d"), 0o755)
	if err := os.Symlink("../init.d/"+name, filepath.Join(dir, "rc"+lvl+".d", l)); err != nil {
		t.Fatal(err)
	}
}

func TestLinks(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "rc2.d"), 0o755)
	for _, n := range []string{"S02b", "S01a", "K01c", "README", "S1x", "Sxxy"} {
		os.WriteFile(filepath.Join(dir, "rc2.d", n), nil, 0o644)
	}
	ls, err := Links(definition.Paths{RcRoot: dir}, "2", 'S')
	if err != nil || len(ls) != 2 || ls[0].Name != "a" || ls[1].Name != "b" {
		t.Fatalf("Links: %v %v", ls, err)
	}
	if _, err := Links(definition.Paths{RcRoot: dir}, "3", 'S'); err == nil {
		t.Fatal("no rc3.d: want an error")
	}
	for _, r := range []string{"0", "6", "S", "s"} {
		if !ValidRunlevel(r) {
			t.Errorf("%s is a runlevel", r)
		}
	}
	for _, r := range []string{"", "7", "22", "x"} {
		if ValidRunlevel(r) {
			t.Errorf("%q is no runlevel", r)
		}
	}
}

func TestBootAndShutdownPlain(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "init.d"), 0o755)
	log := filepath.Join(dir, "log")
	body := `echo "$1 $(basename $0)" >> ` + log
	writeScript(t, dir, "a", "", body)
	writeScript(t, dir, "b", "# Required-Start: a\n# Required-Stop: a\n", body+"; [ \"$1\" = stop ] || exit 3")
	writeScript(t, dir, "c", "# Required-Start: b\n", body)
	writeScript(t, dir, "d", "# Should-Start: b\n", body)
	link(t, dir, "2", "S01c", "c")
	link(t, dir, "2", "S01d", "d")
	link(t, dir, "2", "S02b", "b")
	link(t, dir, "2", "S03a", "a")
	link(t, dir, "0", "K01a", "a")
	link(t, dir, "0", "K01b", "b")
	var out strings.Builder
	o := Options{Paths: definition.Paths{InitDir: filepath.Join(dir, "init.d"), ConfDir: filepath.Join(dir, "none"), RcRoot: dir, InsservConf: filepath.Join(dir, "none")},
		Runlevel: "2", Timeout: 10 * time.Second, Out: &out, Env: []string{"PATH=/usr/bin:/bin"}}
	res, err := Boot(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"boot: a: started in", "boot: b: failed (exit 3)", "boot: c: not started: requires b, which did not start", "boot: d: started", "runlevel 2: 2 started, 2 failed or not run"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	if len(res.Links) != 2 || res.Links[0].Name != "a" {
		t.Errorf("result %+v", res)
	}
	out.Reset()
	o.Runlevel = "0"
	o.Also = res.Links
	if _, err := Shutdown(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	got = out.String()
	if strings.Index(got, "shutdown: b: stopped") > strings.Index(got, "shutdown: a: stopped") || !strings.Contains(got, "shutdown: d: stopped") {
		t.Errorf("want b stopped before a, and d:\n%s", got)
	}
}

func TestReaperReapsOrphans(t *testing.T) {
	r := NewReaper()
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	// Not a subreaper here: its own children only. sh exits at once, its status
	// goes to the waiter however fast the exit.
	for i := 0; i < 20; i++ {
		_, done, err := r.Start([]string{"/bin/sh", "-c", "exit 4"}, nil, []*os.File{devnull, devnull, devnull}, false)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case ws := <-done:
			if ws.ExitStatus() != 4 {
				t.Fatalf("status %v", ws)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no status within 10s")
		}
	}
	if !r.WaitNoChildren(time.Now().Add(10 * time.Second)) {
		t.Fatal("children left")
	}
}
