package definition

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Lister.Load, list's loader, gives exactly Load's problems and, once program()
// has resolved DAEMON, the same definition except what only start needs (USER and
// GROUP lookups, HostProblems), with definitions that load, that are broken, that
// use env files, and (as root) that lie in untrusted or symlinked directories.
func TestListerLoadMatchesLoad(t *testing.T) {
	root := t.TempDir()
	mk := func(rel string, mode os.FileMode) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write := func(p, body string, mode os.FileMode) {
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	initd := mk("init.d", 0o755)
	open := mk("open", 0o777) // writable by anyone, not sticky
	defaults := mk("default", 0o755)
	paths := Paths{InitDir: initd, ConfDir: mk("conf", 0o755), RunDir: mk("run", 0o755), PidDir: mk("pid", 0o755), LogDir: mk("log", 0o755), Defaults: []string{defaults, filepath.Join(root, "missing")}}
	for link, target := range map[string]string{"via-link": open, "via-safe": initd} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(defaults, "withenv"), "SECRET=\"s3cret\"\nBIN=/bin/sleep\n", 0o644)
	write(filepath.Join(defaults, "badenv"), "NOT VALID\n", 0o644)
	if err := os.Symlink(filepath.Join(root, "nowhere"), filepath.Join(defaults, "dangling")); err != nil {
		t.Fatal(err)
	}
	head := "#!/usr/sbin/svcwrap\n### BEGIN INIT INFO\n# Provides: x\n# Required-Start: $remote_fs\n# Short-Description: a test\n### END INIT INFO\n"
	defs := map[string]string{
		"ok":        head + "DAEMON=\"/bin/sleep 1000\"\nREADY=\"tcp 127.0.0.1:1\"\nRESPAWN_DELAY=0\nLOG=none\n",
		"onpath":    "DAEMON=sleep 1000\nCHECK=\"exec /bin/true\"\n",
		"missing":   "DAEMON=/nonexistent/prog\n",
		"relative":  "DAEMON=bin/prog\n",
		"nodaemon":  head + "DESC=x\n",
		"badkeys":   "DAEMON=/bin/sleep\nRESPAWN=sometimes\nFOO=1\nSTART_WAIT=10m\n",
		"user":      "DAEMON=/bin/sleep\nUSER=no-such-user-svcwrap\nGROUP=no-such-group\n",
		"rootuser":  "DAEMON=/bin/sleep\nUSER=root\n",
		"withenv":   "DAEMON=\"${BIN} 5\"\nCOMMAND_SHOW=\"/bin/echo ${SECRET}\"\n",
		"badenv":    "DAEMON=/bin/sleep\n",
		"dangling":  "DAEMON=/bin/sleep\n",
		"envfile":   "DAEMON=/bin/sleep\nENV_FILE=\"/nonexistent/env relative/env\"\n",
		"syntax":    "DAEMON=/bin/sleep\nexport =1\n",
		"badheader": "### BEGIN INIT INFO\n# Provides: x\n",
		"verbs":     "DAEMON=/bin/sleep\nCOMMAND_STATUS=/bin/true\nSIGNAL_ROTATE=USR1\nHELP_ROTATE=\"reopen logs\"\nGUARD=check\n",
	}
	var files [][2]string // name, path
	for name, body := range defs {
		p := filepath.Join(initd, name)
		write(p, body, 0o755)
		files = append(files, [2]string{name, p})
	}
	// Files whose directories decide (as root): untrusted, reached through a
	// symlinked directory, a symlink into an untrusted directory, group-writable.
	write(filepath.Join(open, "inopen"), defs["ok"], 0o755)
	files = append(files, [2]string{"inopen", filepath.Join(open, "inopen")}, [2]string{"inopen", filepath.Join(root, "via-link", "inopen")})
	if err := os.Symlink(filepath.Join(open, "inopen"), filepath.Join(initd, "linked")); err != nil {
		t.Fatal(err)
	}
	files = append(files, [2]string{"linked", filepath.Join(initd, "linked")})
	write(filepath.Join(initd, "gw"), defs["ok"], 0o775)
	files = append(files, [2]string{"gw", filepath.Join(initd, "gw")}, [2]string{"gone", filepath.Join(initd, "gone")},
		[2]string{"ok", filepath.Join(root, "via-safe", "ok")}, [2]string{"withenv", filepath.Join(root, "via-safe", "withenv")})

	ls := NewLister(paths)
	for _, f := range files {
		name, file := f[0], f[1]
		t.Run(name+"@"+filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			d1, err1 := Load(name, file, paths)
			d2, err2 := ls.Load(name, file)
			if fmt.Sprint(err1) != fmt.Sprint(err2) {
				t.Fatalf("Load: %v\nLister.Load: %v", err1, err2)
			}
			if err1 != nil {
				t.Log(err1)
				return
			}
			if !d2.pathLater || d2.Path != "" {
				t.Errorf("Lister.Load resolved DAEMON already")
			}
			d2.Program()
			if fmt.Sprint(d1.PathErr) != fmt.Sprint(d2.PathErr) {
				t.Errorf("PathErr: %v, Lister: %v", d1.PathErr, d2.PathErr)
			}
			for _, d := range []*Definition{d1, d2} {
				d.HostProblems, d.Cred, d.UserErr, d.PathErr = nil, nil, nil, nil
			}
			if !reflect.DeepEqual(d1, d2) {
				t.Errorf("definitions differ:\nLoad        %+v\nLister.Load %+v", d1, d2)
			}
		})
	}
}
