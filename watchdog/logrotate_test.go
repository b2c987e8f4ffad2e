package watchdog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// rotateAll writes numbered chunks through an O_APPEND descriptor, rotating after
// each, and checks that the kept files and the live file hold the tail of what was
// written, exactly once.
func rotateAll(t *testing.T, dir string, keep int) (*logRotator, []string) {
	t.Helper()
	path := filepath.Join(dir, "svc.log")
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_APPEND|unix.O_CREAT|unix.O_CLOEXEC, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	live := os.NewFile(uintptr(fd), path)
	defer live.Close()
	r := &logRotator{path: path, max: 8 << 10, keep: keep, live: live}
	var all bytes.Buffer
	var msgs []string
	for i := 0; i < 400; i++ {
		line := fmt.Sprintf("%06d %s\n", i, strings.Repeat("y", i%90))
		live.WriteString(line)
		all.WriteString(line)
		if i%37 == 36 {
			msg, err := r.rotate()
			if err != nil {
				t.Fatalf("rotate: %v", err)
			}
			msgs = append(msgs, msg)
		}
	}
	var got []byte
	for i := keep; i >= 1; i-- {
		b, err := os.ReadFile(fmt.Sprintf("%s.%d", path, i))
		if err != nil {
			t.Fatalf("kept file %d: %v", i, err)
		}
		got = append(got, b...)
	}
	b, _ := os.ReadFile(path)
	got = append(got, b...)
	if !bytes.HasSuffix(all.Bytes(), got) || len(got) == 0 {
		t.Fatalf("kept+live (%d bytes) is not a suffix of what was written (%d bytes)", len(got), all.Len())
	}
	if _, err := os.Stat(fmt.Sprintf("%s.%d", path, keep+1)); err == nil {
		t.Errorf("more than %d kept files", keep)
	}
	return r, msgs
}

func TestRotateCollapse(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	unix.Statfs(dir, &fs)
	if fs.Type != 0xEF53 && fs.Type != 0x58465342 {
		t.Skipf("%s is not ext4 or xfs", dir)
	}
	r, msgs := rotateAll(t, dir, 3)
	if r.fallback {
		t.Errorf("fell back to copy-truncate on ext4/xfs: %q", msgs)
	}
}

func TestRotateCopyTruncateFallback(t *testing.T) {
	var fs unix.Statfs_t
	if unix.Statfs("/dev/shm", &fs) != nil || fs.Type != 0x01021994 {
		t.Skip("no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "svcwrap-rot")
	if err != nil {
		t.Skip(err)
	}
	defer os.RemoveAll(dir)
	r, msgs := rotateAll(t, dir, 2)
	if !r.fallback || !strings.Contains(strings.Join(msgs, "\n"), "copy-truncate") {
		t.Errorf("tmpfs rotation did not say copy-truncate: %q", msgs)
	}
}

func TestRotateKeepZeroDrops(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "svc.log")
	os.WriteFile(path, bytes.Repeat([]byte("z"), 20000), 0o640)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	defer f.Close()
	r := &logRotator{path: path, max: 8 << 10, keep: 0, live: f}
	if _, err := r.rotate(); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Size() >= 20000 {
		t.Errorf("LOG_KEEP=0: live file still %d bytes", fi.Size())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("LOG_KEEP=0 kept files: %v", ents)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		64 << 20: "64M", 80<<20 + 12345: "80M", 1536 << 10: "1.5M", 1<<20 + 1<<19 + 1: "1.5M",
		1 << 30: "1G", 512: "512", 5<<20 + 3: "5.0M",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q; want %q", n, got, want)
		}
	}
}

func TestSyslogLine(t *testing.T) {
	got := string(syslogLine(daemonNotice, "svcwrap/web", 42, "respawned"))
	if !strings.HasPrefix(got, "<29>") || !strings.HasSuffix(got, " svcwrap/web[42]: respawned") || len(got) != len("<29>Jan _2 15:04:05 svcwrap/web[42]: respawned") {
		t.Errorf("syslogLine = %q", got)
	}
}
