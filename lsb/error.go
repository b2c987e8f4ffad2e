package lsb

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a failed action with its LSB exit code. Its message reads
// "NAME: ACTION: cause; hint", leaving out the empty parts; main prints
// "svcwrap: " in front of it.
type Error struct {
	Service string // service name, e.g. "myapp"
	Action  string // verb, e.g. "start"
	Code    Exit
	Err     error  // what failed and why
	Hint    string // how to fix it, e.g. "use an absolute path"
}

// Error returns "NAME: ACTION: cause; hint" without empty parts. A service
// or action already named by an *Error inside Err is not repeated. With a
// nil Err the cause is the description of the exit code.
func (e *Error) Error() string {
	var parts []string
	if e.Service != "" && !mentions(e.Err, func(x *Error) bool { return x.Service == e.Service }) {
		parts = append(parts, e.Service)
	}
	if e.Action != "" && !mentions(e.Err, func(x *Error) bool { return x.Action == e.Action }) {
		parts = append(parts, e.Action)
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	} else if e.Hint == "" {
		parts = append(parts, Exit(e.ExitCode()).String())
	}
	msg := strings.Join(parts, ": ")
	if e.Hint != "" {
		if msg != "" {
			msg += "; "
		}
		msg += e.Hint
	}
	return msg
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns Code. An *Error always reports a failure: when Code is
// OK it returns the code of Err (see ExitCodeOf), or 1 when that is 0.
func (e *Error) ExitCode() int {
	if e.Code != OK {
		return int(e.Code)
	}
	if c := ExitCodeOf(e.Err); c != 0 {
		return c
	}
	return int(Failed)
}

// Errorf returns an *Error with the given code whose Err is
// fmt.Errorf(format, args...); %w wraps as usual.
func Errorf(code Exit, format string, args ...any) *Error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Wrap names the service and action an error belongs to. Names that an
// *Error in err's chain already carries are not added again. When err is
// itself an *Error, the result is a copy with its empty Service and Action
// filled in; otherwise err is wrapped in a new *Error whose code is
// ExitCodeOf(err) (1 for a plain error). Wrap returns err unchanged when
// there is nothing to add and err already carries an exit code, and nil
// for nil.
func Wrap(err error, service, action string) error {
	if err == nil {
		return nil
	}
	if mentions(err, func(x *Error) bool { return x.Service != "" }) {
		service = ""
	}
	if mentions(err, func(x *Error) bool { return x.Action != "" }) {
		action = ""
	}
	if e, ok := err.(*Error); ok {
		if service == "" && action == "" {
			return err
		}
		c := *e
		if service != "" {
			c.Service = service
		}
		if action != "" {
			c.Action = action
		}
		return &c
	}
	var coder interface{ ExitCode() int }
	if service == "" && action == "" && errors.As(err, &coder) {
		return err
	}
	return &Error{Service: service, Action: action, Code: Exit(ExitCodeOf(err)), Err: err}
}

// ExitCodeOf returns the exit code for err: 0 for nil; the result of the
// first ExitCode() int method found in err's chain (errors.As), when it
// lies in 0-255; 1 otherwise.
func ExitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	var coder interface{ ExitCode() int }
	if errors.As(err, &coder) {
		if c := coder.ExitCode(); c >= 0 && c <= 255 {
			return c
		}
	}
	return int(Failed)
}

// mentions reports whether an *Error in err's tree satisfies match.
func mentions(err error, match func(*Error) bool) bool {
	for err != nil {
		if e, ok := err.(*Error); ok && match(e) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				if mentions(x, match) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
