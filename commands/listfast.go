package commands

import (
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"svcwrap/definition"
	"svcwrap/service"
)

// listAll loads and inspects every service (an instance of a template is one
// entry), by name, one goroutine per CPU: `list` and `metrics`. more, when not
// nil, is called on each entry by the goroutine that made it.
func listAll(paths definition.Paths, more func(*listEntry)) []listEntry {
	defs := discover(paths)
	rows := make([][]listEntry, len(defs))
	ls := definition.NewLister(paths)
	eachParallel(len(defs), func(i int) {
		rows[i] = listOne(ls, paths, defs[i])
		if more != nil {
			for j := range rows[i] {
				more(&rows[i][j])
			}
		}
	})
	entries := make([]listEntry, 0, len(defs))
	for _, r := range rows {
		entries = append(entries, r...)
	}
	return entries
}

// listOne loads and inspects one service for `list`.
func listOne(ls *definition.Lister, paths definition.Paths, sd serviceDef) []listEntry {
	def, err := ls.Load(sd.name, sd.file)
	if err == nil && def.IsTemplate {
		return listTemplate(ls, paths, sd, def)
	}
	return []listEntry{listEntryOf(paths, sd, def, err)}
}

func listEntryOf(paths definition.Paths, sd serviceDef, def *definition.Definition, err error) listEntry {
	e := listEntry{Name: sd.name, Definition: sd.file}
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

// listTemplate is a row for each instance of a template: those INSTANCES
// selects and those that run. A template without any is one row, state
// "template".
func listTemplate(ls *definition.Lister, paths definition.Paths, sd serviceDef, tmpl *definition.Definition) []listEntry {
	insts, err := instancesFor(tmpl, paths, "status")
	if err != nil {
		return []listEntry{{Name: sd.name, Definition: sd.file, State: "invalid", Problem: err.Error(), Template: sd.name}}
	}
	if len(insts) == 0 {
		return []listEntry{{Name: sd.name, Definition: sd.file, State: "template", Template: sd.name}}
	}
	out := make([]listEntry, 0, len(insts))
	for _, inst := range insts {
		isd := serviceDef{name: sd.name + "@" + inst, file: sd.file}
		def, err := ls.Load(isd.name, isd.file)
		e := listEntryOf(paths, isd, def, err)
		e.Template, e.Instance = sd.name, inst
		out = append(out, e)
	}
	return out
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
