package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

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
	p := Probe{Kind: "tcp", Target: l.Addr().String()}
	if err := p.Check(probeDeadline(t, 5*time.Second)); err != nil {
		t.Errorf("listening port: %v", err)
	}
	// Without a deadline in ctx, Check applies its own.
	if err := p.Check(context.Background()); err != nil {
		t.Errorf("listening port, no deadline: %v", err)
	}

	refused := Probe{Kind: "tcp", Target: unusedTCPAddr(t)}
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
	if err := (Probe{Kind: "unix", Target: path}).Check(probeDeadline(t, 5*time.Second)); err != nil {
		t.Errorf("listening socket: %v", err)
	}
	missing := filepath.Join(dir, "none.sock")
	wantErrText(t, "missing", Probe{Kind: "unix", Target: missing}.Check(probeDeadline(t, 5*time.Second)), "unix "+missing+": no such file or directory")

	// A socket file with no listener behind it.
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	sl.SetUnlinkOnClose(false)
	sl.Close()
	wantErrText(t, "stale", Probe{Kind: "unix", Target: stale}.Check(probeDeadline(t, 5*time.Second)), "unix "+stale+": connection refused")
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
		return Probe{Kind: "http", Target: srv.URL + path}.Check(probeDeadline(t, d))
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
	wantErrText(t, "refused", Probe{Kind: "http", Target: refused}.Check(probeDeadline(t, 5*time.Second)), "http "+refused+": connection refused")
}

func TestProbeCheckOther(t *testing.T) {
	ctx := probeDeadline(t, time.Second)
	wantErrText(t, "exec", Probe{Kind: "exec", Target: "/bin/true"}.Check(ctx), "exec probes are run by the caller")
	wantErrText(t, "zero", Probe{}.Check(ctx), `unknown probe kind ""`)
}

// wantErrText checks that err reads exactly want ("" for no error).
func wantErrText(t *testing.T, in string, err error, want string) {
	t.Helper()
	got := ""
	if err != nil {
		got = err.Error()
	}
	if got != want {
		t.Errorf("%q: error\n got: %s\nwant: %s", in, got, want)
	}
}
