package integration_test

// Attacks on svcwrap running as root, each attempted for real and asserted to
// be refused: definitions and env files others can change (sshd StrictModes),
// symlinks and hard links planted where root writes, an unsafe RUNDIR,
// privileges kept after USER, shell injection through custom verb arguments,
// and secrets from env files leaking into output, logs or state.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const nobody = 65534

// stickyDir makes ROOT/NAME a world-writable sticky directory, like /tmp.
func stickyDir(t *testing.T, e *Env, name string) string {
	t.Helper()
	d := filepath.Join(e.Root, name)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	return d
}

// plantSymlink plants link -> target owned by nobody, as another local user would.
func plantSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(link, nobody, nobody); err != nil {
		t.Fatal(err)
	}
}

// victim is a root-only file an attacker would like root to overwrite.
func victim(t *testing.T, e *Env) (path string, unchanged func()) {
	t.Helper()
	path = filepath.Join(e.Root, "shadow")
	const content = "root:$6$secret:19000:0:99999:7:::\n"
	e.writeFile(path, content, 0o600)
	return path, func() {
		t.Helper()
		b, err := os.ReadFile(path)
		var st syscall.Stat_t
		syscall.Stat(path, &st)
		if err != nil || string(b) != content || st.Mode&0o7777 != 0o600 || st.Uid != 0 {
			t.Errorf("the victim file %s was changed: %q, mode %04o, uid %d, %v", path, b, st.Mode&0o7777, st.Uid, err)
		}
	}
}

func TestSecurityStrictModes(t *testing.T) {
	requireRoot(t, "strict modes apply only when svcwrap runs as root")
	cases := []struct {
		name  string
		apply func(e *Env, def, env string) (fix string)
	}{
		{"definition_group_writable", func(e *Env, def, env string) string { os.Chmod(def, 0o775); return "chmod go-w " + def }},
		{"definition_world_writable", func(e *Env, def, env string) string { os.Chmod(def, 0o757); return "chmod go-w " + def }},
		{"definition_not_root", func(e *Env, def, env string) string {
			os.Chown(def, nobody, nobody)
			return "chown root:root " + def
		}},
		{"definition_dir_writable", func(e *Env, def, env string) string {
			os.Chmod(filepath.Dir(def), 0o777)
			return "chmod go-w " + filepath.Dir(def)
		}},
		{"definition_dir_not_root", func(e *Env, def, env string) string {
			os.Chown(filepath.Dir(def), nobody, nobody)
			return "chown root " + filepath.Dir(def)
		}},
		{"env_file_world_writable", func(e *Env, def, env string) string { os.Chmod(env, 0o646); return "chmod go-w " + env }},
		{"env_file_not_root", func(e *Env, def, env string) string {
			os.Chown(env, nobody, nobody)
			return "chown root:root " + env
		}},
		{"env_file_symlink_to_users_file", func(e *Env, def, env string) string {
			mine := filepath.Join(e.Root, "users-env")
			e.writeFile(mine, "SVCWRAP_TEST_ID='"+e.TestID+"'\n", 0o644)
			os.Chown(mine, nobody, nobody)
			os.Remove(env)
			os.Symlink(mine, env)
			return "chown root:root " + env
		}},
	}
	for _, c := range cases {
		for _, m := range defModes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				e := newEnv(t)
				def := m.define(e, svc, e.Daemon())
				env := filepath.Join(e.DefaultDir, svc)
				fix := c.apply(e, def, env)
				r := e.Run(svc, "start")
				wantCode(t, r, 6)
				if !strings.Contains(r.Stderr, "fix: "+fix) || !hasErrLine(r.Stderr, svc) {
					t.Errorf("start: want the fix %q in:\n%s", fix, r)
				}
				r = e.Admin("check", svc)
				wantCode(t, r, 6)
				if !strings.Contains(r.Stderr, "fix: "+fix) {
					t.Errorf("check: want the fix %q in:\n%s", fix, r)
				}
				noPidfile(t, e, svc)
				noProcs(t, e, "after a refused start")
			})
		}
	}
	t.Run("sticky_dir_is_fine", func(t *testing.T) {
		e := newEnv(t)
		def := e.Script(svc, e.Daemon())
		os.Chmod(filepath.Dir(def), 0o777|os.ModeSticky)
		wantCode(t, e.Admin("check", def), 0)
	})
}

// A local user plants a symlink (or hard link) where root will write the
// pidfile or the log, in a world-writable sticky directory like /tmp: the
// start is refused with a clear error, the target is untouched and nothing runs.
func TestSecurityPlantedLinks(t *testing.T) {
	requireRoot(t, "the attack is on root's writes")
	cases := []struct {
		name  string
		setup func(t *testing.T, e *Env, tmp, target string) (keys, want string)
	}{
		{"pidfile_symlink", func(t *testing.T, e *Env, tmp, target string) (string, string) {
			plantSymlink(t, target, filepath.Join(tmp, "x.pid"))
			return "PIDFILE=" + tmp + "/x.pid", "PIDFILE " + tmp + "/x.pid: is a symlink (owned by uid 65534)"
		}},
		{"log_symlink", func(t *testing.T, e *Env, tmp, target string) (string, string) {
			plantSymlink(t, target, filepath.Join(tmp, "x.log"))
			return "LOG=" + tmp + "/x.log", "LOG " + tmp + "/x.log: is a symlink (owned by uid 65534)"
		}},
		{"log_hardlink", func(t *testing.T, e *Env, tmp, target string) (string, string) {
			if err := os.Link(target, filepath.Join(tmp, "x.log")); err != nil {
				t.Fatal(err)
			}
			return "LOG=" + tmp + "/x.log", "has 2 hard links"
		}},
		{"pidfile_users_file", func(t *testing.T, e *Env, tmp, target string) (string, string) {
			p := filepath.Join(tmp, "x.pid")
			e.writeFile(p, "1\n", 0o644)
			os.Chown(p, nobody, nobody)
			return "PIDFILE=" + p, "is owned by uid 65534"
		}},
		{"pidfile_dir_world_writable", func(t *testing.T, e *Env, tmp, target string) (string, string) {
			d := filepath.Join(e.Root, "open")
			os.Mkdir(d, 0o777)
			os.Chmod(d, 0o777)
			return "PIDFILE=" + d + "/x.pid", "fix: chmod go-w " + d
		}},
		{"log_dir_users", func(t *testing.T, e *Env, tmp, target string) (string, string) {
			d := filepath.Join(e.Root, "users")
			os.Mkdir(d, 0o755)
			os.Chown(d, nobody, nobody)
			return "LOG=" + d + "/x.log", "is owned by uid 65534"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tmp := stickyDir(t, e, "tmp")
			target, unchanged := victim(t, e)
			keys, want := c.setup(t, e, tmp, target)
			e.Script(svc, e.Daemon()+"\n"+keys)
			r := e.Run(svc, "start")
			wantCode(t, r, 6)
			if !strings.Contains(r.Stderr, want) || !hasErrLine(r.Stderr, svc) {
				t.Errorf("start: want %q in:\n%s", want, r)
			}
			unchanged()
			noProcs(t, e, "after a refused start")
			// Not running; a planted pidfile may make it "dead, pidfile exists".
			wantCode(t, e.Run(svc, "status"), 3, 1)
		})
	}
	// Without a planted link, the same sticky directory works, and the files
	// are root's, regular, with safe modes.
	t.Run("sticky_dir_clean", func(t *testing.T) {
		e := newEnv(t)
		tmp := stickyDir(t, e, "tmp")
		e.Script(svc, e.Daemon()+"\nPIDFILE="+tmp+"/x.pid\nLOG="+tmp+"/x.log")
		wantCode(t, e.Run(svc, "start"), 0)
		wantMode(t, tmp+"/x.pid", 0o644)
		wantMode(t, tmp+"/x.log", 0o640)
		wantCode(t, e.Run(svc, "stop"), 0)
		noProcs(t, e, "after stop")
	})
}

// wantMode checks that path is a regular file owned by root with mode perm.
func wantMode(t *testing.T, path string, perm uint32) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Mode&0o7777 != perm || st.Uid != 0 || st.Nlink != 1 {
		t.Errorf("%s: mode %o, uid %d, nlink %d; want a regular file %04o owned by root", path, st.Mode, st.Uid, st.Nlink, perm)
	}
}

func TestSecurityFileModes(t *testing.T) {
	requireRoot(t, "ownership is checked against root")
	e := newEnv(t)
	os.Remove(e.RunDir) // svcwrap creates it
	e.Script(svc, e.Daemon())
	old := syscall.Umask(0) // a careless caller's umask must not widen svcwrap's modes
	r := e.Run(svc, "start")
	syscall.Umask(old)
	wantCode(t, r, 0)
	wantMode(t, e.PidfilePath(svc), 0o644)
	wantMode(t, filepath.Join(e.RunDir, svc+".state"), 0o644)
	wantMode(t, filepath.Join(e.RunDir, svc+".lock"), 0o600)
	wantMode(t, filepath.Join(e.RunDir, svc+".wd.lock"), 0o600)
	wantMode(t, e.LogPath(svc), 0o640)
	var st syscall.Stat_t
	if err := syscall.Stat(e.RunDir, &st); err != nil || st.Mode&0o7777 != 0o755 || st.Uid != 0 {
		t.Errorf("RUNDIR %s: mode %04o uid %d %v; want 0755 root", e.RunDir, st.Mode&0o7777, st.Uid, err)
	}
	wantCode(t, e.Run(svc, "stop"), 0)
	noProcs(t, e, "after stop")
}

func TestSecurityUnsafeRunDir(t *testing.T) {
	requireRoot(t, "ownership is checked against root")
	cases := []struct {
		name  string
		apply func(e *Env) string
	}{
		{"world_writable", func(e *Env) string { os.Chmod(e.RunDir, 0o777|os.ModeSticky); return "fix: chmod 0755 " + e.RunDir }},
		{"not_root", func(e *Env) string { os.Chown(e.RunDir, nobody, nobody); return "fix: chown root:root " + e.RunDir }},
		{"symlink", func(e *Env) string {
			os.Remove(e.RunDir)
			os.Symlink(stickyDir(e.t, e, "elsewhere"), e.RunDir)
			return "is a symlink"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.Script(svc, e.Daemon())
			want := c.apply(e)
			r := e.Run(svc, "start")
			wantCode(t, r, 6)
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("start: want %q in:\n%s", want, r)
			}
			noProcs(t, e, "after a refused start")
		})
	}
}

// procIDs is the identity part of /proc/PID/status (or of a status file a
// command printed).
type procIDs struct {
	Uid, Gid               []int
	Groups                 []int
	CapInh, CapPrm, CapEff string
	CapAmb                 string
	NoNewPrivs, Seccomp    string
	raw                    map[string]string
}

func parseStatus(text string) procIDs {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	ints := func(s string) []int {
		var out []int
		for _, f := range strings.Fields(s) {
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
		return out
	}
	return procIDs{Uid: ints(m["Uid"]), Gid: ints(m["Gid"]), Groups: ints(m["Groups"]),
		CapInh: m["CapInh"], CapPrm: m["CapPrm"], CapEff: m["CapEff"], CapAmb: m["CapAmb"], raw: m}
}

// userGroups is what /etc/passwd and /etc/group say about user: uid, primary
// gid, and the gids of the groups listing the user as a member.
func userGroups(t *testing.T, user string) (uid, gid int, member []int) {
	t.Helper()
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 4 && f[0] == user {
			uid, _ = strconv.Atoi(f[2])
			gid, _ = strconv.Atoi(f[3])
			found = true
		}
	}
	if !found {
		t.Skipf("no user %s on this host", user)
	}
	b, err = os.ReadFile("/etc/group")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) >= 4 && slices.Contains(strings.Split(f[3], ","), user) {
			g, _ := strconv.Atoi(f[2])
			member = append(member, g)
		}
	}
	return uid, gid, member
}

// checkDropped asserts that ids are exactly user's: every uid and gid, the
// supplementary groups from /etc/group (the primary group may be among them),
// never root's group 0, and no capability at all.
func checkDropped(t *testing.T, what string, ids procIDs, uid, gid int, member []int) {
	t.Helper()
	for _, u := range ids.Uid {
		if u != uid {
			t.Errorf("%s: Uid %v, want all %d", what, ids.Uid, uid)
			break
		}
	}
	for _, g := range ids.Gid {
		if g != gid {
			t.Errorf("%s: Gid %v, want all %d", what, ids.Gid, gid)
			break
		}
	}
	if len(ids.Uid) != 4 || len(ids.Gid) != 4 {
		t.Errorf("%s: Uid %v Gid %v: want 4 each", what, ids.Uid, ids.Gid)
	}
	got := slices.Clone(ids.Groups)
	got = slices.DeleteFunc(got, func(g int) bool { return g == gid })
	slices.Sort(got)
	want := slices.Clone(member)
	want = slices.DeleteFunc(want, func(g int) bool { return g == gid })
	slices.Sort(want)
	if !slices.Equal(got, want) || slices.Contains(ids.Groups, 0) && gid != 0 {
		t.Errorf("%s: Groups %v; want exactly %v (plus the primary %d at most)", what, ids.Groups, want, gid)
	}
	zero := "0000000000000000"
	if ids.CapInh != zero || ids.CapPrm != zero || ids.CapEff != zero || (ids.CapAmb != "" && ids.CapAmb != zero) {
		t.Errorf("%s: capabilities left: CapInh %s CapPrm %s CapEff %s CapAmb %s", what, ids.CapInh, ids.CapPrm, ids.CapEff, ids.CapAmb)
	}
}

func TestSecurityUserDropsPrivileges(t *testing.T) {
	requireRoot(t, "switching users needs root")
	for _, user := range []string{"postgres", "nobody"} {
		t.Run(user, func(t *testing.T) {
			uid, gid, member := userGroups(t, user)
			e := newEnv(t)
			e.Script(svc, e.Daemon()+"\nUSER="+user+"\nCOMMAND_ids=\"/bin/cat /proc/self/status\"\n")
			wantCode(t, e.Run(svc, "start"), 0)
			pid, _ := supervised(t, e, svc)
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				t.Fatal(err)
			}
			checkDropped(t, "daemon", parseStatus(string(b)), uid, gid, member)

			r := e.Run(svc, "ids")
			wantCode(t, r, 0)
			checkDropped(t, "COMMAND_ids", parseStatus(r.Stdout), uid, gid, member)
			if len(member) > 0 {
				t.Logf("%s: supplementary groups %v checked", user, member)
			}
			wantCode(t, e.Run(svc, "stop"), 0)
			waitExit(t, pid, 10*time.Second)
		})
	}
}

// Custom verb arguments are argv: shell syntax in them is never run.
func TestSecurityVerbArgsNoShell(t *testing.T) {
	e := newEnv(t)
	pwned := filepath.Join(e.Root, "pwned")
	e.Script(svc, e.Daemon()+"\nCOMMAND_show=\"/usr/bin/printf [%s]\"\n")
	args := []string{
		"; touch " + pwned + "1",
		"$(touch " + pwned + "2)",
		"`touch " + pwned + "3`",
		"&& touch " + pwned + "4",
		"| touch " + pwned + "5",
		"> " + pwned + "6",
		"a b", "*", "${PATH}", "'quoted'", `"dq"`, "\\", "",
	}
	r := e.Exec(e.InitScript(svc), append([]string{"show"}, args...)...)
	wantCode(t, r, 0)
	want := ""
	for _, a := range args {
		want += "[" + a + "]"
	}
	if r.Stdout != want {
		t.Errorf("printf got other arguments:\n got %q\nwant %q", r.Stdout, want)
	}
	for i := 1; i <= 6; i++ {
		if _, err := os.Lstat(fmt.Sprintf("%s%d", pwned, i)); err == nil {
			t.Errorf("%s%d exists: an argument went through a shell", pwned, i)
		}
	}
}

// A unique secret in the env file never shows in status, list, list --json,
// check, help, error messages (also about that very line), logs, the state
// file, or the watchdog's command line and environment.
func TestSecuritySecretsNeverShown(t *testing.T) {
	const secret = "Sekr3t-7f1c9a-do-not-print"
	e := newEnv(t)
	noSecret := func(what, text string) {
		t.Helper()
		if strings.Contains(text, secret) || strings.Contains(text, "7f1c9a") {
			t.Errorf("%s shows the secret:\n%s", what, text)
		}
	}
	e.Script(svc, e.Daemon()+"\nCOMMAND_fail=\"/bin/sh -c 'exit 3'\"\nSIGNAL_poke=USR1\n", "API_TOKEN="+secret, "OTHER=${API_TOKEN}")
	for _, argv := range [][]string{{"start"}, {"status"}, {"help"}, {"fail"}, {"poke"}, {"signal", "USR2"}, {"nosuchverb"}, {"reload"}} {
		r := e.Exec(e.InitScript(svc), argv...)
		noSecret(strings.Join(argv, " "), r.Output())
	}
	pid, wd := supervised(t, e, svc)
	env, _ := procEnviron(pid)
	if !slices.Contains(env, "API_TOKEN="+secret) {
		t.Errorf("the daemon did not get API_TOKEN (environ %q)", env)
	}
	for _, argv := range [][]string{{"list"}, {"list", "--json"}, {"check", svc}, {"check", e.InitScript(svc)}, {"run", svc, "status"}} {
		noSecret("svcwrap "+strings.Join(argv, " "), e.Admin(argv...).Output())
	}
	wenv, _ := procEnviron(wd)
	noSecret("the watchdog's environment", strings.Join(wenv, "\n"))
	noSecret("the watchdog's command line", procCmdline(wd))

	// Bad values that come from the secret: errors name keys and variables.
	e.WriteEnvFile(svc, "API_TOKEN="+secret, "BROKEN="+secret+"; echo", "NUM=12")
	r := e.Admin("check", svc)
	wantCode(t, r, 6)
	noSecret("check with a bad env line", r.Output())
	if !strings.Contains(r.Stderr, filepath.Join(e.DefaultDir, svc)+":3: unquoted value of BROKEN contains") {
		t.Errorf("check: want the env file's line 3 and key BROKEN:\n%s", r)
	}
	noSecret("status with a bad env file", e.Run(svc, "status").Output())
	noSecret("stop with a bad env file", e.Run(svc, "stop").Output())
	waitExit(t, pid, 10*time.Second)

	e.WriteEnvFile(svc, "API_TOKEN="+secret)
	for key, val := range map[string]string{
		"RESPAWN_DELAY": "${API_TOKEN}", "PIDFILE": "run/${API_TOKEN}", "USER": "${API_TOKEN}",
		"NORMAL_EXIT": `"0 ${API_TOKEN}"`, "LIMIT_NOFILE": "1:${API_TOKEN}", "READY": `"tcp ${API_TOKEN}"`,
		"DAEMON": `"/nonexistent/${API_TOKEN}"`,
	} {
		body := e.Daemon() + "\n"
		if key == "DAEMON" {
			body = ""
		}
		e.Script(svc, body+key+"="+val+"\n", "API_TOKEN="+secret)
		for _, r := range []Result{e.Admin("check", svc), e.Run(svc, "start"), e.Admin("list"), e.Run(svc, "status")} {
			noSecret(key+": "+r.Cmd, r.Output())
		}
		noProcs(t, e, "after refused starts")
	}

	// A READY probe whose URL holds the secret fails: the reason is shown by
	// start and kept in the state file, without the secret.
	e.Script(svc, e.Daemon()+"\nSTART_WAIT=0\nSTART_TIMEOUT=1s\nREADY=\"http http://user:${API_TOKEN}@127.0.0.1:1/\"\n", "API_TOKEN="+secret)
	r = e.Run(svc, "start")
	wantCode(t, r, 1)
	noSecret("a failed READY", r.Output())
	noSecret("status after a failed READY", e.Run(svc, "status").Output())
	noProcs(t, e, "after a failed start")

	// Files svcwrap wrote.
	filepath.Walk(e.Root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() || strings.HasPrefix(p, e.DefaultDir) || fi.Size() > 1<<20 {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil {
			noSecret(p, string(b))
		}
		return nil
	})
	var st map[string]any
	if b, err := os.ReadFile(filepath.Join(e.RunDir, svc+".state")); err == nil {
		json.Unmarshal(b, &st)
		t.Logf("state after a failed READY: %v", st["reason"])
	}
}

// A pidfile another user could have written names a process that runs
// DAEMON's very program (another instance): svcwrap never signals it.
func TestSecurityUntrustedPidfile(t *testing.T) {
	requireRoot(t, "trust is judged against root")
	e := newEnv(t)
	sock, ev := e.Reporter(t)
	p := startProc(t, nil, e.TDaemon, "-report", sock)
	ev.WaitFor(t, 10*time.Second, isStart)
	e.Script(svc, e.Daemon())
	pf := e.PidfilePath(svc)
	e.writeFile(pf, fmt.Sprintf("%d\n", p.Pid), 0o644)
	os.Chown(pf, nobody, nobody)

	r := e.Run(svc, "status")
	wantCode(t, r, 1)
	if !strings.Contains(r.Stdout, "pidfile not trusted") {
		t.Errorf("status: want the reason:\n%s", r)
	}
	wantCode(t, e.Run(svc, "signal", "TERM"), 7)
	wantCode(t, e.Run(svc, "stop"), 0)
	if !alive(p.Pid) {
		t.Fatalf("the process %d named by an untrusted pidfile was killed", p.Pid)
	}
	for _, got := range ev.Drain() {
		if got.Ev == "signal" {
			t.Errorf("the process named by an untrusted pidfile got a signal: %s", got.Raw)
		}
	}
}
