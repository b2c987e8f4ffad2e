package deps

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func script(provides, reqStart, shouldStart string, extra ...string) []byte {
	s := "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: " + provides + "\n"
	if reqStart != "" {
		s += "# Required-Start: " + reqStart + "\n"
	}
	if shouldStart != "" {
		s += "# Should-Start: " + shouldStart + "\n"
	}
	for _, e := range extra {
		s += "# " + e + "\n"
	}
	return []byte(s + "### END INIT INFO\n")
}

func TestFacilities(t *testing.T) {
	f := Facilities{}
	f.parse([]byte("# comment\n$local_fs\t+mountall +umountfs\n$remote_fs $local_fs +mountnfs\n<interactive> x y\n$db  pg  # the database\n$empty\n"))
	want := Facilities{
		"$local_fs":  {{"mountall", true}, {"umountfs", true}},
		"$remote_fs": {{"$local_fs", false}, {"mountnfs", true}},
		"$db":        {{"pg", false}},
		"$empty":     nil,
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %#v\nwant %#v", f, want)
	}
}

func TestLoadFacilitiesDropIns(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "insserv.conf")
	os.WriteFile(conf, []byte("$db pg\n"), 0o644)
	os.Mkdir(conf+".d", 0o755)
	os.WriteFile(filepath.Join(conf+".d", "extra"), []byte("$db +mysql\n$cache redis\n"), 0o644)
	os.WriteFile(filepath.Join(conf+".d", "x~"), []byte("$junk a\n"), 0o644)
	f := LoadFacilities(conf)
	if len(f["$db"]) != 2 || len(f["$cache"]) != 1 || f["$junk"] != nil {
		t.Fatalf("got %#v", f)
	}
	if len(LoadFacilities(filepath.Join(dir, "none"))) != 0 {
		t.Fatal("a missing file has facilities")
	}
}

func graph(fac Facilities, nodes map[string][]byte) *Graph {
	var ns []*Node
	for name, data := range nodes {
		ns = append(ns, NewNode(name, "/etc/init.d/"+name, true, data))
	}
	return New(ns, fac)
}

func names(refs []Ref) string {
	var out []string
	for _, r := range refs {
		s := r.Node.Name
		if r.Optional {
			s = "+" + s
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestNeeds(t *testing.T) {
	fac := Facilities{"$db": {{"pgsql", false}, {"$net", false}}, "$net": {{"networking", true}}, "$none": nil}
	g := graph(fac, map[string][]byte{
		"postgresql": script("pgsql", "", ""),
		"networking": script("networking", "", ""),
		"app":        script("app", "$db $none cache app", "ghost"),
		"cache":      script("cache", "", ""),
		"dbwrap":     script("$db", "", ""), // provides the facility itself
	})
	refs, missing := g.Needs(g.Node("app"), RequiredStart)
	if got := names(refs); got != "dbwrap postgresql +networking cache" {
		t.Errorf("Needs: %q", got)
	}
	if len(missing) != 0 {
		t.Errorf("missing: %v", missing)
	}
	if _, m := g.Needs(g.Node("app"), ShouldStart); len(m) != 1 {
		t.Errorf("Should-Start ghost: %v", m)
	}
	g2 := graph(nil, map[string][]byte{"b": script("b", "a $x", "")})
	_, m := g2.Needs(g2.Node("b"), RequiredStart)
	if len(m) != 1 || m[0].Item != "a" || m[0].Line != 4 {
		t.Errorf("missing a: %+v", m)
	}
	if d := g.Dependents(g.Node("cache")); len(d) != 1 || d[0].Name != "app" {
		t.Errorf("Dependents(cache): %v", d)
	}
	if d := g.Dependents(g.Node("networking")); len(d) != 0 {
		t.Errorf("an optional member has dependents: %v", d)
	}
}

func order(steps []Step) map[string][]string {
	out := map[string][]string{}
	for _, s := range steps {
		var after []string
		for k, j := range s.After {
			n := steps[j].Node.Name
			if s.Hard[k] {
				n += "!"
			}
			after = append(after, n)
		}
		out[s.Node.Name] = after
	}
	return out
}

func TestPlans(t *testing.T) {
	g := graph(nil, map[string][]byte{
		"a":    script("a", "", ""),
		"b":    script("b", "a", ""),
		"c":    script("c", "", "b"),
		"d":    script("d", "", "", "X-Start-Before: a"),
		"last": script("last", "$all", ""),
	})
	steps := g.StartPlan(g.Nodes)
	got := order(steps)
	want := map[string][]string{"a": {"d"}, "b": {"a!"}, "c": {"b"}, "d": nil, "last": {"a", "b", "c", "d"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("start plan %v, want %v", got, want)
	}
	stop := order(g.StopPlan(g.Nodes))
	if !reflect.DeepEqual(stop["a"], []string{"b"}) || !reflect.DeepEqual(stop["b"], []string{"c"}) {
		t.Errorf("stop plan %v", stop)
	}
}

func TestCycles(t *testing.T) {
	g := graph(nil, map[string][]byte{
		"x":  script("x", "y", ""),
		"y":  script("y", "", "z"),
		"z":  script("z", "x", ""),
		"ok": script("ok", "", ""),
		"w":  script("w", "x", ""),
	})
	steps := g.StartPlan(g.Nodes)
	for _, s := range steps {
		switch s.Node.Name {
		case "x":
			if strings.Join(s.Cycle, " ") != "x y z x" {
				t.Errorf("x: cycle %v", s.Cycle)
			}
		case "ok", "w":
			if s.Cycle != nil {
				t.Errorf("%s: cycle %v", s.Node.Name, s.Cycle)
			}
		}
	}
	p := g.Problems(g.Node("x"))
	if len(p) != 1 || p[0].Line != 4 || !strings.Contains(p[0].String(), "/etc/init.d/x:4: Required-Start: dependency cycle: x -> y -> z -> x") {
		t.Errorf("problems of x: %v", p)
	}
	if p := g.Problems(g.Node("y")); len(p) != 1 || !strings.Contains(p[0].String(), "y:4: Should-Start: dependency cycle: y -> z -> x -> y") {
		t.Errorf("problems of y: %v", p)
	}
	if p := g.Problems(g.Node("ok")); len(p) != 0 {
		t.Errorf("problems of ok: %v", p)
	}
	stop := g.StopPlan(g.Nodes)
	for _, s := range stop {
		if s.Node.Name != "x" {
			continue
		}
		if s.Cycle == nil || len(s.After) != 1 || stop[s.After[0]].Node.Name != "w" {
			t.Errorf("stop plan of x: %+v (want only w before it: the cycle's edges cut)", s)
		}
	}
}

func TestScan(t *testing.T) {
	dir := t.TempDir()
	initd, conf := filepath.Join(dir, "init.d"), filepath.Join(dir, "svcwrap")
	os.MkdirAll(initd, 0o755)
	os.MkdirAll(conf, 0o755)
	bin := filepath.Join(dir, "svcwrap-bin", "svcwrap")
	os.MkdirAll(filepath.Dir(bin), 0o755)
	os.WriteFile(bin, []byte("\x7fELF"), 0o755)
	os.WriteFile(filepath.Join(initd, "classic"), script("classic", "", ""), 0o755)
	os.WriteFile(filepath.Join(initd, "sw"), append([]byte("#!/usr/sbin/svcwrap\n"), script("sw", "", "")[10:]...), 0o755)
	os.Symlink(bin, filepath.Join(initd, "linked"))
	os.WriteFile(filepath.Join(conf, "linked"), script("linked-p", "", ""), 0o644)
	os.WriteFile(filepath.Join(conf, "bare"), script("bare", "", ""), 0o644)
	os.WriteFile(filepath.Join(initd, "README"), []byte("x"), 0o644)
	os.Symlink("sw", filepath.Join(initd, "sw@one"))
	g := Scan(initd, conf, nil)
	var got []string
	for _, n := range g.Nodes {
		got = append(got, n.Name+"="+n.Provides()[0]+map[bool]string{true: "/svcwrap", false: "/classic"}[n.Svcwrap])
	}
	want := "bare=bare/svcwrap classic=classic/classic linked=linked-p/svcwrap sw=sw/svcwrap"
	if strings.Join(got, " ") != want {
		t.Errorf("Scan: %v\nwant %s", got, want)
	}
}
