package service

// READY and CHECK probes: "tcp HOST:PORT", "unix PATH", "http URL", "exec CMD".

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
)

// Probe is a readiness or health probe.
type Probe struct {
	Kind   string // "tcp", "unix", "http" or "exec"
	Target string // "127.0.0.1:8080", "/run/x.sock", "http://127.0.0.1:8080/health", or a command line
}

const probeHint = "use tcp HOST:PORT, unix PATH, http URL or exec COMMAND"

// maxSocketPath is the longest path a unix socket address can hold (sun_path less its NUL).
const maxSocketPath = 107

// ParseProbe parses "KIND TARGET": "tcp 127.0.0.1:8080" (numeric port 1-65535),
// "unix /run/x.sock" (absolute path), "http http://127.0.0.1:8080/health" (plain
// http URL with a host; https is refused, see probehttp.go) or "exec CMD ARGS..."
// (kept as one string, split by the caller). The kind may be in any case; space
// around the target is dropped.
func ParseProbe(s string) (Probe, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Probe{}, badValue(s, "", probeHint)
	}
	kind, target := s, ""
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		kind, target = s[:i], strings.TrimSpace(s[i:])
	}
	p := Probe{Kind: strings.ToLower(kind), Target: target}
	var problem, hint string
	switch upperASCII(kind) {
	case "TCP":
		problem, hint = checkTCPTarget(target), "use tcp HOST:PORT, like tcp 127.0.0.1:8080"
	case "UNIX":
		problem, hint = checkUnixTarget(target), "use unix PATH with an absolute PATH, like unix /run/app.sock"
	case "HTTP":
		problem, hint = checkHTTPTarget(target), "use http URL, like http http://127.0.0.1:8080/health"
	case "EXEC":
		if target == "" {
			problem, hint = "missing command", "use exec COMMAND, like exec /usr/bin/app --ping"
		}
	default:
		problem, hint = "unknown probe kind "+quoteValue(kind), probeHint
	}
	if problem != "" {
		return Probe{}, badValue(s, problem, hint)
	}
	return p, nil
}

// checkTCPTarget returns what is wrong with a HOST:PORT, or "".
func checkTCPTarget(t string) string {
	if t == "" {
		return "missing HOST:PORT"
	}
	if strings.IndexFunc(t, unicode.IsSpace) >= 0 {
		return "space in HOST:PORT"
	}
	host, port, err := net.SplitHostPort(t)
	if err != nil {
		return quoteValue(t) + " is not HOST:PORT"
	}
	if host == "" {
		return "missing host"
	}
	return checkPort(port)
}

// checkPort returns what is wrong with a port number, or "".
func checkPort(port string) string {
	if n, err := strconv.Atoi(port); !isDigits(port) || err != nil || n < 1 || n > 65535 {
		return "port " + quoteValue(port) + " is not a number from 1 to 65535"
	}
	return ""
}

// checkUnixTarget returns what is wrong with a socket path, or "".
func checkUnixTarget(t string) string {
	switch {
	case t == "":
		return "missing socket path"
	case !strings.HasPrefix(t, "/"):
		return "the socket path is not absolute"
	case strings.ContainsRune(t, 0):
		return "NUL byte in the socket path"
	case len(t) > maxSocketPath:
		return "the socket path is longer than " + strconv.Itoa(maxSocketPath) + " bytes"
	}
	return ""
}

// checkHTTPTarget returns what is wrong with an http URL, or "".
func checkHTTPTarget(t string) string {
	if t == "" {
		return "missing URL"
	}
	u, err := url.Parse(t)
	switch {
	case err != nil || strings.IndexFunc(t, unicode.IsSpace) >= 0:
		return "not a URL"
	case u.Scheme == "https":
		return "https is not probed (the watchdog speaks plain http only); probe TLS with exec, like exec /usr/bin/curl -fsS " + t
	case u.Scheme != "http":
		return "the URL does not start with http://"
	case u.Hostname() == "":
		return "the URL has no host"
	case u.Port() != "":
		return checkPort(u.Port())
	}
	return ""
}

// String gives the probe as written in a definition; ParseProbe reads it back.
func (p Probe) String() string {
	return p.Kind + " " + p.Target
}

// probeDefaultTimeout bounds a Check whose context has no deadline.
const probeDefaultTimeout = 5 * time.Second

// Check runs the probe once, within ctx's deadline (5s when ctx has none). tcp and
// unix probes pass when a connection is accepted; http probes pass on a 2xx or 3xx
// status (redirects are not followed; the body is not read). exec
// probes are not run here: Check returns an error and the caller runs the command.
// A failure reads "tcp 127.0.0.1:8080: connection refused".
func (p Probe) Check(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, probeDefaultTimeout)
		defer cancel()
	}
	var err error
	switch p.Kind {
	case "tcp", "unix":
		var c net.Conn
		if c, err = new(net.Dialer).DialContext(ctx, p.Kind, p.Target); err == nil {
			c.Close()
		}
	case "http":
		err = p.checkHTTP(ctx)
	case "exec":
		return errors.New("exec probes are run by the caller")
	default:
		return fmt.Errorf("unknown probe kind %s", quoteValue(p.Kind))
	}
	if err != nil {
		return fmt.Errorf("%s: %s", p, probeFailure(ctx, err))
	}
	return nil
}

// probeFailure says in a few words why a probe failed: "connection refused",
// "timed out", "no such file or directory".
func probeFailure(ctx context.Context, err error) string {
	var (
		netErr net.Error
		errno  syscall.Errno
		dnsErr *net.DNSError
		opErr  *net.OpError
		urlErr *url.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.As(err, &errno):
		return errno.Error()
	case errors.As(err, &dnsErr):
		return "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err
	case errors.As(err, &opErr):
		return opErr.Err.Error()
	case errors.As(err, &urlErr):
		return urlErr.Err.Error()
	}
	return err.Error()
}
