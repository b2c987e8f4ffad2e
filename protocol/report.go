package protocol

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// The readiness line. The CLI starts the watchdog with the write end of a pipe as
// fd 3 and reads one line from it, with a deadline:
//
//	ok PID                           the start (or adoption) succeeded; PID is the daemon's
//	fail CODE LOGOFFSET REASON       it failed with LSB exit CODE; the daemon's log
//	                                 from LOGOFFSET holds what it wrote meanwhile
//
// The watchdog closes fd 3 after the line; EOF without a line means it died.

// ReadyFD is the watchdog's fd of the readiness pipe.
const ReadyFD = 3

// Reporter is the watchdog's end of the readiness pipe. Its methods do nothing
// once a line was written (or without a pipe).
type Reporter struct{ f *os.File }

// NewReporter wraps the readiness pipe (nil: none).
func NewReporter(f *os.File) *Reporter { return &Reporter{f} }

// Pending reports whether the CLI still waits for the line.
func (r *Reporter) Pending() bool { return r != nil && r.f != nil }

// OK reports a start that succeeded.
func (r *Reporter) OK(pid int) { r.line(fmt.Sprintf("ok %d\n", pid)) }

// Fail reports a start that failed.
func (r *Reporter) Fail(code int, logOffset int64, msg string) {
	// One line: a message's own lines (a hook's output) travel escaped, as \n.
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, `\`, `\\`), "\n", `\n`)
	r.line(fmt.Sprintf("fail %d %d %s\n", code, logOffset, msg))
}

func (r *Reporter) line(s string) {
	if r.Pending() {
		io.WriteString(r.f, s)
		r.f.Close()
		r.f = nil
	}
}

// Report is what the CLI read.
type Report struct {
	OK        bool
	PID       int
	Code      int
	LogOffset int64
	Msg       string
}

// ErrNoReport: the watchdog closed the pipe without a line (it died).
var ErrNoReport = errors.New("the watchdog died before reporting")

// ReadReport reads the line, waiting until deadline: os.ErrDeadlineExceeded when
// it did not come in time, ErrNoReport when the pipe closed without one.
func ReadReport(r *os.File, deadline time.Time) (Report, error) {
	r.SetReadDeadline(deadline)
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	switch {
	case strings.HasPrefix(line, "ok "):
		pid, _ := strconv.Atoi(strings.TrimSpace(line[3:]))
		return Report{OK: true, PID: pid}, nil
	case strings.HasPrefix(line, "fail "):
		f := strings.SplitN(strings.TrimSpace(line), " ", 4)
		if len(f) < 4 {
			return Report{}, fmt.Errorf("garbled report from the watchdog: %q", line)
		}
		code, _ := strconv.Atoi(f[1])
		off, _ := strconv.ParseInt(f[2], 10, 64)
		return Report{Code: code, LogOffset: off, Msg: unescapeLines(f[3])}, nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		return Report{}, err
	}
	return Report{}, ErrNoReport
}

// unescapeLines undoes Fail's escaping of newlines and backslashes.
func unescapeLines(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
