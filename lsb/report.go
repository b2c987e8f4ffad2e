package lsb

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Reporter prints progress and messages the way Debian's init-functions
// do: Begin and End make the line "Starting My app server: myapp." on Out;
// warnings and failures go to Err. Write errors are ignored, and a nil
// writer discards.
//
// Begin and End pair up even when other messages come in between, so that
// each stream reads cleanly on its own and a terminal shared by both shows
// the outcome of the action before its reason: while a line is open,
// Success and Warning hold their message back until End (or the next Begin
// or a Failure) closes the line, and Failure closes it as failed at once,
// then writes its message; the End that follows writes nothing more.
type Reporter struct {
	Out, Err io.Writer
	Color    bool // colour " failed!" red

	mu   sync.Mutex
	open bool        // a Begin line awaits its End
	held []heldWrite // messages held back while open
}

type heldWrite struct {
	w    io.Writer
	text string
}

const (
	red   = "\x1b[31m"
	reset = "\x1b[0m"
)

// NewReporter returns a Reporter on out and err, with Color when out is a
// terminal, TERM is set and not "dumb", and NO_COLOR is unset or empty.
//
// It also asks for SIGPIPE (os/signal.Notify), so that a write to a closed
// stdout or stderr pipe returns EPIPE, which is ignored, instead of
// killing the process in the middle of an action. Caught signals are reset
// to the default at exec, so children are not affected.
func NewReporter(out, err *os.File) *Reporter {
	catchSIGPIPE()
	return newReporter(out, err, os.Getenv("TERM"), os.Getenv("NO_COLOR"))
}

func newReporter(out, err *os.File, term, noColor string) *Reporter {
	r := &Reporter{}
	if out != nil {
		r.Out = out
		r.Color = isTerminal(out) && term != "" && term != "dumb" && noColor == ""
	}
	if err != nil {
		r.Err = err
	}
	return r
}

var catchSIGPIPE = sync.OnceFunc(func() {
	// Never read: Notify drops a signal when the channel is full.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
})

func isTerminal(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var terr error
	if err := rc.Control(func(fd uintptr) {
		_, terr = unix.IoctlGetTermios(int(fd), unix.TCGETS)
	}); err != nil {
		return false
	}
	return terr == nil
}

// Begin starts a progress line on Out, without a newline:
// "WHAT DESC: NAME", e.g. "Starting My app server: myapp". It prints
// "WHAT NAME" when desc is empty or equal to name, and "WHAT DESC" when
// name is empty. A line still open is first closed with a bare newline.
func (r *Reporter) Begin(what, desc, name string) {
	text := desc
	if name != "" && name != desc {
		if text != "" {
			text += ": "
		}
		text += name
	}
	msg := what
	if text != "" {
		if msg != "" {
			msg += " "
		}
		msg += text
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLine("\n")
	write(r.Out, msg)
	r.open = true
}

// End closes the line opened by Begin with ".\n" when ok, else with
// " failed!\n" (the word red when Color), then writes the messages held
// back since Begin. Without an open line it only writes those messages.
func (r *Reporter) End(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.closeLine(".\n")
	} else {
		r.closeLine(r.failed())
	}
}

// Note adds " (TEXT)" to the open Begin line, e.g. "Starting My app server:
// myapp (already running)."; without an open line it writes TEXT as a line on Out.
func (r *Reporter) Note(text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open {
		write(r.Out, " ("+text+")")
		return
	}
	write(r.Out, text+"\n")
}

func (r *Reporter) failed() string {
	if r.Color {
		return " " + red + "failed!" + reset + "\n"
	}
	return " failed!\n"
}

// Success writes the formatted message as a line on Out.
func (r *Reporter) Success(format string, args ...any) {
	r.line(r.Out, fmt.Sprintf(format, args...))
}

// Warning writes "svcwrap: " and the formatted message as a line on Err.
func (r *Reporter) Warning(format string, args ...any) {
	r.line(r.Err, "svcwrap: "+fmt.Sprintf(format, args...))
}

// Failure writes "svcwrap: " and the message of Wrap(err, service, "") as
// a line on Err: "svcwrap: myapp: start: ...", with the service name added
// when err does not name one already. An open Begin line is first closed
// with " failed!". A nil err prints nothing.
func (r *Reporter) Failure(service string, err error) {
	if err == nil {
		return
	}
	text := "svcwrap: " + Wrap(err, service, "").Error()
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeLine(r.failed())
	write(r.Err, text)
}

// line writes text with a final newline to w, or holds it while a Begin
// line is open.
func (r *Reporter) line(w io.Writer, text string) {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open {
		r.held = append(r.held, heldWrite{w, text})
		return
	}
	write(w, text)
}

// closeLine ends an open line with end and writes the held messages.
func (r *Reporter) closeLine(end string) {
	if r.open {
		write(r.Out, end)
		r.open = false
	}
	for _, m := range r.held {
		write(m.w, m.text)
	}
	r.held = nil
}

func write(w io.Writer, s string) {
	if w != nil {
		_, _ = io.WriteString(w, s)
	}
}

// Plural is "s" unless n is 1: "1 respawn", "2 respawns".
func Plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
