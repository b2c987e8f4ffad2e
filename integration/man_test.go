package integration_test

// The man pages: groff and man-db find nothing to warn about, and they cannot
// drift from the code: every key of definition.Keys() is in svcwrap(5),
// every built-in verb, admin subcommand and SVCWRAP_* variable the code reads is
// in svcwrap(8).

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"svcwrap/commands"
	"svcwrap/definition"
)

var manPages = []string{"../man/svcwrap.8", "../man/svcwrap.5"}

func TestManPagesNoWarnings(t *testing.T) {
	if _, err := exec.LookPath("groff"); err != nil {
		t.Skipf("groff not found (apt-get install groff-base; scripts/install-test-deps.sh does): %v", err)
	}
	for _, page := range manPages {
		// -ww: every warning; -z: no output, only diagnostics.
		out, err := exec.Command("groff", "-man", "-ww", "-z", page).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("groff -man -ww -z %s: %v\n%s", page, err, out)
		}
		if _, err := exec.LookPath("man"); err != nil {
			continue
		}
		cmd := exec.Command("man", "--warnings", "-l", page)
		cmd.Env = append(cleanEnviron(), "MANWIDTH=80", "MAN_KEEP_FORMATTING=0", "PAGER=cat", "MANPAGER=cat")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("man --warnings -l %s: %v\n%s", page, err, stderr.String())
		}
	}
}

// roffText is a page's source with font escapes and \- undone, so that words can
// be searched for.
func roffText(t *testing.T, page string) string {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`\\f[BIRP]|\\&`).ReplaceAllString(string(b), "")
	return strings.ReplaceAll(s, `\-`, "-")
}

// manSection is the text of section name (.SH name) of a page.
func manSection(t *testing.T, text, name string) string {
	t.Helper()
	start := strings.Index(text, "\n.SH "+name+"\n")
	if start < 0 {
		t.Fatalf("no section %s", name)
	}
	rest := text[start+1:]
	if end := strings.Index(rest[4:], "\n.SH "); end >= 0 {
		rest = rest[:end+4]
	}
	return rest
}

// definitionKeys are the keys of definition.Keys(), the one table of keys: plain
// keys and families of keys (prefixes ending in "_").
func definitionKeys(t *testing.T) (keys, prefixes []string) {
	t.Helper()
	for _, k := range definition.Keys() {
		if k.Prefix() {
			prefixes = append(prefixes, k.Name)
		} else {
			keys = append(keys, k.Name)
		}
	}
	if len(keys) < 20 || len(prefixes) < 3 {
		t.Fatalf("found only keys %v and prefixes %v in definition.Keys()", keys, prefixes)
	}
	return keys, prefixes
}

func TestManPageCoversEveryKey(t *testing.T) {
	keys, prefixes := definitionKeys(t)
	text := manSection(t, roffText(t, "../man/svcwrap.5"), "KEYS")
	for _, k := range keys {
		// Documented as an assignment, KEY=.
		if !regexp.MustCompile(`(^|[^A-Z0-9_])` + k + `=`).MatchString(text) {
			t.Errorf("svcwrap(5) KEYS does not document %s= (definition.Keys() has it)", k)
		}
	}
	for _, p := range prefixes {
		if !regexp.MustCompile(`(^|[^A-Z0-9_])` + p).MatchString(text) {
			t.Errorf("svcwrap(5) KEYS does not document %s<...> (definition.Keys() has it)", p)
		}
	}
}

// adminSubcommands are the visible kong subcommands of commands.CLI.
func adminSubcommands() []string {
	var out []string
	typ := reflect.TypeOf(commands.CLI{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if _, ok := f.Tag.Lookup("cmd"); !ok {
			continue
		}
		if _, hidden := f.Tag.Lookup("hidden"); hidden {
			continue
		}
		name := f.Tag.Get("name")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func TestManPageCoversVerbsSubcommandsEnv(t *testing.T) {
	text := roffText(t, "../man/svcwrap.8")
	word := func(section, w string) bool {
		return regexp.MustCompile(`(^|[^a-z-])` + regexp.QuoteMeta(w) + `($|[^a-z-])`).MatchString(manSection(t, text, section))
	}
	for _, v := range definition.BuiltinVerbs {
		if !word("VERBS", v) {
			t.Errorf("svcwrap(8) VERBS does not document the built-in verb %q", v)
		}
	}
	subs := adminSubcommands()
	if len(subs) < 5 {
		t.Fatalf("found only admin subcommands %v in commands.CLI", subs)
	}
	for _, s := range subs {
		if !word("ADMIN SUBCOMMANDS", s) {
			t.Errorf("svcwrap(8) ADMIN SUBCOMMANDS does not document %q", s)
		}
	}
	// Every SVCWRAP_* variable the program reads.
	env := manSection(t, text, "ENVIRONMENT")
	vars := map[string]bool{}
	for _, dir := range []string{"cmd", "commands", "service", "lsb", "envfile", "definition", "proc", "probe", "protocol", "safefile", "watchdog"} {
		filepath.WalkDir(filepath.Join("..", dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, m := range regexp.MustCompile(`"(SVCWRAP_[A-Z_]+)"`).FindAllStringSubmatch(string(b), -1) {
				vars[m[1]] = true
			}
			return nil
		})
	}
	if len(vars) < 6 {
		t.Fatalf("found only %v in the sources", vars)
	}
	for v := range vars {
		if !strings.Contains(env, v) {
			t.Errorf("svcwrap(8) ENVIRONMENT does not document %s", v)
		}
	}
}
