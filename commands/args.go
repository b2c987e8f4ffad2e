package commands

import (
	"fmt"
	"strconv"

	"svcwrap/lsb"
)

// Bounds on the command line. The kernel bounds it too (128 KiB per argument,
// about 2 MiB in all), but svcwrap's own bounds are lower and give a clear LSB 2
// rather than an E2BIG from exec, half-way through a custom verb.
const (
	MaxArgs     = 1000     // arguments after the verb
	MaxArgBytes = 64 << 10 // bytes in one argument
	MaxArgTotal = 256 << 10
)

// checkArgs refuses a command line beyond the bounds (LSB 2, wrong arguments).
func checkArgs(args []string) error {
	if len(args) > MaxArgs+4 { // the verb, and `run NAME VERB` in admin mode
		return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("too many arguments: %d, at most %d are accepted", len(args), MaxArgs)}
	}
	total := 0
	for i, a := range args {
		if len(a) > MaxArgBytes {
			return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("argument %d is too long: %d bytes, at most %d (64 KiB)", i+1, len(a), MaxArgBytes)}
		}
		total += len(a)
	}
	if total > MaxArgTotal {
		return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("the arguments are too long: %d bytes in all, at most %d (256 KiB)", total, MaxArgTotal)}
	}
	return nil
}

// shortQuote quotes s for a message, cut short when it is long.
func shortQuote(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return strconv.Quote(s)
}
