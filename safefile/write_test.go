package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func requireRootUnit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: svcwrap trusts root-owned files only when it runs as root")
	}
}

func TestWrite(t *testing.T) {
	requireRootUnit(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o777|os.ModeSticky)
	target := filepath.Join(dir, "shadow")
	os.WriteFile(target, []byte("root:secret\n"), 0o600)
	link := filepath.Join(dir, "x.pid")
	os.Symlink(target, link)
	os.Lchown(link, 65534, 65534)
	err := Write(link, []byte("42\n"), 0o644)
	if err == nil || !strings.Contains(err.Error(), "is a symlink (owned by uid 65534)") {
		t.Errorf("symlink: %v", err)
	}
	if _, err := OpenAppend(link, 0o640); err == nil || !strings.Contains(err.Error(), "is a symlink") {
		t.Errorf("append through symlink: %v", err)
	}
	hard := filepath.Join(dir, "y.log")
	os.Link(target, hard)
	if _, err := OpenAppend(hard, 0o640); err == nil || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("hard link: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "root:secret\n" {
		t.Errorf("target changed: %q", b)
	}
	other := filepath.Join(dir, "other.pid")
	os.WriteFile(other, []byte("1\n"), 0o644)
	os.Chown(other, 65534, 65534)
	if err := Write(other, []byte("42\n"), 0o644); err == nil || !strings.Contains(err.Error(), "owned by uid 65534") {
		t.Errorf("other's file: %v", err)
	}
	open := t.TempDir()
	os.Chmod(open, 0o777)
	if err := Write(filepath.Join(open, "a.pid"), []byte("1\n"), 0o644); err == nil || !strings.Contains(err.Error(), "chmod go-w") {
		t.Errorf("world-writable dir: %v", err)
	}
	good := filepath.Join(dir, "good.pid")
	if err := Write(good, []byte("42\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(good); err != nil || fi.Mode().Perm() != 0o644 || !fi.Mode().IsRegular() {
		t.Errorf("good.pid: %v %v", fi, err)
	}
}
