// Package boot runs the rc links of a runlevel the way sysvinit's rc does, but
// in dependency order from the scripts' LSB headers, independent ones in
// parallel, each with a time bound (svcwrap boot, svcwrap shutdown); and it is
// svcwrap's PID 1 (svcwrap init): it reaps every orphan, boots, and shuts down
// on SIGTERM, SIGINT or SIGPWR.
package boot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/definition"
	"svcwrap/deps"
	"svcwrap/probe"
)

// Options say what a boot or a shutdown runs and how.
type Options struct {
	Paths    definition.Paths
	Runlevel string        // "2", "0", "S"
	Timeout  time.Duration // bound of each script
	Out      io.Writer     // one line per service
	Env      []string      // the scripts' environment
	Spawner  Spawner       // nil: Plain
	// Also are links of services to stop besides the runlevel's K links
	// (init's shutdown: the S links its boot started).
	Also []Link
}

// Link is an rc link of a runlevel: rcN.d/S01name.
type Link struct {
	Path string // the link
	Name string // the service: the link's name without S01/K01
}

// RcDir is the directory of the runlevel's links.
func RcDir(paths definition.Paths, runlevel string) string {
	return filepath.Join(paths.RcRoot, "rc"+runlevel+".d")
}

// Links are the links of kind S or K of a runlevel, in name order.
func Links(paths definition.Paths, runlevel string, kind byte) ([]Link, error) {
	dir := RcDir(paths, runlevel)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, e := range ents {
		n := e.Name()
		if len(n) < 4 || n[0] != kind || !isDigit(n[1]) || !isDigit(n[2]) {
			continue
		}
		out = append(out, Link{Path: filepath.Join(dir, n), Name: n[3:]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ValidRunlevel reports whether s names a runlevel.
func ValidRunlevel(s string) bool { return len(s) == 1 && strings.Contains("0123456Ss", s) }

// Result is what one run did.
type Result struct {
	Links   []Link   // the links whose script succeeded, in the order they ended
	Done    []string // their services
	Failed  []string // failed, timed out, not run
	Elapsed time.Duration
}

// outcome of one step.
type outcome int

const (
	pending outcome = iota
	ok
	failed
	skipped
)

// plan maps links to nodes of the host's graph (a link to a script outside
// INITDIR gets a node of its own).
func plan(o Options, links []Link) ([]*deps.Node, *deps.Graph) {
	g := deps.Scan(o.Paths.InitDir, o.Paths.ConfDir, deps.LoadFacilities(o.Paths.InsservConf))
	var nodes, extra []*deps.Node
	for _, l := range links {
		n := g.Node(l.Name)
		real, _ := filepath.EvalSymlinks(l.Path)
		if n == nil || (!n.Svcwrap && real != n.File) {
			if n = deps.ReadNode(l.Path, l.Name, o.Paths.ConfDir); n == nil {
				n = &deps.Node{Name: l.Name, File: l.Path}
			}
			extra = append(extra, n)
		}
		nodes = append(nodes, n)
	}
	if len(extra) > 0 {
		g = deps.New(append(append([]*deps.Node{}, g.Nodes...), extra...), g.Facilities)
		for i, n := range nodes {
			nodes[i] = g.Node(n.Name)
		}
	}
	return nodes, g
}

// Boot runs the S links of the runlevel with "start". ctx ends it early: no
// script starts after that.
func Boot(ctx context.Context, o Options) (Result, error) {
	links, err := Links(o.Paths, o.Runlevel, 'S')
	if err != nil {
		return Result{}, err
	}
	links = dedupe(links)
	nodes, g := plan(o, links)
	steps := g.StartPlan(nodes)
	return run(ctx, o, "boot", "start", links, steps, true), nil
}

// Shutdown runs the K links of the runlevel, and the links of o.Also whose
// service no K link names, with "stop", each before what it needs. A cycle does not keep a service from stopping.
func Shutdown(ctx context.Context, o Options) (Result, error) {
	links, err := Links(o.Paths, o.Runlevel, 'K')
	if err != nil && len(o.Also) == 0 {
		return Result{}, err
	}
	have := map[string]bool{}
	for _, l := range links {
		have[l.Name] = true
	}
	for _, l := range o.Also {
		if !have[l.Name] {
			have[l.Name] = true
			links = append(links, l)
		}
	}
	links = dedupe(links)
	nodes, g := plan(o, links)
	steps := g.StopPlan(nodes)
	return run(ctx, o, "shutdown", "stop", links, steps, false), nil
}

// dedupe keeps the first link of each service.
func dedupe(links []Link) []Link {
	seen := map[string]bool{}
	var out []Link
	for _, l := range links {
		if !seen[l.Name] {
			seen[l.Name] = true
			out = append(out, l)
		}
	}
	return out
}

type done struct {
	i   int
	res outcome
	msg string
}

// run runs verb on every link once the steps it comes after are done, all that
// are ready at once, and prints one line per service. With hard, a step whose
// Required-Start failed or did not run is not run, nor is a step of a cycle.
func run(ctx context.Context, o Options, what, verb string, links []Link, steps []deps.Step, hard bool) Result {
	start := time.Now()
	sp := o.Spawner
	if sp == nil {
		sp = Plain{}
	}
	var mu sync.Mutex
	line := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(o.Out, what+": "+format+"\n", args...)
	}
	state := make([]outcome, len(steps))
	results := make(chan done, len(steps))
	running := 0
	var res Result
	finish := func(i int, oc outcome, msg string) {
		state[i] = oc
		name := links[i].Name
		line("%s: %s", name, msg)
		if oc == ok {
			res.Done = append(res.Done, name)
			res.Links = append(res.Links, links[i])
		} else {
			res.Failed = append(res.Failed, name)
		}
	}
	for {
		progress := false
		for i, s := range steps {
			if state[i] != pending {
				continue
			}
			if hard && s.Cycle != nil {
				finish(i, skipped, "not started: dependency cycle: "+strings.Join(s.Cycle, " -> "))
				progress = true
				continue
			}
			ready, blocked := true, ""
			for k, j := range s.After {
				switch state[j] {
				case pending, -1:
					ready = false
				case failed, skipped:
					if hard && s.Hard[k] && blocked == "" {
						blocked = links[j].Name
					}
				}
			}
			if blocked != "" {
				finish(i, skipped, fmt.Sprintf("not started: requires %s, which did not start", blocked))
				progress = true
				continue
			}
			if !ready {
				continue
			}
			if ctx.Err() != nil {
				finish(i, skipped, "not run: "+what+" cut short")
				progress = true
				continue
			}
			state[i] = -1 // running
			running++
			go func(i int) {
				oc, msg := runOne(ctx, o, sp, links[i], verb)
				results <- done{i, oc, msg}
			}(i)
		}
		if progress {
			continue
		}
		if running == 0 {
			break
		}
		d := <-results
		running--
		finish(d.i, d.res, d.msg)
	}
	res.Elapsed = time.Since(start)
	var word string
	if verb == "start" {
		word = "started"
	} else {
		word = "stopped"
	}
	line("runlevel %s: %d %s, %d failed or not run, in %.2fs", o.Runlevel, len(res.Done), word, len(res.Failed), res.Elapsed.Seconds())
	return res
}

// runOne runs LINK VERB with o.Timeout (shortened to ctx's deadline), its
// output kept for the message of a failure.
func runOne(ctx context.Context, o Options, sp Spawner, l Link, verb string) (outcome, string) {
	bound := o.Timeout
	if dl, okd := ctx.Deadline(); okd && time.Until(dl) < bound {
		bound = max(time.Until(dl), 0)
	}
	started := time.Now()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return failed, err.Error()
	}
	defer devnull.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return failed, err.Error()
	}
	pid, exited, err := sp.Start([]string{l.Path, verb}, o.Env, []*os.File{devnull, pw, pw}, true)
	pw.Close()
	if err != nil {
		pr.Close()
		return failed, fmt.Sprintf("cannot run %s: %v", l.Path, err)
	}
	out := &probe.Tail{Max: 4 << 10}
	eof := make(chan struct{})
	go func() { io.Copy(out, pr); close(eof) }()
	t := time.NewTimer(bound)
	defer t.Stop()
	var ws unix.WaitStatus
	timedOut := false
	select {
	case ws = <-exited:
	case <-t.C:
		timedOut = true
		unix.Kill(-pid, unix.SIGKILL)
		select {
		case ws = <-exited:
		case <-time.After(5 * time.Second):
		}
	}
	// A daemon the script left running may hold the pipe: read what is there.
	select {
	case <-eof:
	case <-time.After(200 * time.Millisecond):
	}
	pr.Close()
	<-eof
	took := time.Since(started).Seconds()
	last := lastLine(out.String())
	switch {
	case timedOut:
		return failed, fmt.Sprintf("timed out after %v (killed)%s", bound.Round(time.Millisecond), suffix(last))
	case ws.Exited() && ws.ExitStatus() == 0:
		return ok, fmt.Sprintf("%s in %.2fs", map[string]string{"start": "started", "stop": "stopped"}[verb], took)
	case ws.Signaled():
		return failed, fmt.Sprintf("killed by signal %d in %.2fs%s", ws.Signal(), took, suffix(last))
	}
	return failed, fmt.Sprintf("failed (exit %d) in %.2fs%s", ws.ExitStatus(), took, suffix(last))
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// lastLine is the last non-empty line of s, cut to 200 bytes.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200] + "..."
	}
	return l
}
