package safefile

import (
	"os"
	"path/filepath"
	"testing"
)

// A daemon's own pidfile in the directory DIRS made for it (both owned by the
// service's user) is trusted for that user only, and only while neither the
// file nor the directory is open to others.
func TestReadServicePidfile(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the pidfile and its directory to another user")
	}
	const svc, other = 65534, 1234
	dir := filepath.Join(t.TempDir(), "run", "svc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "svc.pid")
	if err := os.WriteFile(path, []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, path} {
		if err := os.Chown(p, svc, svc); err != nil {
			t.Fatal(err)
		}
	}
	read := func(uid int) *Pidfile {
		t.Helper()
		pf, err := ReadServicePidfile(path, uid)
		if err != nil || pf == nil || pf.PID != 4242 {
			t.Fatalf("ReadServicePidfile(%d): %+v, %v", uid, pf, err)
		}
		return pf
	}
	if pf := read(-1); pf.Trusted {
		t.Errorf("a pidfile of uid %d is trusted without DIRS: %+v", svc, pf)
	}
	if pf := read(svc); !pf.Trusted || !pf.ByService {
		t.Errorf("the service's own pidfile in its DIRS directory is not trusted: %+v", pf)
	}
	if pf := read(other); pf.Trusted {
		t.Errorf("trusted for another service user: %+v", pf)
	}
	os.Chmod(dir, 0o2775) // the service's group may write: DIRS gave it that group
	if pf := read(svc); !pf.Trusted {
		t.Errorf("a group-writable DIRS directory: %+v", pf)
	}
	os.Chmod(dir, 0o777)
	if pf := read(svc); pf.Trusted {
		t.Errorf("a directory anyone may write: %+v", pf)
	}
	os.Chmod(dir, 0o755)
	os.Chmod(path, 0o666)
	if pf := read(svc); pf.Trusted {
		t.Errorf("a pidfile anyone may write: %+v", pf)
	}
}
