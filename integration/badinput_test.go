package integration_test

// Bad input through the real binary: broken, binary, huge and truncated
// definitions and env files, and overlong command lines. Each gets a clear
// `file:line:` error and exit 6 (definition) or 2 (arguments), never a panic,
// and never touches a running daemon.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// noPanic fails when a command's output looks like a Go panic or runtime error.
func noPanic(t *testing.T, r Result) {
	t.Helper()
	for _, bad := range []string{"panic:", "goroutine ", "runtime error", "fatal error:"} {
		if strings.Contains(r.Output(), bad) {
			t.Errorf("%.200s: output contains %q:\n%.2000s", r.Cmd, bad, r.Output())
		}
	}
}

// shortOutput fails when a command's output is longer than max bytes: an error
// about a huge input must not echo it.
func shortOutput(t *testing.T, r Result, max int) {
	t.Helper()
	if n := len(r.Output()); n > max {
		t.Errorf("%.200s: %d bytes of output, want at most %d: %.300s...", r.Cmd, n, max, r.Output())
	}
}

type badCase struct {
	name string
	body []byte // after the #! line
	want string // in the error, after "FILE" (e.g. ":3: " or ": too large")
}

func badDefinitions(e *Env) []badCase {
	hdr := lsbHeader(svc)
	bin := make([]byte, 4096)
	for i := range bin {
		bin[i] = byte(i*7 + i/256)
	}
	return []badCase{
		{"garbage", []byte("this is not a definition at all\n" + e.Daemon() + "\n"), ":2: not an assignment"},
		{"binary", bin, ":"},
		{"nul", []byte(e.Daemon() + "\nDESC=a\x00b\n"), ":3: NUL byte"},
		{"invalid_utf8", []byte(e.Daemon() + "\nDESC=\"caf\xe9\"\n"), ":3: invalid UTF-8"},
		{"huge_10MB", append([]byte(e.Daemon()+"\n"), bytes.Repeat([]byte("# padding padding padding\n"), 10<<20/26)...), ": too large"},
		{"line_1MB", []byte(e.Daemon() + "\nDESC=" + strings.Repeat("x", 1<<20-200) + "\n"), ":3: line too long"},
		{"truncated_header", []byte(hdr[:len(hdr)/2]), ":"},
		{"truncated_quote", []byte(hdr + e.Daemon() + "\nDESC=\"cut here\n"), ":11: unterminated double-quoted value of DESC"},
		{"unknown_key", []byte(e.Daemon() + "\nRESPWN=always\n"), ":3: RESPWN: unknown key; did you mean RESPAWN?"},
		{"bad_signal", []byte(e.Daemon() + "\nRELOAD_SIGNAL=SIGFOO\n"), `:3: RELOAD_SIGNAL: "SIGFOO": unknown signal`},
		{"bad_signal_verb", []byte(e.Daemon() + "\nSIGNAL_rotate=RTMIN+99\n"), ":3: SIGNAL_rotate:"},
		{"bad_duration", []byte(e.Daemon() + "\nRESPAWN_DELAY=5 seconds\n"), `:3: RESPAWN_DELAY: "5 seconds": not a duration`},
		{"negative_duration", []byte(e.Daemon() + "\nSTART_WAIT=-1s\n"), ":3: START_WAIT:"},
		{"bad_size", []byte(e.Daemon() + "\nMAX_RSS=12Q\n"), `:3: MAX_RSS: "12Q": unknown unit`},
		{"huge_size", []byte(e.Daemon() + "\nLOG_MAX_SIZE=99999999999T\n"), ":3: LOG_MAX_SIZE:"},
		{"bad_schedule", []byte(e.Daemon() + "\nSTOP_SCHEDULE=TERM/forever\n"), ":3: STOP_SCHEDULE:"},
		{"bad_limit", []byte(e.Daemon() + "\nRESPAWN_LIMIT=ten/minute\n"), ":3: RESPAWN_LIMIT:"},
		{"shell_code", []byte(e.Daemon() + "\nCOMMAND_x=\"/bin/true; rm -rf /\"\n"), ":3: COMMAND_x: contains an unquoted shell operator"},
		{"no_daemon", []byte("DESC=x\n"), ": DAEMON: missing"},
		{"empty", nil, ": DAEMON: missing"},
	}
}

// defineRaw writes INITDIR/NAME as "#!svcwrap" + body (0755) with the usual env file.
func defineRaw(e *Env, name string, body []byte) string {
	e.t.Helper()
	path := e.InitScript(name)
	e.writeFile(path, "#!"+e.Svcwrap+"\n"+string(body), 0o755)
	e.WriteEnvFile(name)
	e.addService(name)
	return path
}

func TestBadDefinitionInputs(t *testing.T) {
	e := newEnv(t)
	for _, c := range badDefinitions(e) {
		t.Run(c.name, func(t *testing.T) {
			def := defineRaw(e, svc, c.body)
			r := e.Admin("check", def)
			wantCode(t, r, 6)
			noPanic(t, r)
			shortOutput(t, r, 4096)
			if !strings.Contains(r.Stderr, def+c.want) {
				t.Errorf("check: want %q in:\n%s", def+c.want, r)
			}
			for _, verb := range []string{"start", "restart", "reload", "try-restart"} {
				r := e.Run(svc, verb)
				wantCode(t, r, 6)
				noPanic(t, r)
				shortOutput(t, r, 4096)
				if !hasErrLine(r.Stderr, svc) || !strings.Contains(r.Stderr, def) {
					t.Errorf("%s: want an error naming %s and %s:\n%s", verb, svc, def, r)
				}
			}
			// Nothing is known to run: status cannot tell (4), stop refuses (6).
			wantCode(t, e.Run(svc, "status"), 4)
			noPidfile(t, e, svc)
			noProcs(t, e, "after refused starts")
		})
	}
}

func TestBadEnvFileInputs(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name string
		body []byte
		want string
	}{
		{"binary", []byte("A=1\n\x00\x01\x02\xff"), ":3: NUL byte"},
		{"invalid_utf8", []byte("A=1\nB=\"\xc3\x28\"\n"), ":3: invalid UTF-8"},
		{"huge_10MB", bytes.Repeat([]byte("# comment line\n"), 10<<20/15), ": too large"},
		{"line_1MB", []byte("A=1\nB=" + strings.Repeat("y", 1<<20-100) + "\n"), ":3: line too long"},
		{"truncated", []byte("A=1\nB='never closed\n"), ":3: unterminated single-quoted value of B"},
		{"shell_code", []byte("A=1\nif [ -x /bin/true ]; then B=2; fi\n"), ":3: not an assignment"},
		{"yaml", []byte("A=1\nB: 2\n"), `:3: YAML-style "B:"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			def := e.Script(svc, e.Daemon())
			env := filepath.Join(e.DefaultDir, svc)
			e.writeFile(env, "SVCWRAP_TEST_ID='"+e.TestID+"'\n"+string(c.body), 0o644)
			r := e.Admin("check", def)
			wantCode(t, r, 6)
			noPanic(t, r)
			shortOutput(t, r, 4096)
			if !strings.Contains(r.Stderr, env+c.want) {
				t.Errorf("check: want %q in:\n%s", env+c.want, r)
			}
			r = e.Run(svc, "start")
			wantCode(t, r, 6)
			noPanic(t, r)
			noProcs(t, e, "after a refused start")
		})
	}
}

// An admin replaces the definition of a running service with garbage: status
// still reports from the state file (exit 0, with a warning), start, restart,
// reload and custom verbs refuse with 6, and the daemon keeps its PID; stop
// still stops it, from the state file.
func TestBrokenDefinitionWhileRunning(t *testing.T) {
	breakages := []struct {
		name  string
		apply func(e *Env, def string)
	}{
		{"garbage", func(e *Env, def string) { e.writeFile(def, "#!"+e.Svcwrap+"\nthis is garbage\n\x00\xff", 0o755) }},
		{"unknown_key", func(e *Env, def string) {
			b, _ := os.ReadFile(def)
			e.writeFile(def, string(b)+"FROBNICATE=1\n", 0o755)
		}},
		{"truncated", func(e *Env, def string) {
			b, _ := os.ReadFile(def)
			e.writeFile(def, string(b[:len(b)/3]), 0o755)
		}},
		{"huge", func(e *Env, def string) {
			e.writeFile(def, "#!"+e.Svcwrap+"\n"+strings.Repeat("#\n", 1<<20), 0o755)
		}},
	}
	for _, b := range breakages {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t)
			sock, ev := e.Reporter(t)
			def := e.Script(svc, e.Daemon("-report", sock)+"\nRELOAD_SIGNAL=HUP\nCOMMAND_hello=/bin/true\nSTOP_SCHEDULE=INT/20/KILL/5\n")
			wantCode(t, e.Run(svc, "start"), 0)
			pid, wd := supervised(t, e, svc)
			before, _ := procStat(pid)
			b.apply(e, def)

			r := e.Run(svc, "status")
			wantCode(t, r, 0)
			noPanic(t, r)
			if !strings.Contains(r.Stdout, fmt.Sprintf("running (pid %d", pid)) || !strings.Contains(r.Stderr, "the definition is not usable") {
				t.Errorf("status: want the running state from the state file and a warning:\n%s", r)
			}
			for _, verb := range []string{"start", "restart", "try-restart", "reload", "force-reload", "hello"} {
				r := e.Run(svc, verb)
				wantCode(t, r, 6)
				noPanic(t, r)
				shortOutput(t, r, 4096)
			}
			wantCode(t, e.Run(svc, "signal", "HUP"), 6)
			if after, err := procStat(pid); err != nil || after.Dead() || after.StartTime != before.StartTime {
				t.Fatalf("the daemon %d was touched by refused verbs: %+v %v", pid, after, err)
			}
			if !alive(wd) {
				t.Fatalf("the watchdog %d died", wd)
			}
			if ent := e.Entry(t, svc); ent.State != "invalid" || ent.Pid != pid || ent.WatchdogPid != wd {
				t.Errorf("list --json: %+v; want state invalid, pid %d and watchdog %d from the state file", ent, pid, wd)
			}

			r = e.Run(svc, "stop")
			wantCode(t, r, 0)
			noPanic(t, r)
			// The STOP_SCHEDULE recorded at start, not the default TERM.
			if got := ev.WaitFor(t, 10*time.Second, func(e Event) bool { return e.Ev == "signal" }); got.Sig != "INT" {
				t.Errorf("stop sent %s first, want INT (STOP_SCHEDULE from the state file)", got.Sig)
			}
			waitExit(t, pid, 20*time.Second)
			waitExit(t, wd, 20*time.Second)
			noProcs(t, e, "after stop with a broken definition")
			// With no state left, nothing is known: status 4, start 6.
			wantCode(t, e.Run(svc, "status"), 4)
			wantCode(t, e.Run(svc, "start"), 6)
			noProcs(t, e, "after a refused start")
		})
	}
}

func TestOverlongArguments(t *testing.T) {
	e := newEnv(t)
	e.Script(svc, e.Daemon()+"\nCOMMAND_echo=/bin/echo\n")
	many := make([]string, 10000)
	for i := range many {
		many[i] = "a"
	}
	big := strings.Repeat("z", 100<<10)
	mb := make([]string, 16) // 1 MiB in all
	for i := range mb {
		mb[i] = strings.Repeat("m", 64<<10-1)
	}
	cases := []struct {
		name string
		argv []string
		code int
	}{
		{"status_10000_args", append([]string{"status"}, many...), 2},
		{"custom_10000_args", append([]string{"echo"}, many...), 2},
		{"custom_100KiB_arg", []string{"echo", big}, 2},
		{"custom_1MiB_argv", append([]string{"echo"}, mb...), 2},
		{"signal_100KiB", []string{"signal", big}, 2},
		{"status_extra", []string{"status", big[:60<<10]}, 2},
		{"unknown_verb_60KiB", []string{big[:60<<10]}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Exec(e.InitScript(svc), c.argv...)
			wantCode(t, r, c.code)
			noPanic(t, r)
			shortOutput(t, r, 8192)
			if !hasErrLine(r.Stderr, svc) {
				t.Errorf("no error line for %s:\n%.500s", svc, r.Output())
			}
		})
	}
	for _, argv := range [][]string{{"check", big}, append([]string{"run", svc, "echo"}, many...), {"run", big, "status"}} {
		r := e.Admin(argv...)
		wantCode(t, r, 2)
		noPanic(t, r)
		shortOutput(t, r, 8192)
	}
	// Within the bounds, a custom verb gets every argument.
	r := e.Exec(e.InitScript(svc), append([]string{"echo"}, many[:900]...)...)
	wantCode(t, r, 0)
	if got := strings.Count(r.Stdout, "a"); got != 900 {
		t.Errorf("echo got %d arguments, want 900", got)
	}
	noProcs(t, e, "after bad arguments")
}
