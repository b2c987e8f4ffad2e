// Package probe runs READY and CHECK probes: "tcp HOST:PORT" and "unix PATH" (a
// connection is accepted), "http URL" (a 2xx or 3xx answer, spoken by a small
// HTTP/1.1 client of its own) and "exec CMD" (the command exits 0; run bounded, in
// its own process group, by proc.Run). It parses probes and runs each once; when
// to run them is the watchdog's business.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
	"time"
)

// Probe is a readiness or health probe.
type Probe struct {
	Kind   string // "tcp", "unix", "http", "exec"; READY only: "notify" and "fd"
	Target string // "127.0.0.1:8080", "/run/x.sock", "http://127.0.0.1:8080/health", a command line; fd: the number
}

// String gives the probe as written in a definition; definition.ParseProbe reads it back.
func (p Probe) String() string {
	switch p.Kind {
	case "notify":
		return "notify"
	case "fd":
		return "fd:" + p.Target
	}
	return p.Kind + " " + p.Target
}

// Announced reports whether the daemon says itself that it is ready (READY=notify,
// READY=fd:N) rather than being probed: the watchdog listens, nobody polls.
func (p Probe) Announced() bool { return p.Kind == "notify" || p.Kind == "fd" }

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
	case "notify", "fd":
		return errors.New("the daemon announces its readiness itself: nothing to probe")
	default:
		return fmt.Errorf("unknown probe kind %q", p.Kind)
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
