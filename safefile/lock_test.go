package safefile

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// The lock file names its holder, whatever a previous holder with a longer PID
// left in it.
func TestAcquireLockWritesPID(t *testing.T) {
	path := filepath.Join(t.TempDir(), "svc.lock")
	if err := os.WriteFile(path, []byte("123456789012\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := AcquireLock(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), strconv.Itoa(os.Getpid())+"\n"; got != want {
		t.Errorf("lock file holds %q, want %q", got, want)
	}
}
