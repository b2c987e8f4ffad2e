package definition

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func requireRootUnit(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: strict modes apply only when svcwrap runs as root")
	}
}

func TestStrictModes(t *testing.T) {
	requireRootUnit(t)
	cases := []struct {
		name  string
		setup func(t *testing.T, file string)
		want  string
	}{
		{"group-writable", func(t *testing.T, f string) { os.Chmod(f, 0o775) }, "fix: chmod go-w "},
		{"world-writable", func(t *testing.T, f string) { os.Chmod(f, 0o757) }, "fix: chmod go-w "},
		{"not root's", func(t *testing.T, f string) { os.Chown(f, 65534, 65534) }, "fix: chown root:root "},
		{"dir writable", func(t *testing.T, f string) { os.Chmod(filepath.Dir(f), 0o777) }, "fix: chmod go-w "},
		{"dir not root's", func(t *testing.T, f string) { os.Chown(filepath.Dir(f), 65534, 65534) }, "fix: chown root "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file, paths := writeDef(t, "DAEMON=/bin/true\n", "")
			c.setup(t, file)
			_, err := Load("svc", file, paths)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), file+": ") {
				t.Fatalf("Load = %v; want %q", err, c.want)
			}
			if de, ok := err.(*Error); !ok || de.ExitCode() != 6 {
				t.Fatalf("error %T is not exit 6", err)
			}
		})
	}
	t.Run("sticky dir is fine", func(t *testing.T) {
		file, paths := writeDef(t, "DAEMON=/bin/true\n", "")
		os.Chmod(filepath.Dir(file), 0o777|os.ModeSticky)
		if _, err := Load("svc", file, paths); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("env file", func(t *testing.T) {
		file, paths := writeDef(t, "DAEMON=/bin/true\n", "A=1\n")
		env := filepath.Join(paths.Defaults[0], "svc")
		os.Chmod(env, 0o666)
		_, err := Load("svc", file, paths)
		if err == nil || !strings.Contains(err.Error(), env+": writable by group or others (mode 0666)") || !strings.Contains(err.Error(), "chmod go-w "+env) {
			t.Fatalf("Load = %v", err)
		}
	})
}

func TestConfigFileBounds(t *testing.T) {
	file, paths := writeDef(t, "", "")
	write := func(b []byte) {
		if err := os.WriteFile(file, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(make([]byte, 10<<20))
	if _, err := Load("svc", file, paths); err == nil || !strings.Contains(err.Error(), "too large: 10485760 bytes") {
		t.Errorf("10 MB: %v", err)
	}
	write([]byte("DAEMON=/bin/true\nDESC=" + strings.Repeat("x", 1<<20-100) + "\n"))
	if _, err := Load("svc", file, paths); err == nil || !strings.Contains(err.Error(), file+":2: line too long") {
		t.Errorf("long line: %v", err)
	}
	os.Remove(file)
	if err := syscall.Mkfifo(file, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load("svc", file, paths); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO: %v", err)
	}
}
