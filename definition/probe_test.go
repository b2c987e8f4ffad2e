package definition

import (
	"strings"
	"testing"

	"svcwrap/probe"
)

func TestParseProbe(t *testing.T) {
	good := []struct {
		in   string
		want probe.Probe
	}{
		{"tcp 127.0.0.1:8080", probe.Probe{Kind: "tcp", Target: "127.0.0.1:8080"}},
		{" TCP \t [::1]:80 ", probe.Probe{Kind: "tcp", Target: "[::1]:80"}},
		{"tcp localhost:65535", probe.Probe{Kind: "tcp", Target: "localhost:65535"}},
		{"unix /run/x.sock", probe.Probe{Kind: "unix", Target: "/run/x.sock"}},
		{"unix /run/my app.sock", probe.Probe{Kind: "unix", Target: "/run/my app.sock"}},
		{"http http://127.0.0.1:8080/health", probe.Probe{Kind: "http", Target: "http://127.0.0.1:8080/health"}},
		{"Http HTTP://example.com:443/x?y=1", probe.Probe{Kind: "http", Target: "HTTP://example.com:443/x?y=1"}},
		{"exec /usr/bin/app --ping 'a b'", probe.Probe{Kind: "exec", Target: "/usr/bin/app --ping 'a b'"}},
		{"notify", probe.Probe{Kind: "notify"}},
		{" NOTIFY ", probe.Probe{Kind: "notify"}},
		{"fd:3", probe.Probe{Kind: "fd", Target: "3"}},
		{"fd:255", probe.Probe{Kind: "fd", Target: "255"}},
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
		hintKinds = " (use tcp HOST:PORT, unix PATH, http URL, exec COMMAND, or for READY notify or fd:N)"
		hintTCP   = " (use tcp HOST:PORT, like tcp 127.0.0.1:8080)"
		hintUnix  = " (use unix PATH with an absolute PATH, like unix /run/app.sock)"
		hintHTTP  = " (use http URL, like http http://127.0.0.1:8080/health)"
	)
	long := "unix /" + strings.Repeat("x", 107)
	bad := []struct{ in, err string }{
		{"", "empty value" + hintKinds},
		{"   ", "empty value" + hintKinds},
		{"ftp x", `"ftp x": unknown probe kind "ftp"` + hintKinds},
		{"notify x", `"notify x": notify takes nothing after it (use READY=notify)`},
		{"fd:2", `"fd:2": fd:2 is not a descriptor from 3 to 255 (0, 1 and 2 are stdin, stdout and stderr; use fd:3)`},
		{"fd:x", `"fd:x": fd:x is not a descriptor from 3 to 255 (0, 1 and 2 are stdin, stdout and stderr; use fd:3)`},
		{"fd:3 y", `"fd:3 y": fd:3 takes nothing after it (use READY=fd:3)`},
		{"fd:256", `"fd:256": fd:256 is not a descriptor from 3 to 255 (0, 1 and 2 are stdin, stdout and stderr; use fd:3)`},
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
