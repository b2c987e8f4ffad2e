package commands

import (
	"regexp"
	"sync"
)

// lazyRE compiles a regular expression the first time it is used rather than at
// start-up: every run of svcwrap (status, list) pays for package initialisation,
// and most runs need few of them.
func lazyRE(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
