package deps

import (
	"fmt"
	"sort"
	"strings"
)

// Step is one service of a plan: it runs once every step of After is done.
type Step struct {
	Node  *Node
	After []int  // indices of the steps it waits for
	Hard  []bool // for each of After: a Required-Start (its failure stops this one)
	// Cycle is set on a step that is in a dependency cycle: the cycle as a path
	// from this service back to itself ("a -> b -> a").
	Cycle []string
}

// StartPlan orders the start of nodes: a service starts after the services of
// its Required-Start and Should-Start in the set (hard and soft dependencies),
// after the services whose X-Start-Before names it, and with $all after every
// service that does not say $all. Steps in a cycle keep their edges and have
// Cycle set: they can never start.
func (g *Graph) StartPlan(nodes []*Node) []Step {
	steps, index := g.steps(nodes)
	for i, s := range steps {
		for _, k := range []string{RequiredStart, ShouldStart} {
			refs, _ := g.Needs(s.Node, k)
			for _, r := range refs {
				if j, ok := index[r.Node]; ok {
					steps[i].add(j, k == RequiredStart && !r.Optional)
				}
			}
		}
		for _, item := range s.Node.list(StartBefore) {
			for _, j := range g.itemSteps(item, index) {
				if j != i {
					steps[j].add(i, false)
				}
			}
		}
	}
	for i, s := range steps {
		if !s.Node.wantsAll() {
			continue
		}
		for j, t := range steps {
			if j != i && !t.Node.wantsAll() {
				steps[i].add(j, false)
			}
		}
	}
	markCycles(steps, false)
	return steps
}

// StopPlan orders the stop of nodes, the reverse of a start: a service stops
// before every service it needs (its Required-Stop, Should-Stop, Required-Start
// and Should-Start in the set), and after those its X-Stop-After names. Steps
// in a cycle have Cycle set and lose the edges inside it: a shutdown stops them
// all the same.
func (g *Graph) StopPlan(nodes []*Node) []Step {
	steps, index := g.steps(nodes)
	for i, s := range steps {
		for _, k := range []string{RequiredStop, ShouldStop, RequiredStart, ShouldStart} {
			refs, _ := g.Needs(s.Node, k)
			for _, r := range refs {
				if j, ok := index[r.Node]; ok {
					steps[j].add(i, false) // r stops after s
				}
			}
		}
		for _, item := range s.Node.list(StopAfter) {
			for _, j := range g.itemSteps(item, index) {
				if j != i {
					steps[i].add(j, false)
				}
			}
		}
	}
	markCycles(steps, true)
	return steps
}

func (g *Graph) steps(nodes []*Node) ([]Step, map[*Node]int) {
	steps := make([]Step, len(nodes))
	index := map[*Node]int{}
	for i, n := range nodes {
		steps[i].Node = n
		index[n] = i
	}
	return steps, index
}

// itemSteps is the steps an item of a header leads to.
func (g *Graph) itemSteps(item string, index map[*Node]int) []int {
	var out []int
	var names []string
	if strings.HasPrefix(item, "$") {
		for _, m := range g.expand(item, map[string]bool{}, false) {
			names = append(names, m.Name)
		}
	} else {
		names = []string{item}
	}
	for _, name := range names {
		if p := g.Lookup(name); p != nil {
			if j, ok := index[p]; ok {
				out = append(out, j)
			}
		}
	}
	return out
}

func (s *Step) add(j int, hard bool) {
	for k, a := range s.After {
		if a == j {
			s.Hard[k] = s.Hard[k] || hard
			return
		}
	}
	s.After = append(s.After, j)
	s.Hard = append(s.Hard, hard)
}

// markCycles sets Cycle on every step of a strongly connected component of
// more than one step; with cut, the edges inside such a component are removed.
func markCycles(steps []Step, cut bool) {
	for _, comp := range components(steps) {
		if len(comp) < 2 {
			continue
		}
		in := map[int]bool{}
		for _, i := range comp {
			in[i] = true
		}
		for _, i := range comp {
			steps[i].Cycle = cyclePath(steps, i, in)
		}
		if cut {
			for _, i := range comp {
				var after []int
				var hard []bool
				for k, j := range steps[i].After {
					if !in[j] {
						after = append(after, j)
						hard = append(hard, steps[i].Hard[k])
					}
				}
				steps[i].After, steps[i].Hard = after, hard
			}
		}
	}
}

// components are the strongly connected components of the steps' After
// edges (Tarjan).
func components(steps []Step) [][]int {
	index := make([]int, len(steps))
	low := make([]int, len(steps))
	on := make([]bool, len(steps))
	for i := range index {
		index[i] = -1
	}
	var stack []int
	var out [][]int
	next := 0
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		for _, w := range steps[v].After {
			if index[w] < 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			sort.Ints(comp)
			out = append(out, comp)
		}
	}
	for i := range steps {
		if index[i] < 0 {
			visit(i)
		}
	}
	return out
}

// cyclePath is a shortest path of After edges inside the component in from
// step start back to start, as names: [a b a].
func cyclePath(steps []Step, start int, in map[int]bool) []string {
	prev := map[int]int{}
	queue := []int{start}
	seen := map[int]bool{start: true}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		after := append([]int(nil), steps[v].After...)
		sort.Ints(after)
		for _, w := range after {
			if !in[w] {
				continue
			}
			if w == start {
				path := []int{start}
				for x := v; x != start; x = prev[x] {
					path = append(path, x)
				}
				names := []string{steps[start].Node.Name}
				for k := len(path) - 1; k >= 1; k-- {
					names = append(names, steps[path[k]].Node.Name)
				}
				return append(names, steps[start].Node.Name)
			}
			if !seen[w] {
				seen[w] = true
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return nil
}

// Problem is what `svcwrap check` reports about a service's dependencies.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Msg)
}

// Problems are n's dependency problems: a Required-Start or Required-Stop
// that no service provides (a facility is never missing: it may stand for
// nothing on this host), and a cycle of start dependencies through n.
func (g *Graph) Problems(n *Node) []Problem {
	var out []Problem
	if n.Header == nil {
		return nil
	}
	for _, k := range []string{RequiredStart, RequiredStop} {
		_, missing := g.Needs(n, k)
		for _, m := range missing {
			out = append(out, Problem{File: n.File, Line: m.Line,
				Msg: fmt.Sprintf("%s: no service provides %q (no script or definition by that name or Provides)", k, m.Item)})
		}
	}
	steps := g.StartPlan(g.Nodes)
	for _, s := range steps {
		if s.Node != n || s.Cycle == nil {
			continue
		}
		// The keyword of n that leads to the next service of the cycle.
		line, kw := 0, RequiredStart
		next := g.byName[s.Cycle[1]]
		for _, k := range []string{RequiredStart, ShouldStart} {
			refs, _ := g.Needs(n, k)
			for _, r := range refs {
				if r.Node == next && line == 0 {
					line, kw = n.Line(k), k
				}
			}
		}
		if line == 0 {
			line, kw = n.Line(StartBefore), StartBefore
			if line == 0 {
				kw = "dependencies"
			}
		}
		out = append(out, Problem{File: n.File, Line: line, Msg: fmt.Sprintf("%s: dependency cycle: %s", kw, strings.Join(s.Cycle, " -> "))})
	}
	return out
}
