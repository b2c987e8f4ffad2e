package definition

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestValidInstance(t *testing.T) {
	for _, ok := range []string{"office", "a.b", "15-main", "x_y", strings.Repeat("x", 64)} {
		if err := ValidInstance(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a/b", "..", ".", "a..b", "a@b", "a b", "a\tb", "a\nb", "a\x00", "\xff", strings.Repeat("x", 65)} {
		if err := ValidInstance(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestInstanceNames(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"office.conf", "home.conf", "lab.ovpn.conf", "noext", "bad name.conf"} {
		os.WriteFile(filepath.Join(dir, f), nil, 0o644)
	}
	for _, tt := range []struct {
		instances, all []string
		want           []string
	}{
		{[]string{"all"}, nil, nil},
		{[]string{"all"}, []string{dir + "/*.conf"}, []string{"home", "lab.ovpn", "office"}},
		{[]string{"none"}, []string{dir + "/*.conf"}, nil},
		{[]string{"office", "x", "office"}, nil, []string{"office", "x"}},
		{[]string{dir + "/*"}, nil, []string{"home", "lab.ovpn", "noext", "office"}},
		{[]string{"b", "all"}, []string{"a", "b"}, []string{"b", "a"}},
	} {
		d := &Definition{Instances: tt.instances, InstancesAll: tt.all}
		got, err := d.InstanceNames()
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("INSTANCES=%q INSTANCES_ALL=%q: %q, %v; want %q", tt.instances, tt.all, got, err, tt.want)
		}
	}
	if _, err := (&Definition{Instances: []string{"a b\x01"}}).InstanceNames(); err == nil {
		t.Error("a bad name in INSTANCES is accepted")
	}
}

func TestLoadInstance(t *testing.T) {
	file, paths := writeDef(t, "DAEMON=\"/bin/echo ${INSTANCE} ${WHO}\"\n", "WHO=template\n")
	os.WriteFile(filepath.Join(paths.Defaults[0], "svc@b"), []byte("WHO=own\n"), 0o644)
	tmpl, err := Load("svc", file, paths)
	if err != nil || !tmpl.IsTemplate || tmpl.Instance != "" {
		t.Fatalf("template: %+v, %v", tmpl, err)
	}
	for inst, want := range map[string]string{"a": "/bin/echo a template", "b": "/bin/echo b own"} {
		d, err := Load("svc@"+inst, file, paths)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(d.Argv, " "); got != want || d.Template != "svc" || d.Instance != inst || !slices.Contains(d.Env, "INSTANCE="+inst) {
			t.Errorf("svc@%s: argv %q (want %q), template %q, env %q", inst, got, want, d.Template, d.Env)
		}
		if d.PidFile != filepath.Join(paths.PidDir, "svc@"+inst+".pid") {
			t.Errorf("svc@%s: pidfile %s", inst, d.PidFile)
		}
	}
	plain, paths2 := writeDef(t, "DAEMON=/bin/true\n", "")
	if _, err := Load("svc@a", plain, paths2); err == nil || !strings.Contains(err.Error(), "is not a template") {
		t.Errorf("an instance of a plain definition: %v", err)
	}
}

// An instance name that ValidInstance accepts names files inside their
// directory and survives a command line as one word.
func FuzzInstanceName(f *testing.F) {
	for _, s := range []string{"office", "../x", "a b", "a@b", "..", "x.conf", "\x00", strings.Repeat("y", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, inst string) {
		if ValidInstance(inst) != nil {
			return
		}
		dir := "/run/svcwrap"
		for _, p := range []string{filepath.Join(dir, "svc@"+inst+".pid"), filepath.Join(dir, "svc@"+inst)} {
			if filepath.Dir(p) != dir {
				t.Fatalf("%q leaves %s: %s", inst, dir, p)
			}
		}
		if len(strings.Fields(inst)) != 1 || len(inst) > MaxInstanceLen {
			t.Fatalf("%q accepted", inst)
		}
		if tmpl, got := SplitInstance("svc@" + inst); tmpl != "svc" || got != inst {
			t.Fatalf("SplitInstance(svc@%q) = %q, %q", inst, tmpl, got)
		}
	})
}
