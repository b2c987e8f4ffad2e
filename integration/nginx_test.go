package integration_test

// The nginx example (examples/nginx, docs/examples.md) against the real
// /usr/sbin/nginx: start, serve, configtest, a broken configuration refused by
// the GUARD while the old master keeps serving, reload, log rotation by USR1,
// USR2 refused by nginx under a watchdog (as the example says), and a stop that
// leaves no nginx behind.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	nginxBin     = "/usr/sbin/nginx"
	nginxPrefix  = "/srv/nginx-example/" // the example's directory
	nginxAddr    = "127.0.0.1:18080"     // the example's address
	nginxGreet   = "hello from nginx under svcwrap\n"
	nginxExample = "../examples/nginx"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func httpGet(addr string) (string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return string(b), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}

// sessionProcs lists the live processes of session sid.
func sessionProcs(sid int) []string {
	var out []string
	for _, pid := range allPids() {
		if st, err := procStat(pid); err == nil && st.Session == sid && !st.Dead() {
			out = append(out, fmt.Sprintf("%d %s", pid, procCmdline(pid)))
		}
	}
	return out
}

func TestNginxExample(t *testing.T) {
	requireRoot(t, "nginx's master runs as root and switches its workers to www-data")
	if _, err := os.Stat(nginxBin); err != nil {
		t.Skipf("%s is not installed (apt-get install nginx-light): %v", nginxBin, err)
	}
	e := newEnv(t)
	def, err := os.ReadFile(filepath.Join(nginxExample, "nginx"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(nginxExample, "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	// The documentation shows these very files.
	if doc, err := os.ReadFile("../docs/examples.md"); err != nil {
		t.Error(err)
	} else {
		for name, b := range map[string][]byte{"nginx": def, "nginx.conf": conf} {
			if !strings.Contains(string(doc), string(b)) {
				t.Errorf("docs/examples.md does not show examples/nginx/%s verbatim", name)
			}
		}
	}

	// The example, moved to this test's directory and a free port.
	dir := filepath.Join(e.Root, "nginx")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	local := func(s string) string {
		s = strings.ReplaceAll(s, nginxPrefix, dir+"/")
		return strings.ReplaceAll(s, nginxAddr, addr)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	e.writeFile(confPath, local(string(conf)), 0o644)
	body := strings.TrimPrefix(local(string(def)), "#!/usr/sbin/svcwrap\n")
	e.writeFile(e.InitScript("nginx"), "#!"+e.Svcwrap+"\n"+body, 0o755)
	e.WriteEnvFile("nginx")
	e.addService("nginx")
	sid := 0
	t.Cleanup(func() { // whatever happens, no nginx outlives the test
		if sid == 0 {
			return
		}
		for _, p := range allPids() {
			if st, err := procStat(p); err == nil && st.Session == sid && !st.Dead() {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})

	wantCode(t, e.Admin("check", "nginx"), 0)
	wantCode(t, e.Run("nginx", "start"), 0)
	master, wd := supervised(t, e, "nginx")
	st0, _ := procStat(master)
	sid = st0.Session
	if exe := procExe(master); exe != nginxBin {
		t.Fatalf("the daemon runs %s, want %s", exe, nginxBin)
	}
	if got, err := httpGet(addr); err != nil || got != nginxGreet {
		t.Fatalf("GET http://%s/: %q %v", addr, got, err)
	}
	// The workers are the master's children, as www-data.
	eventually(t, 15*time.Second, "an nginx worker running as www-data", func() (bool, string) {
		var seen []string
		for _, p := range allPids() {
			if st, err := procStat(p); err == nil && st.Ppid == master && !st.Dead() {
				s, _ := procStatus(p)
				seen = append(seen, fmt.Sprintf("%d uid %s", p, s["Uid"]))
				if strings.HasPrefix(s["Uid"], "33\t") {
					return true, ""
				}
			}
		}
		return false, strings.Join(seen, ", ")
	})

	r := e.Run("nginx", "configtest")
	wantCode(t, r, 0)

	// A broken configuration: configtest says why; reload and restart are
	// refused with nginx's own message, and the old master keeps serving.
	good := local(string(conf))
	e.writeFile(confPath, strings.Replace(good, "return 200", "retrun 200", 1), 0o644)
	r = e.Run("nginx", "configtest")
	checkCode(t, r, 1)
	if !strings.Contains(r.Stderr, `unknown directive "retrun"`) {
		t.Errorf("configtest: want nginx's error on stderr:\n%s", r)
	}
	for _, verb := range []string{"reload", "restart", "try-restart", "force-reload"} {
		r := e.Run("nginx", verb)
		checkCode(t, r, 6)
		if !strings.Contains(r.Stderr, `unknown directive "retrun"`) {
			t.Errorf("%s: want nginx's error in the refusal:\n%s", verb, r)
		}
		sameProcess(t, master, st0.StartTime, verb+" with a broken nginx.conf")
		if got, err := httpGet(addr); err != nil || got != nginxGreet {
			t.Errorf("after a refused %s: GET: %q %v", verb, got, err)
		}
	}

	// A good change: reload makes the same master serve the new text.
	e.writeFile(confPath, strings.Replace(good, "hello from nginx", "reloaded nginx", 1), 0o644)
	wantCode(t, e.Run("nginx", "reload"), 0)
	eventually(t, 20*time.Second, "nginx to serve the reloaded configuration", func() (bool, string) {
		got, err := httpGet(addr)
		return got == "reloaded nginx under svcwrap\n", fmt.Sprintf("%q %v", got, err)
	})
	sameProcess(t, master, st0.StartTime, "after reload")

	// rotate: move the access log away, USR1, and nginx opens a new one.
	logf := filepath.Join(dir, "access.log")
	if _, err := httpGet(addr); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(logf, logf+".1"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, e.Run("nginx", "rotate"), 0)
	eventually(t, 20*time.Second, "nginx to reopen access.log after rotate", func() (bool, string) {
		_, err := os.Stat(logf)
		return err == nil, fmt.Sprint(err)
	})
	// The master opens the new file, then tells the workers to reopen theirs:
	// a request in between still goes to the old file, so ask until one lands.
	eventually(t, 20*time.Second, "a request to be logged in the new access.log", func() (bool, string) {
		if _, err := httpGet(addr); err != nil {
			return false, err.Error()
		}
		b, _ := os.ReadFile(logf)
		return strings.Contains(string(b), "GET / "), fmt.Sprintf("%q", b)
	})
	if old, _ := os.ReadFile(logf + ".1"); !strings.Contains(string(old), "GET / ") {
		t.Errorf("access.log.1 lacks the request made before rotate: %q", old)
	}
	sameProcess(t, master, st0.StartTime, "after rotate")

	// USR2 reaches nginx, which refuses a binary upgrade under a watchdog, as
	// the example explains.
	wantCode(t, e.Run("nginx", "signal", "USR2"), 0)
	eventually(t, 20*time.Second, "nginx to log that it ignores USR2", func() (bool, string) {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		return strings.Contains(string(b), "changing binary signal is ignored"), fmt.Sprintf("%q", b)
	})
	sameProcess(t, master, st0.StartTime, "after USR2")

	wantCode(t, e.Run("nginx", "stop"), 0)
	waitExit(t, master, 30*time.Second)
	waitExit(t, wd, 10*time.Second)
	eventually(t, 20*time.Second, "no process left in nginx's session", func() (bool, string) {
		left := sessionProcs(sid)
		return len(left) == 0, strings.Join(left, "; ")
	})
	if _, err := httpGet(addr); err == nil {
		t.Errorf("something still answers on %s after stop", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Logf("GET after stop: %v", err)
	}
	wantCode(t, e.Run("nginx", "status"), 3)
}
