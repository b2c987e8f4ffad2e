package service

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseProbe(t *testing.T) {
	good := []struct {
		in   string
		want Probe
	}{
		{"tcp 127.0.0.1:8080", Probe{"tcp", "127.0.0.1:8080"}},
		{" TCP \t [::1]:80 ", Probe{"tcp", "[::1]:80"}},
		{"tcp localhost:65535", Probe{"tcp", "localhost:65535"}},
		{"unix /run/x.sock", Probe{"unix", "/run/x.sock"}},
		{"unix /run/my app.sock", Probe{"unix", "/run/my app.sock"}},
		{"http http://127.0.0.1:8080/health", Probe{"http", "http://127.0.0.1:8080/health"}},
		{"Http HTTP://example.com:443/x?y=1", Probe{"http", "HTTP://example.com:443/x?y=1"}},
		{"exec /usr/bin/app --ping 'a b'", Probe{"exec", "/usr/bin/app --ping 'a b'"}},
	}
	for _, tt := range good {
		p, err := ParseProbe(tt.in)
		if err != nil || p != tt.want {
			t.Errorf("ParseProbe(%q) = %+v, %v; want %+v", tt.in, p, err, tt.want)
		}
		if again, err := ParseProbe(p.String()); err != nil || again != p {
			t.Errorf("round trip of %q: %+v, %v", tt.in, again, err)
		}
	}

	const (
		hintKinds = " (use tcp HOST:PORT, unix PATH, http URL or exec COMMAND)"
		hintTCP   = " (use tcp HOST:PORT, like tcp 127.0.0.1:8080)"
		hintUnix  = " (use unix PATH with an absolute PATH, like unix /run/app.sock)"
		hintHTTP  = " (use http URL, like http http://127.0.0.1:8080/health)"
	)
	long := "unix /" + strings.Repeat("x", 107)
	bad := []struct{ in, err string }{
		{"", "empty value" + hintKinds},
		{"   ", "empty value" + hintKinds},
		{"ftp x", `"ftp x": unknown probe kind "ftp"` + hintKinds},
		{"https https://x/", `"https https://x/": unknown probe kind "https"` + hintKinds},
		{"tcp", `"tcp": missing HOST:PORT` + hintTCP},
		{"tcp 127.0.0.1", `"tcp 127.0.0.1": "127.0.0.1" is not HOST:PORT` + hintTCP},
		{"tcp :8080", `"tcp :8080": missing host` + hintTCP},
		{"tcp 127.0.0.1:0", `"tcp 127.0.0.1:0": port "0" is not a number from 1 to 65535` + hintTCP},
		{"tcp 127.0.0.1:65536", `"tcp 127.0.0.1:65536": port "65536" is not a number from 1 to 65535` + hintTCP},
		{"tcp 127.0.0.1:http", `"tcp 127.0.0.1:http": port "http" is not a number from 1 to 65535` + hintTCP},
		{"tcp 127.0.0.1:+80", `"tcp 127.0.0.1:+80": port "+80" is not a number from 1 to 65535` + hintTCP},
		{"tcp a b:80", `"tcp a b:80": space in HOST:PORT` + hintTCP},
		{"unix", `"unix": missing socket path` + hintUnix},
		{"unix run/x.sock", `"unix run/x.sock": the socket path is not absolute` + hintUnix},
		{long, quoteValue(long) + ": the socket path is longer than 107 bytes" + hintUnix},
		{"unix /a\x00b", `"unix /a\x00b": NUL byte in the socket path` + hintUnix},
		{"http", `"http": missing URL` + hintHTTP},
		{"http 127.0.0.1:8080/health", `"http 127.0.0.1:8080/health": not a URL` + hintHTTP},
		{"http https://x/", `"http https://x/": https is not probed (the watchdog speaks plain http only); probe TLS with exec, like exec /usr/bin/curl -fsS https://x/` + hintHTTP},
		{"http ftp://x/", `"http ftp://x/": the URL does not start with http://` + hintHTTP},
		{"http /health", `"http /health": the URL does not start with http://` + hintHTTP},
		{"http http:///health", `"http http:///health": the URL has no host` + hintHTTP},
		{"http http://x:99999/", `"http http://x:99999/": port "99999" is not a number from 1 to 65535` + hintHTTP},
		{"http http://x/a b", `"http http://x/a b": not a URL` + hintHTTP},
		{"exec", `"exec": missing command (use exec COMMAND, like exec /usr/bin/app --ping)`},
	}
	for _, tt := range bad {
		_, err := ParseProbe(tt.in)
		wantErrText(t, tt.in, err, tt.err)
	}
}

// probeDeadline bounds one Check.
func probeDeadline(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// unusedTCPAddr returns a 127.0.0.1 address on which nothing listens.
func unusedTCPAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestProbeCheckTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := Probe{"tcp", l.Addr().String()}
	if err := p.Check(probeDeadline(t, 5*time.Second)); err != nil {
		t.Errorf("listening port: %v", err)
	}
	// Without a deadline in ctx, Check applies its own.
	if err := p.Check(context.Background()); err != nil {
		t.Errorf("listening port, no deadline: %v", err)
	}

	refused := Probe{"tcp", unusedTCPAddr(t)}
	wantErrText(t, "refused", refused.Check(probeDeadline(t, 5*time.Second)), "tcp "+refused.Target+": connection refused")

	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	wantErrText(t, "expired", p.Check(expired), "tcp "+p.Target+": timed out")

	canceled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	wantErrText(t, "canceled", p.Check(canceled), "tcp "+p.Target+": canceled")
}

func TestProbeCheckUnix(t *testing.T) {
	dir, err := os.MkdirTemp("", "sp") // short: socket paths are limited to 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := (Probe{"unix", path}).Check(probeDeadline(t, 5*time.Second)); err != nil {
		t.Errorf("listening socket: %v", err)
	}
	missing := filepath.Join(dir, "none.sock")
	wantErrText(t, "missing", Probe{"unix", missing}.Check(probeDeadline(t, 5*time.Second)), "unix "+missing+": no such file or directory")

	// A socket file with no listener behind it.
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	sl.SetUnlinkOnClose(false)
	sl.Close()
	wantErrText(t, "stale", Probe{"unix", stale}.Check(probeDeadline(t, 5*time.Second)), "unix "+stale+": connection refused")
}

func TestProbeCheckHTTP(t *testing.T) {
	release := make(chan struct{})
	var bigSent atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/fail", http.StatusFound) // a 3xx passes; /fail is never asked
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 32<<10)
		for i := 0; i < 1024; i++ { // 32 MiB, far more than a probe reads
			n, err := w.Write(chunk)
			bigSent.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	defer close(release) // runs before srv.Close, so no handler is left blocking

	check := func(path string, d time.Duration) error {
		return Probe{"http", srv.URL + path}.Check(probeDeadline(t, d))
	}
	for _, path := range []string{"/ok", "/moved", "/big"} {
		if err := check(path, 5*time.Second); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
	if n := bigSent.Load(); n >= 32<<20 {
		t.Errorf("/big: the server could send all %d bytes; the probe read the whole body", n)
	}
	wantErrText(t, "/fail", check("/fail", 5*time.Second), "http "+srv.URL+"/fail: status 503 Service Unavailable")
	wantErrText(t, "/missing", check("/missing", 5*time.Second), "http "+srv.URL+"/missing: status 404 Not Found")
	wantErrText(t, "/hang", check("/hang", 200*time.Millisecond), "http "+srv.URL+"/hang: timed out")

	refused := "http://" + unusedTCPAddr(t) + "/health"
	wantErrText(t, "refused", Probe{"http", refused}.Check(probeDeadline(t, 5*time.Second)), "http "+refused+": connection refused")
}

func TestProbeCheckOther(t *testing.T) {
	ctx := probeDeadline(t, time.Second)
	wantErrText(t, "exec", Probe{"exec", "/bin/true"}.Check(ctx), "exec probes are run by the caller")
	wantErrText(t, "zero", Probe{}.Check(ctx), `unknown probe kind ""`)
}
