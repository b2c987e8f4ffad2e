package commands

import (
	"fmt"
	"os"
	"strings"

	"svcwrap/definition"
	"svcwrap/deps"
	"svcwrap/lsb"
	"svcwrap/service"
)

// Dependencies between services (svcwrap(8), "DEPENDENCIES"): start starts the
// svcwrap services that the Required-Start of its header needs, stop tells which
// running services are left without the one it stops (or stops them first with
// --with-dependents), check reports required services that nothing provides and
// cycles.

// hostGraph reads every service of the host.
func hostGraph(paths definition.Paths) *deps.Graph {
	return deps.Scan(paths.InitDir, paths.ConfDir, deps.LoadFacilities(paths.InsservConf))
}

// withNode is g with n in it (replacing a node of the same name), and the node.
func withNode(g *deps.Graph, n *deps.Node) *deps.Graph {
	return deps.New(append(append([]*deps.Node{}, g.Nodes...), n), g.Facilities)
}

// nodeOf is the graph's node of a loaded definition: the template's node for an
// instance; a node read from the definition's file when the host has none.
func nodeOf(g *deps.Graph, d *definition.Definition) (*deps.Graph, *deps.Node) {
	name := d.Name
	if tmpl, inst := definition.SplitInstance(name); inst != "" {
		name = tmpl
	}
	if n := g.Node(name); n != nil && n.File == d.File {
		return g, n
	}
	data, _ := os.ReadFile(d.File)
	n := deps.NewNode(name, d.File, true, data)
	return withNode(g, n), n
}

// mayRequire reports whether a header's Required-Start may need a svcwrap
// service: it names a service, or a facility that insserv.conf maps to a
// service without "+". Most headers name only facilities of optional members
// ($remote_fs $syslog on Debian): their start reads no other script.
func mayRequire(h *lsb.Header, paths definition.Paths) bool {
	if h == nil || len(h.RequiredStart) == 0 {
		return false
	}
	var fac deps.Facilities
	for _, item := range h.RequiredStart {
		if !strings.HasPrefix(item, "$") {
			return true
		}
		if item == "$all" {
			continue
		}
		if fac == nil {
			fac = deps.LoadFacilities(paths.InsservConf)
		}
		if required(fac, item, map[string]bool{}) {
			return true
		}
	}
	return false
}

func required(fac deps.Facilities, item string, seen map[string]bool) bool {
	if seen[item] {
		return false
	}
	seen[item] = true
	for _, m := range fac[item] {
		if !m.Optional && (!strings.HasPrefix(m.Name, "$") || required(fac, m.Name, seen)) {
			return true
		}
	}
	return false
}

// upOrComing reports whether a service runs or is being brought up by its watchdog.
func upOrComing(st service.Status) bool {
	return st.Alive() || st.State == "respawning"
}

// startRequired starts, before svc, every svcwrap service its Required-Start
// needs that does not run, each after its own (chain: the services whose start
// is in progress, to name a cycle). A required service that fails to start, or
// that is disabled, fails svc's start.
func startRequired(rep *lsb.Reporter, svc *service.Service, chain []string) error {
	d := svc.Def
	if !mayRequire(d.Header, svc.Paths) {
		return nil
	}
	g, n := nodeOf(hostGraph(svc.Paths), d)
	return startNeeds(rep, svc.Paths, g, n, append(chain, d.Name))
}

// startRequiredOf is startRequired for a verb of svc: nothing for a disabled
// service (its start does nothing).
func startRequiredOf(rep *lsb.Reporter, svc *service.Service) error {
	if !mayRequire(svc.Def.Header, svc.Paths) || svc.Inspect().State == "disabled" {
		return nil
	}
	return startRequired(rep, svc, nil)
}

func startNeeds(rep *lsb.Reporter, paths definition.Paths, g *deps.Graph, n *deps.Node, chain []string) error {
	refs, _ := g.Needs(n, deps.RequiredStart)
	for _, r := range refs {
		if r.Optional || !r.Node.Svcwrap {
			continue
		}
		name := r.Node.Name
		for i, c := range chain {
			if c == name {
				return lsb.Errorf(lsb.Failed, "dependency cycle: %s -> %s", strings.Join(chain[i:], " -> "), name)
			}
		}
		def, err := definition.Load(name, r.Node.File, paths)
		if err != nil {
			return lsb.Errorf(lsb.Failed, "required service %s cannot start: %v", name, err)
		}
		if def.IsTemplate && def.Instance == "" {
			continue // its instances are services of their own
		}
		dep := &service.Service{Def: def, Paths: paths}
		st := dep.Inspect()
		if upOrComing(st) && st.State != "starting" {
			continue
		}
		if st.State == "disabled" {
			return lsb.Errorf(lsb.Failed, "required service %s is disabled (%s)", name, st.Reason)
		}
		if err := startNeeds(rep, paths, g, r.Node, append(chain, name)); err != nil {
			return lsb.Errorf(lsb.Failed, "required service %s cannot start: %v", name, err)
		}
		if err := dep.Locked(func() error { return start(rep, dep) }); err != nil {
			rep.Failure(name, lsb.Wrap(err, name, "start"))
			return lsb.Errorf(lsb.Failed, "required service %s failed to start", name)
		}
	}
	return nil
}

// runningDependents are the svcwrap services whose Required-Start needs n and
// that run (or are starting or respawning), each with its loaded definition.
func runningDependents(paths definition.Paths, g *deps.Graph, n *deps.Node) []*service.Service {
	var out []*service.Service
	for _, dn := range g.Dependents(n) {
		if !dn.Svcwrap {
			continue
		}
		def, err := definition.Load(dn.Name, dn.File, paths)
		if err != nil || (def.IsTemplate && def.Instance == "") {
			continue
		}
		s := &service.Service{Def: def, Paths: paths}
		if upOrComing(s.Inspect()) {
			out = append(out, s)
		}
	}
	return out
}

// stopWithDependents stops the running services that need svc (theirs first),
// then svc. seen guards against a cycle.
func stopWithDependents(rep *lsb.Reporter, svc *service.Service, g *deps.Graph, seen map[string]bool) error {
	var n *deps.Node
	g, n = nodeOf(g, svc.Def)
	seen[n.Name] = true
	for _, dep := range runningDependents(svc.Paths, g, n) {
		if seen[dep.Def.Name] {
			continue
		}
		if err := stopWithDependents(rep, dep, g, seen); err != nil {
			return lsb.Errorf(lsb.Failed, "dependent service %s did not stop: %v", dep.Def.Name, err)
		}
	}
	return svc.Locked(func() error { return stop(rep, svc) })
}

// stopVerb is `stop [--with-dependents]`.
func stopVerb(rep *lsb.Reporter, svc *service.Service, args []string) error {
	with := false
	for _, a := range args {
		if a != "--with-dependents" {
			return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("stop takes only --with-dependents (got %s)", shortQuote(a))}
		}
		with = true
	}
	if with {
		return stopWithDependents(rep, svc, hostGraph(svc.Paths), map[string]bool{})
	}
	if err := svc.Locked(func() error { return stop(rep, svc) }); err != nil {
		return err
	}
	g, n := nodeOf(hostGraph(svc.Paths), svc.Def)
	if left := runningDependents(svc.Paths, g, n); len(left) > 0 {
		var names []string
		for _, s := range left {
			names = append(names, s.Def.Name)
		}
		rep.Warning("%s: stopped; left without it: %s (their Required-Start needs it; stop --with-dependents stops them first)",
			svc.Def.Name, strings.Join(names, ", "))
	}
	return nil
}

// depProblems are the dependency problems of the definition def (read from file).
func depProblems(paths definition.Paths, def *definition.Definition) []deps.Problem {
	g, n := nodeOf(hostGraph(paths), def)
	return g.Problems(n)
}

// restartDependents is RESTART_DEPENDENTS=yes after svc restarted: each running
// service whose Required-Start needs it is restarted (try-restart, so that its own
// RESTART_DEPENDENTS goes on down). A failure is the exit status of the whole.
func restartDependents(rep *lsb.Reporter, svc *service.Service) error {
	if !svc.Def.RestartDependents {
		return nil
	}
	g, n := nodeOf(hostGraph(svc.Paths), svc.Def)
	var first error
	for _, dep := range runningDependents(svc.Paths, g, n) {
		if err := Dispatch(rep, dep, dep.Def.Name, "try-restart", nil); err != nil {
			rep.Failure(dep.Def.Name, lsb.Wrap(err, dep.Def.Name, "restart"))
			if first == nil {
				first = lsb.Errorf(lsb.Failed, "dependent service %s did not restart", dep.Def.Name)
			}
		}
	}
	return first
}
