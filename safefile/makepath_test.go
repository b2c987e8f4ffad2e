package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestMakePath(t *testing.T) {
	root := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	d := filepath.Join(root, "a", "b", "run")
	if err := MakePath(d, true, 0o775|os.ModeSetgid, uid, gid); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(d)
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o775 || fi.Mode()&os.ModeSetgid == 0 {
		t.Fatalf("%s: %v %v", d, fi.Mode(), err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "a")); fi.Mode().Perm() != 0o755 {
		t.Errorf("a parent made with mode %v, want 0755", fi.Mode())
	}
	// Again: nothing changes, nothing fails.
	if err := MakePath(d, true, 0o775|os.ModeSetgid, uid, gid); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(d, "x.pid")
	os.WriteFile(f, []byte("kept\n"), 0o600)
	if err := MakePath(f, false, 0o640, uid, gid); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); string(b) != "kept\n" {
		t.Errorf("an existing file was truncated: %q", b)
	}
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o640 {
		t.Errorf("file mode %v", fi.Mode())
	}
	if err := MakePath(filepath.Join(d, "new"), false, 0o644, uid, gid); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(d, "new")); err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o644 {
		t.Errorf("new file: %v %v", fi, err)
	}

	// A symlink anywhere on the path is refused, and nothing is made through it.
	target := t.TempDir()
	os.Symlink(target, filepath.Join(root, "link"))
	for _, p := range []string{filepath.Join(root, "link"), filepath.Join(root, "link", "sub")} {
		err := MakePath(p, true, 0o755, uid, gid)
		if err == nil || !strings.Contains(err.Error(), "is a symlink") {
			t.Errorf("%s: %v", p, err)
		}
	}
	if ents, _ := os.ReadDir(target); len(ents) != 0 {
		t.Errorf("made %v through a symlink", ents)
	}
	// The wrong kind.
	if err := MakePath(f, true, 0o755, uid, gid); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("dir over a file: %v", err)
	}
	if err := MakePath(d, false, 0o644, uid, gid); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("file over a dir: %v", err)
	}
	// A directory above that others can write.
	open := filepath.Join(root, "open")
	os.Mkdir(open, 0o777)
	os.Chmod(open, 0o777)
	if err := MakePath(filepath.Join(open, "x"), true, 0o755, uid, gid); err == nil || !strings.Contains(err.Error(), "can be written by group or others") {
		t.Errorf("below a world-writable dir: %v", err)
	}
}

func TestMakePathOwners(t *testing.T) {
	requireRootUnit(t)
	root := t.TempDir()
	d := filepath.Join(root, "svc")
	if err := MakePath(d, true, 0o750, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	syscall.Stat(d, &st)
	if st.Uid != 65534 || st.Gid != 65534 || st.Mode&0o7777 != 0o750 {
		t.Errorf("owner %d:%d mode %o", st.Uid, st.Gid, st.Mode&0o7777)
	}
	// Made by someone else: refused, not handed over.
	planted := filepath.Join(root, "planted")
	os.Mkdir(planted, 0o755)
	os.Chown(planted, 12345, 12345)
	if err := MakePath(planted, true, 0o755, 65534, 65534); err == nil || !strings.Contains(err.Error(), "owned by uid 12345") {
		t.Errorf("someone else's directory: %v", err)
	}
	// Below a directory of the service's user: refused (it could swap the path).
	if err := MakePath(filepath.Join(d, "sub"), true, 0o755, 0, 0); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("below the service's directory: %v", err)
	}
}
