package watchdog

// LOG=console: the daemon's stdout and stderr are datagram socketpairs, as with
// LOG=syslog (a watchdog that dies costs output, never the daemon's life), whose
// lines the watchdog writes to the console: PID 1's standard output
// (/proc/1/fd/1, or SVCWRAP_CONSOLE), each line "NAME: text" in one write.
//
// Never blocking: the console is opened O_NONBLOCK (a description of its own, so
// PID 1's stays as it is); a line the console cannot take at once (a full pipe
// that nobody reads, a stopped terminal) is dropped and counted, and the count is
// written before the next line that gets through. Whole lines: a daemon's partial
// line waits for its end (up to consoleLineMax bytes), and a line is written in
// one write of at most PIPE_BUF bytes, which a pipe never interleaves with another
// writer's; a longer line goes out in pieces, each with the prefix.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// consoleLineMax bounds one write to the console: PIPE_BUF.
const consoleLineMax = 4096

// consolePath is PID 1's standard output, or SVCWRAP_CONSOLE (tests).
func consolePath() string {
	if p := os.Getenv("SVCWRAP_CONSOLE"); p != "" {
		return p
	}
	return "/proc/1/fd/1"
}

// console writes whole prefixed lines to the console without ever blocking.
type console struct {
	mu      sync.Mutex
	fd      int
	prefix  string
	dropped int // lines not written since the last one that was
}

func openConsole(name string) (*console, error) {
	fd, err := unix.Open(consolePath(), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("LOG=console: open %s: %w", consolePath(), err)
	}
	return &console{fd: fd, prefix: name + ": "}, nil
}

// line writes one line (without its newline), in pieces when it is long.
func (c *console) line(text []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := consoleLineMax - len(c.prefix) - 1
	for first := true; first || len(text) > 0; first = false {
		piece := text[:min(len(text), room)]
		text = text[len(piece):]
		if c.dropped > 0 {
			note := fmt.Sprintf("%s(svcwrap: %d line%s dropped: the console did not take them)\n", c.prefix, c.dropped, plural(c.dropped))
			if !c.write([]byte(note)) {
				c.dropped++
				continue
			}
			c.dropped = 0
		}
		out := make([]byte, 0, len(c.prefix)+len(piece)+1)
		out = append(append(append(out, c.prefix...), piece...), '\n')
		if !c.write(out) {
			c.dropped++
		}
	}
}

// write makes one write of b, whole or not at all as a pipe does for PIPE_BUF
// bytes; on a terminal or a file a short write is completed while it does not block.
func (c *console) write(b []byte) bool {
	for len(b) > 0 {
		n, err := unix.Write(c.fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// consoleOutputs returns the daemon's stdout and stderr for LOG=console.
func consoleOutputs(name string) (stdout, stderr *os.File, c *console, err error) {
	if c, err = openConsole(name); err != nil {
		return nil, nil, nil, err
	}
	if stdout, err = forwardToConsole(c, "stdout"); err != nil {
		return nil, nil, nil, err
	}
	if stderr, err = forwardToConsole(c, "stderr"); err != nil {
		stdout.Close()
		return nil, nil, nil, err
	}
	return stdout, stderr, c, nil
}

func forwardToConsole(c *console, what string) (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("LOG=console: socketpair: %w", err)
	}
	unix.SetNonblock(fds[0], true) // our end only
	ours := os.NewFile(uintptr(fds[0]), "console-"+what)
	conn, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		unix.Close(fds[1])
		return nil, fmt.Errorf("LOG=console: %w", err)
	}
	go c.forward(conn.(*net.UnixConn))
	return os.NewFile(uintptr(fds[1]), what), nil
}

// forward writes each whole line of the datagrams read from conn; a partial line
// waits for the rest of it, bounded by consoleLineMax.
func (c *console) forward(conn *net.UnixConn) {
	buf := make([]byte, 128<<10)
	var carry []byte
	for {
		n, err := conn.Read(buf)
		if err != nil {
			if len(carry) > 0 {
				c.line(carry)
			}
			return
		}
		data := append(carry, buf[:n]...)
		carry = nil
		for {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				break
			}
			c.line(bytes.TrimRight(data[:i], "\r"))
			data = data[i+1:]
		}
		if len(data) >= consoleLineMax {
			c.line(data)
			data = nil
		}
		carry = append([]byte(nil), data...)
	}
}
