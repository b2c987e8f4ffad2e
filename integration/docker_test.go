package integration_test

// examples/docker: the Dockerfile's COPY and RUN steps run in a private mount and
// network namespace over this host's packages (apt-get is skipped: nginx-light,
// php8.2-fpm and redis-server are installed by scripts/install-test-deps.sh),
// then its ENTRYPOINT, svcwrap init, as PID 1 of a new PID namespace, as a
// container runtime would run it.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dockerStep is one instruction of a Dockerfile, its continuation lines joined.
type dockerStep struct{ op, arg string }

func dockerSteps(t *testing.T, path string) []dockerStep {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerStep
	cur := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") && cur == "" {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			cur += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		cur += l
		if f := strings.Fields(cur); len(f) > 0 {
			out = append(out, dockerStep{op: strings.ToUpper(f[0]), arg: strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(cur), f[0]))})
		}
		cur = ""
	}
	return out
}

func TestInitDockerExample(t *testing.T) {
	requireRoot(t, "the example container's steps in mount, network and PID namespaces")
	for _, p := range []string{"/usr/sbin/nginx", "/usr/sbin/php-fpm8.2", "/usr/bin/redis-server", "/usr/bin/redis-cli", "/usr/sbin/update-rc.d", "/usr/bin/python3"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not installed (scripts/install-test-deps.sh installs it)", p)
		}
	}
	e := newEnv(t)
	ns := debianNS(t, e)
	context := filepath.Join("..", "examples")
	var entry []string
	for _, s := range dockerSteps(t, filepath.Join(context, "docker", "Dockerfile")) {
		switch s.op {
		case "RUN":
			if strings.HasPrefix(s.arg, "apt-get") {
				continue // the host's packages
			}
			wantCode(t, ns.ExecWith(nil, 60*time.Second, "/bin/sh", "-ec", s.arg), 0)
		case "COPY":
			f := strings.Fields(s.arg)
			dst := f[len(f)-1]
			for _, src := range f[:len(f)-1] {
				from := filepath.Join(context, src)
				if src == "docker/svcwrap" {
					from = svcwrapBin // what `cp bin/svcwrap examples/docker/svcwrap` puts there
				}
				b, err := os.ReadFile(from)
				if err != nil {
					t.Fatal(err)
				}
				to := dst
				if strings.HasSuffix(dst, "/") {
					to = dst + filepath.Base(src)
				}
				if err := os.MkdirAll(ns.Path(filepath.Dir(to)), 0o755); err != nil {
					t.Fatal(err)
				}
				ns.WriteFile(t, to, string(b), 0o644)
			}
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(s.arg), &entry); err != nil {
				t.Fatalf("ENTRYPOINT %s: %v", s.arg, err)
			}
		case "FROM", "EXPOSE", "STOPSIGNAL":
		default:
			t.Fatalf("the test does not know the instruction %s", s.op)
		}
	}
	if len(entry) < 2 || entry[1] != "init" {
		t.Fatalf("ENTRYPOINT is %q, want svcwrap init", entry)
	}
	// The leak sweep's mark, in each service's environment.
	for _, name := range []string{"nginx", "php8.2-fpm", "redis-server"} {
		def, _ := os.ReadFile("/etc/default/" + name)
		ns.WriteFile(t, "/etc/default/"+name, string(def)+"\nSVCWRAP_TEST_ID='"+e.TestID+"'\n", 0o644)
	}

	argv := append([]string{"nsenter", fmt.Sprintf("--mount=/proc/%d/ns/mnt", ns.pid), fmt.Sprintf("--net=/proc/%d/ns/net", ns.pid), "--",
		"unshare", "-fp", "--mount-proc"}, entry...)
	in := startInitCmd(t, []string{"PATH=" + fixedPath, "LANG=C", "SVCWRAP_TEST_ID=" + e.TestID}, argv)
	in.waitLine(t, "boot: runlevel 2:", 90*time.Second)
	out := in.output()
	for _, l := range []string{"boot: nginx: started", "boot: php8.2-fpm: started", "boot: redis-server: started", "boot: runlevel 2: 3 started, 0 failed"} {
		lineIndex(t, out, l)
	}
	if err := inNS(ns, "hello from php-fpm 8.2", "/usr/bin/python3", "-c",
		"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1/index.php', timeout=10).read().decode())"); err != nil {
		t.Errorf("the page through nginx and php-fpm: %v", err)
	}
	if err := inNS(ns, "as www-data", "/usr/bin/python3", "-c",
		"import urllib.request; print(urllib.request.urlopen('http://127.0.0.1/', timeout=10).read().decode())"); err != nil {
		t.Errorf("the index: %v", err)
	}
	if err := inNS(ns, "PONG", "/usr/bin/redis-cli", "-h", "127.0.0.1", "ping"); err != nil {
		t.Errorf("redis: %v", err)
	}

	// docker stop: SIGTERM, then SIGKILL after 10 s by default; init's bound is 30 s
	// here, but every service is down long before.
	start := time.Now()
	syscall.Kill(in.pid, syscall.SIGTERM)
	if code := in.exit(t, 40*time.Second); code != 0 {
		t.Errorf("init exited %d, want 0:\n%s", code, in.output())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the shutdown took %v: docker stop would have killed it at 10s", d)
	}
	out = in.output()
	for _, l := range []string{"shutdown: nginx: stopped", "shutdown: php8.2-fpm: stopped", "shutdown: redis-server: stopped", "shutdown: runlevel 0: 3 stopped, 0 failed"} {
		lineIndex(t, out, l)
	}
	if strings.Contains(out, "processes left") {
		t.Errorf("something outlived the services' stops:\n%s", out)
	}
	if left := in.procs(); len(left) > 0 {
		t.Errorf("processes left in the container: %v", left)
	}
}
