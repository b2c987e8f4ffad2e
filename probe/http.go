package probe

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// The http probe speaks just enough HTTP/1.1 itself, on net: one GET with a Host
// header and "Connection: close", then the status line. net/http (with crypto/tls,
// http2 and their init-time tables) would be linked into every watchdog for it and
// cost each one private memory for its whole life (see "Footprint" in
// docs/design.md). Only plain http is spoken: Parse rejects https:// URLs and
// points to an exec probe (curl) instead.

// probeHeaderLimit bounds how much of an http answer a probe reads: the status line
// and headers; the body is never read.
const probeHeaderLimit = 64 << 10

// checkHTTP sends one GET and accepts a 2xx or 3xx status. Redirects are not
// followed; the connection is closed once the headers are read.
func (p Probe) checkHTTP(ctx context.Context) error {
	u, err := url.Parse(p.Target)
	if err != nil {
		return err
	}
	if u.Scheme != "http" {
		return errors.New("only http:// URLs are probed")
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	c, err := new(net.Dialer).DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return err
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	// A canceled context (the watchdog stopping) ends a read or write at once.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n"
	if u.User != nil {
		pw, _ := u.User.Password()
		req += "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)) + "\r\n"
	}
	req += "User-Agent: svcwrap-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		return ctxErr(ctx, err)
	}
	r := bufio.NewReaderSize(&limitedConn{c, probeHeaderLimit}, 512)
	code, status, err := readStatus(r)
	if err != nil {
		return ctxErr(ctx, err)
	}
	// Read the headers (bounded) so the answer is whole before the close; the body
	// is left unread.
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil || len(line) <= 2 && strings.TrimRight(string(line), "\r\n") == "" {
			break
		}
	}
	if code < 200 || code > 399 {
		return errors.New("status " + status)
	}
	return nil
}

// readStatus reads and parses an HTTP/1.x status line: "HTTP/1.1 503 Service
// Unavailable" gives 503 and "503 Service Unavailable".
func readStatus(r *bufio.Reader) (int, string, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return 0, "", errors.New("malformed HTTP status line (too long)")
	}
	if err != nil {
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return 0, "", errors.New("the server closed the connection without an answer")
		}
		return 0, "", err // a deadline or a closed connection: ctxErr names it
	}
	s := strings.TrimRight(string(line), "\r\n")
	proto, status, _ := strings.Cut(s, " ")
	codeText, _, _ := strings.Cut(status, " ")
	code, cerr := strconv.Atoi(codeText)
	if !strings.HasPrefix(proto, "HTTP/1.") || len(codeText) != 3 || cerr != nil || code < 100 {
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return 0, "", errors.New("malformed HTTP answer " + strconv.Quote(s))
	}
	return code, status, nil
}

// ctxErr prefers the context's error to the one a closed connection gave.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	// The connection's deadline is the context's: it may fire a moment before the
	// context itself says so.
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return err
}

// limitedConn reads at most n bytes from c.
type limitedConn struct {
	c net.Conn
	n int
}

func (l *limitedConn) Read(b []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("the answer's headers are longer than 64 KiB")
	}
	if len(b) > l.n {
		b = b[:l.n]
	}
	n, err := l.c.Read(b)
	l.n -= n
	return n, err
}
