package definition

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"svcwrap/proc"
	"testing"
	"time"
)

// writeDef writes a definition (and optional env file) into a temp tree.
func writeDef(t *testing.T, body string, envFile string) (string, Paths) {
	t.Helper()
	dir := t.TempDir()
	paths := Paths{InitDir: dir, ConfDir: dir, RunDir: filepath.Join(dir, "run"), PidDir: dir, LogDir: dir,
		Defaults: []string{filepath.Join(dir, "default")}}
	if envFile != "" {
		os.MkdirAll(paths.Defaults[0], 0o755)
		if err := os.WriteFile(filepath.Join(paths.Defaults[0], "svc"), []byte(envFile), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(dir, "svc")
	if err := os.WriteFile(file, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return file, paths
}

func TestLoadDefaults(t *testing.T) {
	file, paths := writeDef(t, "#!/usr/sbin/svcwrap\nDAEMON=\"/bin/sleep 60\"\n", "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"Argv", strings.Join(d.Argv, " "), "/bin/sleep 60"},
		{"Desc", d.Desc, "svc"},
		{"PidFile", d.PidFile, filepath.Join(paths.PidDir, "svc.pid")},
		{"Log", d.Log, filepath.Join(paths.LogDir, "svc.log")},
		{"Umask", d.Umask, uint32(0o022)},
		{"Chdir", d.Chdir, "/"},
		{"Respawn", d.Respawn, RespawnAlways},
		{"RespawnDelay", d.RespawnDelay, 100 * time.Millisecond},
		{"RespawnLimit", d.RespawnLimit, Window{N: 10, Within: time.Minute}},
		{"StartWait", d.StartWait, 500 * time.Millisecond},
		{"StartTimeout", d.StartTimeout, 30 * time.Second},
		{"StopSchedule", d.StopSchedule.String(), "TERM/10s/KILL/5s"},
		{"LogMaxSize", d.LogMaxSize, int64(10 << 20)},
		{"LogKeep", d.LogKeep, 5},
		{"Env[0]", d.Env[0], "PATH=" + FixedPATH},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestLoadProblems(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string // substrings of the error, each "line: KEY: ..." etc.
	}{
		{"unknown key", "DAEMON=/bin/true\nDEAMON=/bin/true\n", []string{":2: DEAMON: unknown key; did you mean DAEMON?"}},
		{"bad duration", "DAEMON=/bin/true\nSTART_WAIT=5x\n", []string{":2: START_WAIT: \"5x\": not a duration"}},
		{"bad size", "DAEMON=/bin/true\nMAX_RSS=lots\n", []string{":2: MAX_RSS: "}},
		{"bad signal", "DAEMON=/bin/true\nRELOAD_SIGNAL=SIGFOO\n", []string{":2: RELOAD_SIGNAL: "}},
		{"bad window", "DAEMON=/bin/true\nRESPAWN_LIMIT=ten\n", []string{":2: RESPAWN_LIMIT: "}},
		{"bad schedule", "DAEMON=/bin/true\nSTOP_SCHEDULE=TERM/forever\n", []string{":2: STOP_SCHEDULE: "}},
		{"missing daemon", "# nothing\n", []string{": DAEMON: missing"}},
		{"shell operator", "DAEMON=\"/bin/echo hi > /tmp/x\"\n", []string{":1: DAEMON: contains an unquoted shell operator"}},
		{"shadowing", "DAEMON=/bin/true\nCOMMAND_STATUS=/bin/true\n", []string{":2: COMMAND_STATUS: verb \"status\" would shadow"}},
		{"two keys one verb", "DAEMON=/bin/true\nCOMMAND_A_B=/bin/true\nSIGNAL_a_b=HUP\n", []string{":3: SIGNAL_a_b: verb \"a-b\" is already defined by COMMAND_A_B"}},
		{"help without verb", "DAEMON=/bin/true\nHELP_X=hi\n", []string{":2: HELP_X: there is no COMMAND_ or SIGNAL_ key"}},
		{"guard not a command", "DAEMON=/bin/true\nGUARD=nope\n", []string{":2: GUARD: \"nope\" is not a COMMAND_ verb"}},
		{"reload twice", "DAEMON=/bin/true\nRELOAD_SIGNAL=HUP\nRELOAD_COMMAND=/bin/true\n", []string{":3: RELOAD_COMMAND: RELOAD_SIGNAL is set too"}},
		{"relative pidfile", "DAEMON=/bin/true\nPIDFILE=x.pid\n", []string{":2: PIDFILE: \"x.pid\" is not an absolute path"}},
		{"syntax", "DAEMON=/bin/true\nFOO: bar\n", []string{":2: YAML-style"}},
		{"several at once", "DEAMON=x\nSTART_WAIT=q\n", []string{":1: DEAMON: unknown key", ":2: START_WAIT:"}},
		{"zero start timeout", "DAEMON=/bin/true\nSTART_TIMEOUT=0\n", []string{":2: START_TIMEOUT: must be more than 0"}},
		{"memory max", "DAEMON=/bin/true\nMEMORY_MAX=32Q\n", []string{`:2: MEMORY_MAX: "32Q": unknown unit "Q"`}},
		{"memory max too small", "DAEMON=/bin/true\nMEMORY_MAX=0\n", []string{`:2: MEMORY_MAX: "0": too small (at least 4K`}},
		{"memory high", "DAEMON=/bin/true\nMEMORY_HIGH=-1M\n", []string{`:2: MEMORY_HIGH: "-1M": negative sizes`}},
		{"memory high above max", "DAEMON=/bin/true\nMEMORY_MAX=32M\nMEMORY_HIGH=64M\n", []string{":3: MEMORY_HIGH: is not below MEMORY_MAX"}},
		{"pids max", "DAEMON=/bin/true\nPIDS_MAX=0\n", []string{`:2: PIDS_MAX: "0": out of range (a whole number of processes from 1 to 4194304)`}},
		{"cpu max", "DAEMON=/bin/true\nCPU_MAX=10\n", []string{`:2: CPU_MAX: "10": no % sign`}},
		{"io weight", "DAEMON=/bin/true\nIO_WEIGHT=10001\n", []string{`:2: IO_WEIGHT: "10001": out of range (a whole number from 1 to 10000`}},
		{"limit without cgroup", "DAEMON=/bin/true\nCGROUP=no\nPIDS_MAX=20\n", []string{":3: PIDS_MAX: needs CGROUP=yes"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file, paths := writeDef(t, c.body, "")
			_, err := Load("svc", file, paths)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if code := err.(*Error).ExitCode(); code != 6 {
				t.Errorf("exit code %d, want 6", code)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), file+w) && !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadCgroupLimits(t *testing.T) {
	file, paths := writeDef(t, "DAEMON=/bin/true\nMEMORY_MAX=32M\nMEMORY_HIGH=24M\nPIDS_MAX=20\nCPU_MAX=150%\nIO_WEIGHT=500\n", "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if d.MemoryMax != 32<<20 || d.MemoryHigh != 24<<20 || d.PidsMax != 20 || d.CPUMax != 150 || d.IOWeight != 500 {
		t.Errorf("limits %d %d %d %d %d", d.MemoryMax, d.MemoryHigh, d.PidsMax, d.CPUMax, d.IOWeight)
	}
	file, paths = writeDef(t, "DAEMON=/bin/true\n", "")
	if d, err = Load("svc", file, paths); err != nil || d.MemoryMax|d.MemoryHigh != 0 || d.PidsMax|d.CPUMax|d.IOWeight != 0 {
		t.Errorf("limits without the keys: %v %+v", err, d)
	}
}

func TestLoadEnvAndExpansion(t *testing.T) {
	body := "DAEMON=\"/bin/echo --opt ${MYAPP_OPTS} '$SINGLE'\"\nCOMMAND_backup=\"/bin/echo $TARGET\"\nSIGNAL_REOPEN_LOGS=USR1\nHELP_REOPEN_LOGS=\"reopen\"\n"
	env := "MYAPP_OPTS=\"-a -b\"\nexport TARGET=/srv\nSINGLE=s\n"
	file, paths := writeDef(t, body, env)
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Argv, "|"); got != "/bin/echo|--opt|-a|-b|s" {
		t.Errorf("Argv = %q", got)
	}
	if v := d.Verb("backup"); v == nil || strings.Join(v.Argv, " ") != "/bin/echo /srv" {
		t.Errorf("backup verb = %+v", v)
	}
	if v := d.Verb("reopen-logs"); v == nil || v.Help != "reopen" || v.Kind != VerbSignal {
		t.Errorf("reopen-logs verb = %+v", v)
	}
	want := "PATH=" + FixedPATH
	if d.Env[0] != want || !strings.Contains(strings.Join(d.Env, "\n"), "TARGET=/srv") {
		t.Errorf("Env = %q", d.Env)
	}
}

// A caller's environment never reaches a definition or the daemon.
func TestLoadIgnoresCallerEnv(t *testing.T) {
	t.Setenv("LEAK", "from-caller")
	// ${LEAK-}: a plain ${LEAK} that no env file sets is refused (TestUnsetInCommandLine).
	file, paths := writeDef(t, "DAEMON=\"/bin/echo ${LEAK-}x\"\n", "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Argv, " ") != "/bin/echo x" {
		t.Errorf("Argv = %q: the caller's environment leaked", d.Argv)
	}
	for _, kv := range d.Env {
		if strings.HasPrefix(kv, "LEAK=") {
			t.Errorf("Env has %q", kv)
		}
	}
}

func TestHostProblems(t *testing.T) {
	file, paths := writeDef(t, "DAEMON=/nonexistent/prog\nUSER=no-such-user-svcwrap\n", "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatalf("Load: %v (host problems must not fail Load)", err)
	}
	if len(d.HostProblems) != 2 {
		t.Fatalf("HostProblems = %v", d.HostProblems)
	}
	if code := exitCode(d.Runnable()); code != 5 {
		t.Errorf("Runnable exit %d, want 5 (not installed)", code)
	}
}

func exitCode(err error) int {
	if e, ok := err.(interface{ ExitCode() int }); ok {
		return e.ExitCode()
	}
	return -1
}

func TestServiceNameVerbs(t *testing.T) {
	for in, want := range map[string]string{"REOPEN_LOGS": "reopen-logs", "configtest": "configtest", "A_b_C": "a-b-c"} {
		if got := VerbName(in); got != want {
			t.Errorf("VerbName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A command line that expands a variable no env file sets is refused, naming the
// variable: the daemon would silently lose an argument. The default forms say
// what is meant.
func TestUnsetInCommandLine(t *testing.T) {
	for _, key := range []string{"DAEMON", "COMMAND_x", "RELOAD_COMMAND", "PRE_START", "STOP_COMMAND"} {
		body := "DAEMON=/bin/true\n" + key + "=\"/bin/echo ${OPTS} ${MORE}\"\n"
		if key == "DAEMON" {
			body = key + "=\"/bin/echo ${OPTS} ${MORE}\"\n"
		}
		file, paths := writeDef(t, body, "MORE=1\n")
		_, err := Load("svc", file, paths)
		if err == nil || !strings.Contains(err.Error(), key+": $OPTS is not set") || !strings.Contains(err.Error(), "${OPTS:-}") {
			t.Errorf("%s: %v", key, err)
		}
	}
	file, paths := writeDef(t, "DAEMON=\"/bin/echo ${OPTS:-} ${X:--v} ${Y:+$Y} '\\$HOME' \\$HOME\"\n", "Y=\nHOME=/root\n")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Argv, "|"); got != "/bin/echo|-v|$HOME|$HOME" {
		t.Errorf("Argv %q", got)
	}
}

func TestDescFromShortDescription(t *testing.T) {
	for in, want := range map[string]string{
		"starts the nginx web server":                     "the nginx web server",
		"Start the OpenVPN service":                       "the OpenVPN service",
		"OpenBSD Secure Shell server":                     "OpenBSD Secure Shell server",
		"starts":                                          "",
		"Start and stop the demo server":                  "the demo server",
		"start/stop memcached daemon":                     "memcached daemon",
		"Starts & stops the X server":                     "the X server",
		"Start and stop":                                  "and stop",
		"  Regular background program processing daemon ": "Regular background program processing daemon",
	} {
		if got := descOf(in); got != want {
			t.Errorf("descOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDebianKeys(t *testing.T) {
	body := "DAEMON=/bin/true\nUSER=nobody\nCHDIR=/opt/app\n" +
		"DIRS=\"/run/app:2775 /var/lib/app:0700:root:root /opt/app/tmp\"\n" +
		"FILES=/run/app/app.pid::nobody\n" +
		"PRE_START=\"/bin/echo ${GREETING:-hello}\"\nPOST_STOP=/bin/true\nPOST_STOP_USER=nobody\n" +
		"STOP_COMMAND=/bin/true\nENABLED=\"${RUN:-yes}\"\nCONDITION=\"exists /etc !exists '/etc/app not here'\"\n" +
		"STOP_SCHEDULE=TERM/5/KILL/forever\nSTOP_FOREVER=yes\n"
	file, paths := writeDef(t, body, "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Dirs) != 3 || d.Dirs[0].Mode != 0o775|os.ModeSetgid || d.Dirs[1].Owner != "root" || d.Dirs[2].Path != "/opt/app/tmp" {
		t.Errorf("Dirs %+v", d.Dirs)
	}
	if len(d.Files) != 1 || d.Files[0].Mode != 0o644 || d.Files[0].Owner != "nobody" {
		t.Errorf("Files %+v", d.Files)
	}
	if h := d.Hook("PRE_START"); h == nil || strings.Join(h.Argv, " ") != "/bin/echo hello" || h.User != "" {
		t.Errorf("PRE_START %+v", h)
	}
	if h := d.Hook("POST_STOP"); h == nil || h.User != "nobody" {
		t.Errorf("POST_STOP %+v", h)
	}
	if d.Hook("PRE_STOP") != nil {
		t.Error("a hook that is not set")
	}
	if !d.Enabled || len(d.Conditions) != 2 || d.Startable() != "" {
		t.Errorf("Enabled %v Conditions %+v Startable %q", d.Enabled, d.Conditions, d.Startable())
	}
	if !d.StopSchedule.Forever() || d.StopBound() < proc.Forever {
		t.Errorf("StopSchedule %s bound %v", d.StopSchedule, d.StopBound())
	}
	for _, tt := range []struct{ body, want string }{
		{"DIRS=/etc/app", `:2: DIRS: "/etc/app" is outside /run, /var, /srv, /tmp and CHDIR`},
		{"DIRS=/run", `:2: DIRS: "/run" is outside`},
		{"DIRS=run/x", `:2: DIRS: "run/x" is not a clean absolute path`},
		{"DIRS=/run/../etc", `:2: DIRS: "/run/../etc" is not a clean absolute path`},
		{"FILES=/run/x:999", `:2: FILES: "/run/x:999": mode "999" is not octal`},
		{"PRE_STOP_USER=nobody", `:2: PRE_STOP_USER: there is no PRE_STOP to run as nobody`},
		{"ENABLED=maybe", `:2: ENABLED: "maybe": not a yes/no value`},
		{"CONDITION=\"exists\"", `:2: CONDITION: exists needs an absolute path`},
		{"CONDITION=\"present /x\"", `:2: CONDITION: "present" is not a condition`},
		{"CONDITION=\"contains /x\"", `:2: CONDITION: contains /x needs a word`},
		{"STOP_SCHEDULE=TERM/forever", `:2: STOP_SCHEDULE: "forever" waits without a bound`},
		{"POST_START=\"/bin/x $NOPE\"", `:2: POST_START: $NOPE is not set`},
	} {
		file, paths := writeDef(t, "DAEMON=/bin/true\n"+tt.body+"\n", "")
		if _, err := Load("svc", file, paths); err == nil || !strings.Contains(err.Error(), file+tt.want) {
			t.Errorf("%s: %v; want %q", tt.body, err, tt.want)
		}
	}
}

func TestEnabledSaysWhere(t *testing.T) {
	file, paths := writeDef(t, "DAEMON=/bin/true\nENABLED=\"${RUN_IT:-yes}\"\n", "# x\nRUN_IT=no\n")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if want := "disabled by " + filepath.Join(paths.Defaults[0], "svc") + ":2 (RUN_IT=no)"; d.Startable() != want {
		t.Errorf("Startable %q, want %q", d.Startable(), want)
	}
	file, paths = writeDef(t, "DAEMON=/bin/true\nENABLED=off\nCONDITION=\"exists /nonexistent\"\n", "")
	d, _ = Load("svc", file, paths)
	if want := "disabled by " + file + ":2 (ENABLED=off)"; d.Startable() != want {
		t.Errorf("Startable %q, want %q", d.Startable(), want)
	}
	d.Enabled = true
	if want := `disabled: CONDITION "exists /nonexistent" does not hold (` + file + `:3)`; d.Startable() != want {
		t.Errorf("Startable %q, want %q", d.Startable(), want)
	}
}

// CONDITION contains FILE WORD: a word outside the file's # comments (the
// comments of postgresql's start.conf name every word).
func TestConditionContains(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "start.conf")
	os.WriteFile(conf, []byte("# auto: start it\n# disabled: never\nmanual # by hand\n"), 0o644)
	for cond, holds := range map[string]bool{
		"contains " + conf + " manual":    true,
		"contains " + conf + " auto":      false,
		"!contains " + conf + " disabled": true,
		"contains /nonexistent auto":      false,
		"!contains /nonexistent auto":     true,
	} {
		cs, err := parseConditions(cond)
		if err != nil || len(cs) != 1 {
			t.Fatalf("%s: %v", cond, err)
		}
		if cs[0].String() != cond || cs[0].Holds() != holds {
			t.Errorf("%s: %q holds %v, want %v", cond, cs[0], cs[0].Holds(), holds)
		}
	}
}

// ENV_FILE -/path: read when it is there, skipped when it is not (Debian's
// [ -r /etc/default/locale ] && . /etc/default/locale).
func TestOptionalEnvFile(t *testing.T) {
	dir := t.TempDir()
	there := filepath.Join(dir, "there")
	os.WriteFile(there, []byte("A=1\n"), 0o644)
	file, paths := writeDef(t, "DAEMON=/bin/true\nENV_FILE=\"-"+there+" -"+filepath.Join(dir, "gone")+"\"\n", "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.EnvFiles) != 1 || d.EnvFiles[0] != there || !slices.Contains(d.Env, "A=1") {
		t.Errorf("EnvFiles %q Env %q", d.EnvFiles, d.Env)
	}
	file, paths = writeDef(t, "DAEMON=/bin/true\nENV_FILE="+filepath.Join(dir, "gone")+"\n", "")
	if _, err := Load("svc", file, paths); err == nil {
		t.Error("a missing ENV_FILE without - is not an error")
	}
}
