package deps

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"svcwrap/lsb"
)

// Keywords of the header that name other services.
const (
	RequiredStart = "Required-Start"
	ShouldStart   = "Should-Start"
	RequiredStop  = "Required-Stop"
	ShouldStop    = "Should-Stop"
	StartBefore   = "X-Start-Before"
	StopAfter     = "X-Stop-After"
)

// Node is one service of the host: an init script (svcwrap's or a classic
// one) or a svcwrap definition.
type Node struct {
	Name    string      // the script's name: INITDIR/NAME or CONFDIR/NAME
	File    string      // the file the header was read from
	Svcwrap bool        // a svcwrap service (script or symlink mode)
	Header  *lsb.Header // nil when the file has no header (or a malformed one)
	Err     error       // the header could not be parsed
	lines   map[string]int
}

// Line is the line of keyword (any case) in File's header, 0 when absent.
func (n *Node) Line(keyword string) int { return n.lines[strings.ToLower(keyword)] }

// Provides is what the node provides: its header's Provides, or its name.
func (n *Node) Provides() []string {
	if n.Header != nil && len(n.Header.Provides) > 0 {
		return n.Header.Provides
	}
	return []string{n.Name}
}

// list is the items of a keyword of the header.
func (n *Node) list(keyword string) []string {
	h := n.Header
	if h == nil {
		return nil
	}
	switch keyword {
	case RequiredStart:
		return h.RequiredStart
	case ShouldStart:
		return h.ShouldStart
	case RequiredStop:
		return h.RequiredStop
	case ShouldStop:
		return h.ShouldStop
	}
	for _, f := range h.Extra {
		if strings.EqualFold(f.Key, keyword) {
			return strings.Fields(f.Value)
		}
	}
	return nil
}

// NewNode reads a node's header from data (the file's content).
func NewNode(name, file string, svcwrap bool, data []byte) *Node {
	n := &Node{Name: name, File: file, Svcwrap: svcwrap}
	h, err := lsb.ParseHeader(data)
	if err != nil {
		n.Err = err
		return n
	}
	n.Header = h
	if h != nil {
		n.lines = keywordLines(data, h)
	}
	return n
}

// keywordLines maps each keyword of the header (lower case) to its line.
func keywordLines(data []byte, h *lsb.Header) map[string]int {
	m := map[string]int{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		if n <= h.BeginLine || n >= h.EndLine {
			continue
		}
		rest, ok := bytes.CutPrefix(line, []byte("#"))
		if !ok || bytes.HasPrefix(rest, []byte("\t")) || bytes.HasPrefix(rest, []byte("  ")) {
			continue
		}
		if k, _, ok := bytes.Cut(rest, []byte(":")); ok {
			key := strings.ToLower(strings.TrimSpace(string(k)))
			if _, dup := m[key]; !dup && key != "" {
				m[key] = n
			}
		}
	}
	return m
}

// Graph is every service of a host and the facilities of its insserv.conf.
type Graph struct {
	Nodes      []*Node // sorted by name
	Facilities Facilities

	byName    map[string]*Node
	providers map[string][]*Node
}

// New makes a graph of nodes (a later node of the same name replaces an earlier one).
func New(nodes []*Node, fac Facilities) *Graph {
	g := &Graph{Facilities: fac, byName: map[string]*Node{}, providers: map[string][]*Node{}}
	for _, n := range nodes {
		g.byName[n.Name] = n
	}
	for _, n := range g.byName {
		g.Nodes = append(g.Nodes, n)
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].Name < g.Nodes[j].Name })
	for _, n := range g.Nodes {
		for _, p := range n.Provides() {
			g.providers[p] = append(g.providers[p], n)
		}
	}
	return g
}

// Node is the node called name, or nil.
func (g *Graph) Node(name string) *Node { return g.byName[name] }

// Lookup is the service that provides name (by its Provides, else by its file
// name), or nil.
func (g *Graph) Lookup(name string) *Node {
	if ps := g.providers[name]; len(ps) > 0 {
		return ps[0]
	}
	return g.byName[name]
}

// Ref is a service that a keyword of a header leads to.
type Ref struct {
	Keyword  string // Required-Start, ...
	Item     string // as the header writes it: "db" or "$database"
	Node     *Node
	Optional bool // reached through a "+member" of a facility: order only
}

// Missing is an item of a Required-* keyword that no service provides.
type Missing struct {
	Keyword, Item string
	Line          int
}

// Needs resolves the items of keyword in n's header: the services they lead to
// (facilities expanded through insserv.conf, $all left out) and the plain names
// that no service provides. An item that leads to n itself is left out.
func (g *Graph) Needs(n *Node, keyword string) ([]Ref, []Missing) {
	var refs []Ref
	var missing []Missing
	seen := map[*Node]bool{n: true}
	for _, item := range n.list(keyword) {
		if item == "$all" {
			continue
		}
		if !strings.HasPrefix(item, "$") {
			p := g.Lookup(item)
			if p == nil {
				missing = append(missing, Missing{Keyword: keyword, Item: item, Line: n.Line(keyword)})
				continue
			}
			if !seen[p] {
				seen[p] = true
				refs = append(refs, Ref{Keyword: keyword, Item: item, Node: p})
			}
			continue
		}
		for _, m := range g.expand(item, map[string]bool{}, false) {
			if p := g.Lookup(m.Name); p != nil && !seen[p] {
				seen[p] = true
				refs = append(refs, Ref{Keyword: keyword, Item: item, Node: p, Optional: m.Optional})
			}
		}
	}
	return refs, missing
}

// expand is the services a facility stands for (through nested facilities),
// with the scripts that provide the facility themselves.
func (g *Graph) expand(fac string, seen map[string]bool, optional bool) []Member {
	if seen[fac] {
		return nil
	}
	seen[fac] = true
	var out []Member
	for _, p := range g.providers[fac] {
		out = append(out, Member{Name: p.Name, Optional: optional})
	}
	for _, m := range g.Facilities[fac] {
		if strings.HasPrefix(m.Name, "$") {
			out = append(out, g.expand(m.Name, seen, optional || m.Optional)...)
		} else {
			out = append(out, Member{Name: m.Name, Optional: optional || m.Optional})
		}
	}
	return out
}

// wantsAll reports whether n's start keywords name $all (start after all others).
func (n *Node) wantsAll() bool {
	for _, k := range []string{RequiredStart, ShouldStart} {
		for _, item := range n.list(k) {
			if item == "$all" {
				return true
			}
		}
	}
	return false
}

// Dependents are the nodes whose Required-Start leads to target (not
// optionally), sorted by name.
func (g *Graph) Dependents(target *Node) []*Node {
	var out []*Node
	for _, n := range g.Nodes {
		if n == target {
			continue
		}
		refs, _ := g.Needs(n, RequiredStart)
		for _, r := range refs {
			if r.Node == target && !r.Optional {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// skipName reports the files of an init.d directory that are no services, as
// insserv skips them.
func skipName(name string) bool {
	switch name {
	case "README", "skeleton", "rc", "rcS", "rc.local.example", "functions":
		return true
	}
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") || strings.Contains(name, ".dpkg-") ||
		strings.HasSuffix(name, ".ucf-old") || strings.HasSuffix(name, ".ucf-new") || strings.HasSuffix(name, ".ucf-dist") ||
		strings.Contains(name, "@") // an instance link: its template is the service
}

// Scan reads the services of a host: every script of initDir (a svcwrap
// script, a link to the svcwrap binary with its definition in confDir, or a
// classic script) and every definition of confDir without a script.
func Scan(initDir, confDir string, fac Facilities) *Graph {
	var nodes []*Node
	seen := map[string]bool{}
	if ents, err := os.ReadDir(initDir); err == nil {
		for _, e := range ents {
			if skipName(e.Name()) || e.IsDir() {
				continue
			}
			if n := ReadNode(filepath.Join(initDir, e.Name()), e.Name(), confDir); n != nil {
				seen[n.Name] = true
				nodes = append(nodes, n)
			}
		}
	}
	if ents, err := os.ReadDir(confDir); err == nil {
		for _, e := range ents {
			if skipName(e.Name()) || !e.Type().IsRegular() || seen[e.Name()] {
				continue
			}
			file := filepath.Join(confDir, e.Name())
			nodes = append(nodes, NewNode(e.Name(), file, true, readBounded(file)))
		}
	}
	return New(nodes, fac)
}

// ReadNode reads the service of the script at path, called name: a svcwrap
// script, a link to the svcwrap binary (symlink mode: the header is in
// confDir/NAME) or a classic script. It is nil when path is no file.
func ReadNode(path, name, confDir string) *Node {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil
	}
	fi, err := os.Stat(real)
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	if filepath.Base(real) == "svcwrap" && real != path && !IsSvcwrapScript(readHead(real)) {
		file := filepath.Join(confDir, name)
		return NewNode(name, file, true, readBounded(file))
	}
	data := readBounded(real)
	return NewNode(name, real, IsSvcwrapScript(data), data)
}

// readHead is the first 512 bytes of a file.
func readHead(path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, 512)
	n, _ := f.Read(b)
	return b[:n]
}

// IsSvcwrapScript reports whether data starts with a #! line whose interpreter
// is a program called svcwrap.
func IsSvcwrapScript(data []byte) bool {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	rest, ok := bytes.CutPrefix(line, []byte("#!"))
	if !ok {
		return false
	}
	f := strings.Fields(string(rest))
	return len(f) > 0 && filepath.Base(f[0]) == "svcwrap"
}
