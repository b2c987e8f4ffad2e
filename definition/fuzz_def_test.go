package definition

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// secretValue is the value of an env file variable in FuzzParseDefinition: it must
// never appear in a message, whatever the definition does with it.
const secretValue = "ⓢⓔⓒⓡⓔⓣ-42"

// FuzzParseDefinition runs the whole definition parser (LSB header, dotenv syntax,
// every key's value, ${VAR} expansion from an env file) on arbitrary bytes. Besides
// never panicking: every problem has the definition's (or env file's) name and a
// line within the file, the env file's value never appears in a problem, and a
// definition that loads is within svcwrap's bounds.
func FuzzParseDefinition(f *testing.F) {
	dir := f.TempDir()
	defaults := filepath.Join(dir, "default")
	if err := os.MkdirAll(defaults, 0o755); err != nil {
		f.Fatal(err)
	}
	envPath := filepath.Join(defaults, "svc")
	env := "SECRET=\"" + secretValue + "\"\nPLAIN=/bin/true\nNUM=5\n"
	if err := os.WriteFile(envPath, []byte(env), 0o644); err != nil {
		f.Fatal(err)
	}
	paths := Paths{InitDir: dir, ConfDir: dir, RunDir: filepath.Join(dir, "run"), PidDir: dir, LogDir: dir, Defaults: []string{defaults}}
	const file = "/etc/init.d/svc"
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse("svc", file, data, paths)
		lines := 1 + bytes.Count(data, []byte("\n"))
		if err != nil {
			var de *Error
			if !errors.As(err, &de) || len(de.Problems) == 0 {
				t.Fatalf("error %T %v is not a Error with problems", err, err)
			}
			for _, p := range de.Problems {
				checkProblem(t, p, file, envPath, lines, data)
			}
			return
		}
		for _, p := range d.HostProblems {
			checkProblem(t, p, file, envPath, lines, data)
		}
		if d.PathErr != nil && strings.Contains(d.PathErr.Error(), secretValue) && !bytes.ContainsAny(data, "ⓢⓔⓒⓡⓣ") {
			t.Fatalf("PathErr shows the secret: %v", d.PathErr)
		}
		switch {
		case len(d.Argv) == 0:
			t.Fatalf("loaded with no DAEMON argv")
		case d.StartTimeout <= 0 || d.StartWait > d.StartTimeout:
			t.Fatalf("START_WAIT %v, START_TIMEOUT %v", d.StartWait, d.StartTimeout)
		case d.StopSchedule.Total() <= 0 || d.StopSchedule.Total() > time.Hour:
			t.Fatalf("STOP_SCHEDULE %v", d.StopSchedule)
		case d.RespawnLimit.N < 1 || d.RespawnLimit.Within <= 0:
			t.Fatalf("RESPAWN_LIMIT %+v", d.RespawnLimit)
		case !filepath.IsAbs(d.PidFile) || !filepath.IsAbs(d.Chdir):
			t.Fatalf("PIDFILE %q, CHDIR %q", d.PidFile, d.Chdir)
		case d.MemoryMax != 0 && d.MemoryMax < 4096, d.MemoryHigh != 0 && d.MemoryHigh < 4096,
			d.MemoryMax > 0 && d.MemoryHigh >= d.MemoryMax, d.PidsMax < 0 || d.PidsMax > 4194304,
			d.CPUMax < 0 || d.CPUMax > 100000, d.IOWeight < 0 || d.IOWeight > 10000,
			!d.Cgroup && (d.MemoryMax|d.MemoryHigh != 0 || d.PidsMax|d.CPUMax|d.IOWeight != 0):
			t.Fatalf("cgroup limits %d %d %d %d %d (CGROUP %v)", d.MemoryMax, d.MemoryHigh, d.PidsMax, d.CPUMax, d.IOWeight, d.Cgroup)
		}
		var names []string
		for _, v := range d.Verbs {
			if slices.Contains(names, v.Name) || IsBuiltin(v.Name) || !validVerb(v.Name) {
				t.Fatalf("verb %q: duplicate, built-in or invalid", v.Name)
			}
			names = append(names, v.Name)
			if v.Kind == VerbCommand && len(v.Argv) == 0 {
				t.Fatalf("verb %q has no command", v.Name)
			}
		}
		if d.Guard != "" {
			if v := d.Verb(d.Guard); v == nil || v.Kind != VerbCommand {
				t.Fatalf("GUARD %q is not a command verb", d.Guard)
			}
		}
	})
}

func checkProblem(t *testing.T, p Problem, file, envPath string, lines int, data []byte) {
	t.Helper()
	if p.File != file && p.File != envPath && !filepath.IsAbs(p.File) {
		t.Fatalf("problem %q names file %q", p, p.File)
	}
	if p.File == file && (p.Line < 0 || p.Line > lines) {
		t.Fatalf("problem %q: line %d of a %d-line file", p, p.Line, lines)
	}
	if p.Msg == "" {
		t.Fatalf("problem with no message: %+v", p)
	}
	// The definition may write the value itself; only an expansion must not show it.
	if strings.Contains(p.String(), secretValue) && !bytes.ContainsAny(data, "ⓢⓔⓒⓡⓣ") {
		t.Fatalf("problem shows the env file's secret: %q", p)
	}
}

func FuzzParseExitSet(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExitSet(s)
		if err != nil {
			return
		}
		if len(e.Codes)+len(e.Signals) == 0 {
			t.Fatalf("%q gave an empty set", s)
		}
		for _, c := range e.Codes {
			if c < 0 || c > 255 {
				t.Fatalf("%q gave exit code %d", s, c)
			}
		}
		again, err := ParseExitSet(e.String())
		if err != nil || again.String() != e.String() {
			t.Fatalf("%q: %q reads back as %q, %v", s, e.String(), again.String(), err)
		}
		for _, c := range e.Codes {
			if !again.Contains(c, 0) {
				t.Fatalf("%q: code %d lost", s, c)
			}
		}
		for _, sig := range e.Signals {
			if !again.Contains(0, sig) {
				t.Fatalf("%q: signal %d lost", s, sig)
			}
		}
	})
}
