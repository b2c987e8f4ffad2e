package commands

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"svcwrap/definition"
	"svcwrap/service"
)

// listOne loads and inspects one service for `list`.
func listOne(ls *definition.Lister, paths definition.Paths, sd serviceDef) listEntry {
	e := listEntry{Name: sd.name, Definition: sd.file}
	def, err := ls.Load(sd.name, sd.file)
	if err != nil {
		e.State, e.Problem = "invalid", strings.SplitN(err.Error(), "\n", 2)[0]
		if fb, ok := service.Fallback(sd.name, sd.file, paths); ok {
			fillFromState(&e, (&service.Service{Def: fb, Paths: paths}).Inspect()) // it may still run
		}
		return e
	}
	st := (&service.Service{Def: def, Paths: paths}).Inspect()
	e.State = st.State
	fillFromState(&e, st)
	return e
}

// eachParallel runs fn(0..n-1) on one goroutine per CPU: `list` over many services
// is file reads and parsing, one service independent of the next.
func eachParallel(n int, fn func(int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers < 2 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}
