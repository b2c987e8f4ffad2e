package integration_test

// Custom verbs: COMMAND_ and SIGNAL_ verbs, the built-in `signal SIG`,
// HELP_ lines and usage, RELOAD_SIGNAL / RELOAD_COMMAND, and GUARD, through the
// real binary. Signals are proven by tdaemon's reports, the daemon's identity by
// its PID and start time in /proc, a command's user, groups, umask, directory
// and environment by what the kernel shows the command itself.

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nextSignal returns the next signal event, skipping the reports of tdaemon's
// -children; any other event (a respawned daemon's start) fails the test.
func nextSignal(t *testing.T, ev *Events) Event {
	t.Helper()
	for {
		got := ev.Next(t, 15*time.Second)
		switch got.Ev {
		case "child", "listening":
			continue
		case "signal":
			return got
		}
		t.Fatalf("want a signal report, got %s", got.Raw)
	}
}

// sameProcess fails unless pid still runs with the start time it had.
func sameProcess(t *testing.T, pid int, start uint64, when string) {
	t.Helper()
	st, err := procStat(pid)
	if err != nil || st.Dead() || st.StartTime != start {
		t.Fatalf("%s: daemon %d is gone or was replaced (stat %+v, %v; start time was %d)", when, pid, st, err, start)
	}
}

func TestSignalVerbsDeliverExactlyTheNamedSignal(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		sock, ev := e.Reporter(t)
		m.define(e, svc, e.Daemon("-report", sock, "-children", "1")+`
SIGNAL_rotate=USR1
SIGNAL_REOPEN_LOGS=usr2
SIGNAL_Dump_State=SIGQUIT
RELOAD_SIGNAL=HUP
`)
		// Not running: 7 for every way of signalling, 2 for a bad signal.
		for _, args := range [][]string{{"rotate"}, {"reopen-logs"}, {"signal", "HUP"}, {"reload"}} {
			r := e.Run(svc, args[0], args[1:]...)
			checkCode(t, r, 7)
			if !hasErrLine(r.Stderr, svc) {
				t.Errorf("%v while stopped: no %q message on stderr:\n%s", args, "svcwrap: "+svc+":", r)
			}
		}
		checkCode(t, e.Run(svc, "signal", "BOGUS"), 2)

		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		start := ev.WaitFor(t, 15*time.Second, isStart)
		if start.Pid != pid || len(start.Children) != 1 {
			t.Fatalf("start report %s; want pid %d with one child", start.Raw, pid)
		}
		child := start.Children[0]
		st0, _ := procStat(pid)

		usr1 := strconv.Itoa(int(syscall.SIGUSR1))
		quit := strconv.Itoa(int(syscall.SIGQUIT))
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"rotate"}, "USR1"},
			{[]string{"reopen-logs"}, "USR2"},
			{[]string{"dump-state"}, "QUIT"},
			{[]string{"signal", "HUP"}, "HUP"},
			{[]string{"signal", "SIGHUP"}, "HUP"},
			{[]string{"signal", "hup"}, "HUP"},
			{[]string{"signal", "sigUsr2"}, "USR2"},
			{[]string{"signal", usr1}, "USR1"},
			{[]string{"signal", quit}, "QUIT"},
			{[]string{"reload"}, "HUP"},
		}
		for _, c := range cases {
			r := e.Run(svc, c.args[0], c.args[1:]...)
			wantCode(t, r, 0)
			got := nextSignal(t, ev)
			if got.Sig != c.want || got.Pid != pid {
				t.Fatalf("%v: the next report is %s; want exactly one SIG%s to pid %d", c.args, got.Raw, c.want, pid)
			}
		}

		// Bad input is exit 2 and sends nothing: the next report after them is
		// the sentinel's.
		for _, args := range [][]string{
			{"signal"}, {"signal", ""}, {"signal", "FOO"}, {"signal", "0"}, {"signal", "65"},
			{"signal", "RTMIN+40"}, {"signal", "HUP", "USR1"}, {"rotate", "now"}, {"reload", "x"},
		} {
			r := e.Run(svc, args[0], args[1:]...)
			checkCode(t, r, 2)
			if !hasErrLine(r.Stderr, svc) {
				t.Errorf("%q: no %q message on stderr:\n%s", args, "svcwrap: "+svc+":", r)
			}
		}
		wantCode(t, e.Run(svc, "signal", "USR2"), 0)
		if got := nextSignal(t, ev); got.Sig != "USR2" || got.Pid != pid {
			t.Fatalf("after refused signals, the next report is %s; want the sentinel USR2", got.Raw)
		}

		// Signals go to the daemon process only: its child (same process
		// group, default dispositions for USR1/USR2/QUIT) would have died.
		sameProcess(t, pid, st0.StartTime, "after the signals")
		if !alive(child) {
			t.Errorf("the daemon's child %d died: a signal reached the whole process group", child)
		}
		if ent := e.Entry(t, svc); ent.Respawns != 0 || ent.Pid != pid {
			t.Errorf("list --json after the signals: %+v; want pid %d, no respawns", ent, pid)
		}
		for _, got := range ev.Drain() {
			if got.Ev != "child" {
				t.Errorf("unexpected report: %s", got.Raw)
			}
		}
	})
}

// writeScript writes an executable root-owned shell script under the Env's root.
func writeScript(e *Env, name, body string) string {
	path := filepath.Join(e.Root, name)
	e.writeFile(path, "#!/bin/sh\n"+body, 0o755)
	return path
}

func TestCommandVerbArgumentsOutputAndExitStatus(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		status := writeScript(e, "status.sh", `
printf 'out:%s\n' "$@"
printf 'err:%s\n' "$@" >&2
case "$1" in
signal) kill -TERM $$ ;;
esac
exit "$1"
`)
		// $PPID is svcwrap: INT and QUIT (from a terminal) leave it waiting for
		// the command's own status; a TERM sent to svcwrap reaches the command.
		intr := writeScript(e, "interrupt.sh", "kill -INT $PPID; kill -QUIT $PPID; exit 5\n")
		term := writeScript(e, "term.sh", "kill -TERM $PPID; exec /bin/sleep 60\n")
		m.define(e, svc, e.Daemon()+`
COMMAND_args="/usr/bin/printf '<%s>\n' fixed 'two words'"
COMMAND_exit="`+status+`"
COMMAND_missing="/nonexistent/svcwrap-test/prog --flag"
COMMAND_interrupt="`+intr+`"
COMMAND_term="`+term+`"
`)
		literal := []string{"with space", "$HOME;touch " + e.Root + "/pwned|cat>y", "*", "`id`", "'quoted'", `"dq"`, "", "-n", "back\\slash", "new\nline"}
		want := "<fixed>\n<two words>\n"
		for _, a := range literal {
			want += "<" + a + ">\n"
		}
		check := func(when string) {
			t.Helper()
			r := e.Run(svc, "args", literal...)
			if checkCode(t, r, 0) && (r.Stdout != want || r.Stderr != "") {
				t.Errorf("%s: args: stdout %q stderr %q;\nwant stdout %q and nothing on stderr", when, r.Stdout, r.Stderr, want)
			}
			for _, code := range []int{0, 1, 3, 42, 255} {
				c := strconv.Itoa(code)
				r := e.Run(svc, "exit", c, "x y")
				if checkCode(t, r, code) && (r.Stdout != "out:"+c+"\nout:x y\n" || r.Stderr != "err:"+c+"\nerr:x y\n") {
					t.Errorf("%s: exit %d: output changed on its way through svcwrap:\n%s", when, code, r)
				}
			}
			r = e.Run(svc, "exit", "signal")
			checkCode(t, r, 128+int(syscall.SIGTERM))
			checkCode(t, e.Run(svc, "interrupt"), 5)
			checkCode(t, e.Run(svc, "term"), 128+int(syscall.SIGTERM))
			r = e.Run(svc, "missing")
			checkCode(t, r, 5)
			if !hasErrLine(r.Stderr, svc) || !strings.Contains(r.Stderr, "/nonexistent/svcwrap-test/prog") {
				t.Errorf("%s: missing program: want a message naming it:\n%s", when, r)
			}
		}
		check("stopped")
		noProcs(t, e, "after commands of a stopped service")
		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		st0, _ := procStat(pid)
		check("running")
		sameProcess(t, pid, st0.StartTime, "after commands")
		if _, err := os.Stat(filepath.Join(e.Root, "pwned")); err == nil {
			t.Errorf("an argument was run by a shell")
		}
	})
}

// userWithGroups picks a user that has supplementary groups in /etc/group (so
// that the test sees them applied), else nobody. It returns the name and the
// uid, gid and groups the kernel must show.
func userWithGroups(t *testing.T) (name string, uid, gid int, groups []int) {
	t.Helper()
	passwd, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	users := map[string][2]int{}
	for _, l := range strings.Split(string(passwd), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 4 {
			u, err1 := strconv.Atoi(f[2])
			g, err2 := strconv.Atoi(f[3])
			if err1 == nil && err2 == nil && u != 0 {
				users[f[0]] = [2]int{u, g}
			}
		}
	}
	grp, err := os.ReadFile("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	member := map[string][]int{}
	var order []string
	for _, l := range strings.Split(string(grp), "\n") {
		f := strings.Split(l, ":")
		if len(f) < 4 || f[3] == "" {
			continue
		}
		g, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		for _, u := range strings.Split(f[3], ",") {
			if _, ok := users[u]; ok {
				if member[u] == nil {
					order = append(order, u)
				}
				member[u] = append(member[u], g)
			}
		}
	}
	name = "nobody"
	if len(order) > 0 {
		name = order[0]
	}
	ids, ok := users[name]
	if !ok {
		t.Skip("no user with supplementary groups and no nobody in /etc/passwd")
	}
	groups = append([]int{ids[1]}, member[name]...)
	sort.Ints(groups)
	groups = slices.Compact(groups)
	return name, ids[0], ids[1], groups
}

// statusField is one line of a /proc/PID/status dump, e.g. "Uid".
func statusField(dump, key string) string {
	for _, l := range strings.Split(dump, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

func TestCommandVerbRunsAsTheService(t *testing.T) {
	requireRoot(t, "USER switching needs CAP_SETUID")
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		name, uid, gid, groups := userWithGroups(t)
		dir := filepath.Join(e.Root, "workdir")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		m.define(e, svc, e.Daemon()+`
USER=`+name+`
CHDIR=`+dir+`
UMASK=027
COMMAND_procstatus="/bin/cat /proc/self/status"
COMMAND_pwd=/bin/pwd
COMMAND_env=/usr/bin/env
COMMAND_greet="/usr/bin/printf '[%s]' $GREETING \"${GREETING}\" '$SECRET'"
COMMAND_touch="/usr/bin/touch `+dir+`/made-by-command"
`, `GREETING="hello world"`, `SECRET=s3cr3t`)
		os.Chown(dir, uid, gid)

		r := e.Run(svc, "procstatus")
		wantCode(t, r, 0)
		wantUid := fmt.Sprintf("%d %d %d %d", uid, uid, uid, uid)
		wantGid := fmt.Sprintf("%d %d %d %d", gid, gid, gid, gid)
		var g []string
		for _, x := range groups {
			g = append(g, strconv.Itoa(x))
		}
		if got := statusField(r.Stdout, "Uid"); got != wantUid {
			t.Errorf("command Uid: %q, want %q (USER %s)", got, wantUid, name)
		}
		if got := statusField(r.Stdout, "Gid"); got != wantGid {
			t.Errorf("command Gid: %q, want %q", got, wantGid)
		}
		if got := statusField(r.Stdout, "Groups"); got != strings.Join(g, " ") {
			t.Errorf("command Groups: %q, want exactly %q (USER %s's groups, none of root's)", got, strings.Join(g, " "), name)
		}
		if got := statusField(r.Stdout, "Umask"); got != "0027" {
			t.Errorf("command Umask: %q, want 0027 (UMASK)", got)
		}
		if got := statusField(r.Stdout, "CapEff"); got != "0000000000000000" {
			t.Errorf("command CapEff: %q, want no capabilities", got)
		}

		r = e.Run(svc, "pwd")
		if wantCode(t, r, 0); r.Stdout != dir+"\n" {
			t.Errorf("command cwd: %q, want CHDIR %s", r.Stdout, dir)
		}

		// The service environment exactly: fixed PATH, the caller's locale,
		// the env file; not the caller's other variables.
		cli := append(e.SvcwrapEnv(), "PATH=/opt/bogus/bin", "HOME=/root", "FOO=leak", "GREETING=from-caller", "LANG=C.UTF-8")
		r = e.ExecWith(ExecOpts{Env: cli}, e.InitScript(svc), "env")
		wantCode(t, r, 0)
		got := strings.Split(strings.TrimSpace(r.Stdout), "\n")
		want := []string{"PATH=" + fixedPath, "LANG=C.UTF-8", "SVCWRAP_TEST_ID=" + e.TestID, "GREETING=hello world", "SECRET=s3cr3t"}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("command environment:\n got %q\nwant %q", got, want)
		}

		// $VAR in the command line comes from the env files, unquoted it is
		// split into words, and (go-shellwords) even in single quotes.
		r = e.ExecWith(ExecOpts{Env: cli}, e.InitScript(svc), "greet")
		if wantCode(t, r, 0); r.Stdout != "[hello][world][hello world][s3cr3t]" {
			t.Errorf("greet: %q; want [hello][world][hello world][s3cr3t]", r.Stdout)
		}

		wantCode(t, e.Run(svc, "touch"), 0)
		fi, err := os.Stat(filepath.Join(dir, "made-by-command"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm() != 0o640 {
			t.Errorf("file made by the command: uid %d gid %d mode %04o; want %d %d 0640 (UMASK 027)", st.Uid, st.Gid, fi.Mode().Perm(), uid, gid)
		}

		// Usage never shows command lines or env values.
		r = e.Run(svc, "help")
		wantCode(t, r, 0)
		for _, secret := range []string{"s3cr3t", "hello world", "/proc/self/status", "/usr/bin/printf"} {
			if strings.Contains(r.Output(), secret) {
				t.Errorf("help shows %q:\n%s", secret, r)
			}
		}
	})
}

func TestCommandVerbRefusedWhenUserCannotApply(t *testing.T) {
	e := newEnv(t)
	marker := filepath.Join(e.Root, "ran")
	e.Script(svc, e.Daemon()+`
USER=svcwrap-test-no-such-user
COMMAND_mark="/usr/bin/touch `+marker+`"
GUARD=mark
RELOAD_SIGNAL=HUP
`)
	// The user does not exist: not configured (6), for root and non-root alike.
	r := e.Run(svc, "mark")
	checkCode(t, r, 6)
	if !hasErrLine(r.Stderr, svc) || !strings.Contains(r.Stderr, "svcwrap-test-no-such-user") {
		t.Errorf("want a message naming the user:\n%s", r)
	}
	checkCode(t, e.Run(svc, "start"), 6)
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the command ran although USER does not exist (as svcwrap's own user)")
	}
	noProcs(t, e, "after refused commands")
}

// getOK sends an HTTP GET to addr (tdaemon -listen) and reports whether it
// answered 200.
func getOK(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.Contains(line, " 200 ") {
		return fmt.Errorf("answer %q", line)
	}
	return nil
}

func TestGuardRefusesActionsAndKeepsTheDaemon(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		cfg := filepath.Join(e.Root, "app.conf")
		count := filepath.Join(e.Root, "guard-runs")
		guard := writeScript(e, "configtest.sh", `
echo run >> "$COUNT"
if [ -e "$CONFIG.hang" ]; then exec /bin/sleep 300; fi
if grep -q '^good$' "$CONFIG"; then echo "configuration ok" >&2; exit 0; fi
echo "app.conf:1: unknown directive" >&2
echo "configuration test failed"
exit 1
`)
		e.writeFile(cfg, "good\n", 0o644)
		sock, ev := e.Reporter(t)
		body := e.Daemon("-report", sock, "-listen", "127.0.0.1:0") + `
COMMAND_configtest="` + guard + `"
HELP_configtest="check app.conf"
GUARD=configtest
START_TIMEOUT=3s
`
		m.define(e, svc, body+"RELOAD_SIGNAL=HUP\n", "CONFIG="+cfg, "COUNT="+count)
		// A second service without reload: force-reload restarts it.
		m.define(e, "norel", body, "CONFIG="+cfg, "COUNT="+count)
		runs := func() int {
			b, _ := os.ReadFile(count)
			return strings.Count(string(b), "run")
		}

		wantCode(t, e.Run(svc, "configtest"), 0)
		wantCode(t, e.Run(svc, "start"), 0)
		pid, _ := supervised(t, e, svc)
		addr := ev.WaitFor(t, 15*time.Second, func(x Event) bool { return x.Ev == "listening" && x.Pid == pid }).Addr
		wantCode(t, e.Run("norel", "start"), 0)
		pid2, _ := supervised(t, e, "norel")
		ev.WaitFor(t, 15*time.Second, func(x Event) bool { return x.Ev == "listening" && x.Pid == pid2 })
		st, _ := procStat(pid)
		st2, _ := procStat(pid2)
		ev.Drain() // the start reports

		// A good configuration: reload signals, restart replaces the daemon,
		// and the guard runs once per action.
		n := runs()
		wantCode(t, e.Run(svc, "reload"), 0)
		if got := nextSignal(t, ev); got.Sig != "HUP" || got.Pid != pid {
			t.Fatalf("reload: report %s; want HUP to %d", got.Raw, pid)
		}
		if runs() != n+1 {
			t.Errorf("reload ran the guard %d times, want once", runs()-n)
		}

		// Break the configuration.
		e.writeFile(cfg, "bad\n", 0o644)
		checkCode(t, e.Run(svc, "configtest"), 1)
		for _, c := range []struct{ name, verb string }{
			{svc, "reload"}, {svc, "restart"}, {svc, "try-restart"}, {svc, "condrestart"}, {svc, "force-reload"},
			{"norel", "restart"}, {"norel", "force-reload"},
		} {
			n := runs()
			r := e.Run(c.name, c.verb)
			checkCode(t, r, 6)
			if !hasErrLine(r.Stderr, c.name) || !strings.Contains(r.Stderr, "app.conf:1: unknown directive") ||
				!strings.Contains(r.Stderr, "configuration test failed") {
				t.Errorf("%s %s: want the guard's output in the message:\n%s", c.name, c.verb, r)
			}
			if runs() != n+1 {
				t.Errorf("%s %s ran the guard %d times, want once", c.name, c.verb, runs()-n)
			}
			sameProcess(t, pid, st.StartTime, c.name+" "+c.verb)
			sameProcess(t, pid2, st2.StartTime, c.name+" "+c.verb)
			if got := e.Pid(t, svc); got != pid {
				t.Errorf("%s %s: pidfile now names %d, want %d", c.name, c.verb, got, pid)
			}
			if err := getOK(addr); err != nil {
				t.Errorf("%s %s: the daemon no longer serves on %s: %v", c.name, c.verb, addr, err)
			}
		}
		for _, got := range ev.Drain() {
			if got.Ev == "signal" || got.Ev == "start" {
				t.Errorf("a refused action reached a daemon: %s", got.Raw)
			}
		}

		// A guard that hangs is killed after START_TIMEOUT (with what it
		// started), and the action is refused.
		e.writeFile(cfg+".hang", "", 0o644)
		r := e.Run(svc, "reload")
		checkCode(t, r, 6)
		if !strings.Contains(r.Stderr, "START_TIMEOUT") {
			t.Errorf("a hanging guard: want a message naming the bound:\n%s", r)
		}
		eventually(t, 15*time.Second, "the hung guard's sleep to be gone", func() (bool, string) {
			for _, p := range e.Procs() {
				if strings.Contains(p.Cmdline, "sleep") {
					return false, p.Cmdline
				}
			}
			return true, ""
		})
		os.Remove(cfg + ".hang")
		sameProcess(t, pid, st.StartTime, "after a hung guard")

		// A stopped service with a broken configuration does not start, and
		// leaves nothing behind.
		wantCode(t, e.Run(svc, "stop"), 0)
		waitExit(t, pid, 15*time.Second)
		for _, verb := range []string{"start", "restart"} {
			checkCode(t, e.Run(svc, verb), 6)
			checkCode(t, e.Run(svc, "status"), 3)
			noPidfile(t, e, svc)
		}
		// try-restart and force-reload leave a stopped service alone: exit 0.
		checkCode(t, e.Run(svc, "try-restart"), 0)
		checkCode(t, e.Run(svc, "force-reload"), 0)
		checkCode(t, e.Run(svc, "reload"), 7)
		checkCode(t, e.Run(svc, "status"), 3)

		// Fixed again: restart starts, with one guard run.
		e.writeFile(cfg, "good\n", 0o644)
		n = runs()
		wantCode(t, e.Run(svc, "restart"), 0)
		if runs() != n+1 {
			t.Errorf("restart ran the guard %d times, want once", runs()-n)
		}
		supervised(t, e, svc)
		wantCode(t, e.Run("norel", "force-reload"), 0)
		if p, _ := supervised(t, e, "norel"); p == pid2 {
			t.Errorf("force-reload without RELOAD_SIGNAL did not restart norel (pid %d)", p)
		}
	})
}

func TestReloadCommand(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(e.Root, "reloaded")
	rc := writeScript(e, "reload.sh", `
echo "reloading in $(pwd) with $GREETING"
echo "$GREETING" > "$OUT"
exit "${RC:-0}"
`)
	e.Script(svc, e.Daemon()+`
RELOAD_COMMAND="`+rc+`"
CHDIR=`+e.Root+`
`, "GREETING=hi", "OUT="+out)
	wantCode(t, e.Run(svc, "reload"), 7)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("RELOAD_COMMAND ran for a stopped service")
	}
	wantCode(t, e.Run(svc, "start"), 0)
	pid, _ := supervised(t, e, svc)
	r := e.Run(svc, "reload")
	wantCode(t, r, 0)
	if !strings.Contains(r.Stdout, "reloading in "+e.Root+" with hi") {
		t.Errorf("reload: the command's output did not pass through:\n%s", r)
	}
	if b, _ := os.ReadFile(out); string(b) != "hi\n" {
		t.Errorf("RELOAD_COMMAND wrote %q, want the env file's value", b)
	}
	// A failing RELOAD_COMMAND is LSB 1, not its own exit code.
	e.WriteEnvFile(svc, "GREETING=hi", "OUT="+out, "RC=42")
	r = e.Run(svc, "reload")
	checkCode(t, r, 1)
	if !hasErrLine(r.Stderr, svc) {
		t.Errorf("failed reload: no message:\n%s", r)
	}
	if !alive(pid) {
		t.Errorf("a failed reload killed the daemon")
	}
	wantCode(t, e.Run(svc, "force-reload"), 1)
}

func TestUsageListsCustomVerbs(t *testing.T) {
	forEachMode(t, func(t *testing.T, e *Env, m defMode) {
		m.define(e, svc, e.Daemon()+`
COMMAND_configtest="/bin/true --secret-flag $PASSWORD"
HELP_configtest="check the configuration"
SIGNAL_REOPEN_LOGS=USR1
COMMAND_backup=/bin/true
HELP_backup="copy the data to DIR"
`, "PASSWORD=hunter2")
		r := e.Run(svc, "help")
		wantCode(t, r, 0)
		if r.Stderr != "" {
			t.Errorf("help wrote to stderr:\n%s", r)
		}
		usage := r.Stdout
		builtins := []string{"start", "stop", "restart", "try-restart", "reload", "force-reload", "status", "signal", "help"}
		custom := []string{"configtest", "reopen-logs", "backup"}
		var verbs []string
		for _, l := range strings.Split(usage, "\n") {
			if strings.HasPrefix(l, "  ") {
				verbs = append(verbs, strings.Fields(l)[0])
			}
		}
		if want := append(slices.Clone(builtins), custom...); !slices.Equal(verbs, want) {
			t.Errorf("usage lists %q; want built-in verbs, then custom ones in file order: %q\n%s", verbs, want, usage)
		}
		for _, line := range []string{"configtest", "check the configuration", "backup", "copy the data to DIR", "reopen-logs"} {
			if !strings.Contains(usage, line) {
				t.Errorf("usage lacks %q:\n%s", line, usage)
			}
		}
		for _, secret := range []string{"hunter2", "--secret-flag", "/bin/true"} {
			if strings.Contains(usage, secret) {
				t.Errorf("usage shows %q:\n%s", secret, usage)
			}
		}

		r = e.Run(svc, "frobnicate")
		checkCode(t, r, 3)
		if !strings.Contains(r.Stderr, usage) || r.Stdout != "" {
			t.Errorf("unknown verb: want the same usage on stderr, nothing on stdout:\n%s", r)
		}
		// Typed with an underscore: still unknown, but the message says which.
		r = e.Run(svc, "reopen_logs")
		checkCode(t, r, 3)
		if !strings.Contains(r.Stderr, "reopen-logs?") {
			t.Errorf("reopen_logs: want a hint naming reopen-logs:\n%s", r)
		}
		checkCode(t, e.Run(svc, "CONFIGTEST"), 3)
		noProcs(t, e, "after usage")
	})
}

func TestVerbNamesAreValidated(t *testing.T) {
	e := newEnv(t)
	lines := []string{
		e.Daemon(),
		"COMMAND_START=/bin/true",           // shadows start
		"SIGNAL_Force_Reload=HUP",           // shadows force-reload
		"COMMAND_condrestart=/bin/true",     // shadows the alias
		"COMMAND_reopen_logs=/bin/true",     // ok
		"SIGNAL_REOPEN_LOGS=USR1",           // same verb as the line before
		"COMMAND_=/bin/true",                // no name
		"HELP_reopen_logs=one",              // ok
		"HELP_REOPEN_LOGS=two",              // second help for the same verb
		"HELP_status=mine",                  // help for a built-in verb
		"HELP_nothing=orphan",               // no such verb
		"GUARD=missing",                     // no such verb
		"COMMAND_x=\"/bin/true ; /bin/rm\"", // shell operator
		"SIGNAL_y=NOPE",                     // bad signal
	}
	def := e.Script("bad", strings.Join(lines, "\n"))
	// Script mode: line 1 is #!, then the LSB header.
	header := strings.Count(lsbHeader("bad"), "\n") + 1
	at := func(i int) string { return fmt.Sprintf("%s:%d:", def, header+i+1) }
	r := e.Admin("check", def)
	checkCode(t, r, 6)
	for i := 1; i < len(lines); i++ {
		if i == 4 || i == 7 {
			if strings.Contains(r.Output(), at(i)) {
				t.Errorf("check complains about the good line %q:\n%s", lines[i], r)
			}
			continue
		}
		if !strings.Contains(r.Output(), at(i)) {
			t.Errorf("check does not name %s (%s):\n%s", at(i), lines[i], r)
		}
	}
	// The same validation at load: every verb refuses the definition.
	for _, verb := range []string{"start", "reopen-logs", "help"} {
		r := e.Run("bad", verb)
		checkCode(t, r, 6)
		if !strings.Contains(r.Stderr, at(1)) {
			t.Errorf("%s: want the problems with file:line:\n%s", verb, r)
		}
	}
	noProcs(t, e, "after a refused definition")

	// Names are lower-cased with _ as -; GUARD may spell its verb like a key.
	good := e.Script("good", e.Daemon()+"\nCOMMAND_Config_Test=/bin/true\nGUARD=CONFIG_TEST\n")
	wantCode(t, e.Admin("check", good), 0)
	wantCode(t, e.Run("good", "config-test"), 0)
}
