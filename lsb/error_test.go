package lsb

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"testing"
)

func TestExitValuesAndStrings(t *testing.T) {
	tests := []struct {
		code Exit
		n    int
		text string
	}{
		{OK, 0, "success"},
		{Failed, 1, "unspecified failure"},
		{BadArgs, 2, "invalid or excess arguments"},
		{Unimplemented, 3, "unimplemented feature"},
		{NoPrivilege, 4, "insufficient privilege"},
		{NotInstalled, 5, "program not installed"},
		{NotConfigured, 6, "program not configured"},
		{NotRunning, 7, "program not running"},
		{Exit(150), 150, "exit 150"},
		{Exit(-1), -1, "exit -1"},
	}
	for _, tt := range tests {
		if int(tt.code) != tt.n || tt.code.String() != tt.text {
			t.Errorf("Exit %d: got %d %q, want %d %q", tt.n, int(tt.code), tt.code.String(), tt.n, tt.text)
		}
	}
}

func TestStatusValuesAndStrings(t *testing.T) {
	tests := []struct {
		s    Status
		n    int
		text string
	}{
		{Running, 0, "running"},
		{DeadPidfile, 1, "dead, pidfile exists"},
		{DeadLock, 2, "dead, lock file exists"},
		{Stopped, 3, "not running"},
		{Unknown, 4, "unknown"},
		{Status(9), 9, "status 9"},
	}
	for _, tt := range tests {
		if int(tt.s) != tt.n || tt.s.String() != tt.text {
			t.Errorf("Status %d: got %d %q, want %d %q", tt.n, int(tt.s), tt.s.String(), tt.n, tt.text)
		}
	}
}

var errBoom = errors.New("boom")

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  *Error
		want string
	}{
		{"all parts", &Error{Service: "myapp", Action: "start", Code: NotInstalled,
			Err: errors.New("/usr/bin/myapp: not found"), Hint: "use an absolute path"},
			"myapp: start: /usr/bin/myapp: not found; use an absolute path"},
		{"no hint", &Error{Service: "myapp", Action: "stop", Err: errBoom}, "myapp: stop: boom"},
		{"no action", &Error{Service: "myapp", Err: errBoom}, "myapp: boom"},
		{"no service", &Error{Action: "start", Err: errBoom}, "start: boom"},
		{"cause only", &Error{Err: errBoom}, "boom"},
		{"cause and hint", &Error{Err: errBoom, Hint: "try again"}, "boom; try again"},
		{"hint only", &Error{Hint: "try again"}, "try again"},
		{"no cause", &Error{Service: "myapp", Action: "reload", Code: Unimplemented}, "myapp: reload: unimplemented feature"},
		{"no cause, hint", &Error{Service: "myapp", Action: "reload", Code: Unimplemented, Hint: "set RELOAD_SIGNAL"},
			"myapp: reload; set RELOAD_SIGNAL"},
		{"zero value", &Error{}, "unspecified failure"},
		{"same names inside", &Error{Service: "myapp", Action: "start", Code: Failed,
			Err: &Error{Service: "myapp", Action: "start", Err: errBoom}}, "myapp: start: boom"},
		{"same names deeper", &Error{Service: "myapp", Action: "start",
			Err: fmt.Errorf("guard: %w", &Error{Service: "myapp", Err: errBoom})}, "start: guard: myapp: boom"},
		{"other service inside", &Error{Service: "web", Action: "start",
			Err: &Error{Service: "db", Action: "status", Err: errBoom}}, "web: start: db: status: boom"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("%s: Error() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestErrorUnwrapAndExitCode(t *testing.T) {
	e := &Error{Code: NotConfigured, Err: fs.ErrNotExist}
	if e.Unwrap() != fs.ErrNotExist || !errors.Is(e, fs.ErrNotExist) {
		t.Errorf("Unwrap() = %v", e.Unwrap())
	}
	tests := []struct {
		err  *Error
		want int
	}{
		{&Error{Code: NotConfigured}, 6},
		{&Error{Code: NotRunning, Err: errBoom}, 7},
		{&Error{Code: Exit(80)}, 80},
		{&Error{}, 1},
		{&Error{Err: errBoom}, 1},
		{&Error{Err: fmt.Errorf("x: %w", &Error{Code: NoPrivilege})}, 4},
		{&Error{Err: exitCoder(0)}, 1},
	}
	for _, tt := range tests {
		if got := tt.err.ExitCode(); got != tt.want {
			t.Errorf("%#v.ExitCode() = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestErrorf(t *testing.T) {
	e := Errorf(NotInstalled, "%s: not found on PATH %s", "myapp", "/usr/bin:/bin")
	if e.Code != NotInstalled || e.Service != "" || e.Action != "" || e.Hint != "" {
		t.Errorf("Errorf fields: %#v", e)
	}
	if got, want := e.Error(), "myapp: not found on PATH /usr/bin:/bin"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	w := Errorf(NotConfigured, "reading %s: %w", "/etc/default/myapp", fs.ErrPermission)
	if !errors.Is(w, fs.ErrPermission) || w.ExitCode() != 6 {
		t.Errorf("Errorf %%w: Is = %v, ExitCode = %d", errors.Is(w, fs.ErrPermission), w.ExitCode())
	}
}

// exitCoder is an error with an ExitCode method that is not an *Error,
// like *exec.ExitError or kong's parse errors.
type exitCoder int

func (c exitCoder) Error() string { return fmt.Sprintf("coder %d", int(c)) }
func (c exitCoder) ExitCode() int { return int(c) }

func TestExitCodeOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"plain", errBoom, 1},
		{"*Error", Errorf(NotInstalled, "x"), 5},
		{"wrapped *Error", fmt.Errorf("a: %w", Errorf(NotRunning, "x")), 7},
		{"twice wrapped *Error", fmt.Errorf("a: %w", fmt.Errorf("b: %w", Errorf(NoPrivilege, "x"))), 4},
		{"joined", errors.Join(errBoom, Errorf(BadArgs, "x")), 2},
		{"outermost wins", Errorf(NotConfigured, "guard: %w", exitCoder(9)), 6},
		{"other coder", fmt.Errorf("cmd: %w", exitCoder(42)), 42},
		{"coder 0", exitCoder(0), 0},
		{"coder -1", exitCoder(-1), 1},
		{"coder 256", exitCoder(256), 1},
		{"*exec.ExitError", func() error { return exec.Command("/bin/sh", "-c", "exit 3").Run() }(), 3},
	}
	for _, tt := range tests {
		if got := ExitCodeOf(tt.err); got != tt.want {
			t.Errorf("%s: ExitCodeOf(%v) = %d, want %d", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestWrap(t *testing.T) {
	sentinel := &Error{Code: NotInstalled, Err: errBoom, Hint: "install it"}
	tests := []struct {
		name string
		err  error
		svc  string
		act  string
		want string
		code int
	}{
		{"plain", errBoom, "myapp", "start", "myapp: start: boom", 1},
		{"plain, no names", errBoom, "", "", "boom", 1},
		{"*Error filled", sentinel, "myapp", "start", "myapp: start: boom; install it", 5},
		{"*Error service only", &Error{Action: "stop", Code: NotRunning, Err: errBoom}, "myapp", "start", "myapp: stop: boom", 7},
		{"*Error complete", &Error{Service: "a", Action: "b", Code: BadArgs, Err: errBoom}, "myapp", "start", "a: b: boom", 2},
		{"nested *Error", fmt.Errorf("guard: %w", Errorf(NotConfigured, "exit 1")), "myapp", "start", "myapp: start: guard: exit 1", 6},
		{"nested named", fmt.Errorf("ctx: %w", Wrap(errBoom, "myapp", "start")), "myapp", "start", "ctx: myapp: start: boom", 1},
		{"twice", Wrap(errBoom, "myapp", "start"), "myapp", "start", "myapp: start: boom", 1},
		{"twice, action later", Wrap(errBoom, "myapp", ""), "myapp", "start", "myapp: start: boom", 1},
		{"other coder", exitCoder(3), "myapp", "configtest", "myapp: configtest: coder 3", 3},
		{"joined", errors.Join(errBoom, Errorf(NoPrivilege, "root needed")), "myapp", "stop", "myapp: stop: boom\nroot needed", 4},
	}
	for _, tt := range tests {
		got := Wrap(tt.err, tt.svc, tt.act)
		if got.Error() != tt.want || ExitCodeOf(got) != tt.code {
			t.Errorf("%s: Wrap = %q (code %d), want %q (code %d)", tt.name, got.Error(), ExitCodeOf(got), tt.want, tt.code)
		}
		var e *Error
		if !errors.As(got, &e) {
			t.Errorf("%s: Wrap result holds no *Error", tt.name)
		}
		if !errors.Is(got, errBoom) && tt.err != nil && errors.Is(tt.err, errBoom) {
			t.Errorf("%s: Wrap lost the cause", tt.name)
		}
	}
	if Wrap(nil, "myapp", "start") != nil {
		t.Error("Wrap(nil) != nil")
	}
	if sentinel.Service != "" || sentinel.Action != "" {
		t.Errorf("Wrap modified its argument: %#v", sentinel)
	}
	twice := Wrap(fmt.Errorf("ctx: %w", Errorf(NotInstalled, "x")), "myapp", "start")
	if again := Wrap(twice, "myapp", "start"); again != twice {
		t.Errorf("Wrap of a named error made a new one: %q", again)
	}
	if e := Errorf(BadArgs, "x"); Wrap(e, "", "") != error(e) {
		t.Error("Wrap with nothing to add changed an *Error")
	}
}
