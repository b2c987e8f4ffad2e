package integration_test

// Bash completion (completions/svcwrap.bash), driven the way bash drives it:
// COMP_WORDS and COMP_CWORD set, the completion function called, COMPREPLY read.

import (
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestBashCompletion(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash not found: %v", err)
	}
	e := newEnv(t)
	e.Script("web", e.Daemon()+"\nCOMMAND_configtest=/bin/true\nHELP_configtest=\"check\"\nSIGNAL_ROTATE_LOGS=USR1")
	e.Symlink("sym", e.Daemon())
	e.writeFile(filepath.Join(e.InitDir, "plain"), "#!/bin/sh\necho not svcwrap\n", 0o755)
	// A definition with a typo: completion still offers the built-in verbs.
	e.writeFile(e.InitScript("broken"), "#!"+e.Svcwrap+"\n"+lsbHeader("broken")+"DAEMN=/bin/true\n", 0o755)
	completion, err := filepath.Abs("../completions/svcwrap.bash")
	if err != nil {
		t.Fatal(err)
	}
	// complete runs the completion bash would run for words (the last one being
	// completed) and returns COMPREPLY, sorted. For a path under INITDIR it uses
	// the function that sourcing the file registered for that path.
	const script = `source "$COMPLETION" || exit 90
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
# Like bash: the compspec of the full path, else of the part after the last slash.
spec=$(complete -p -- "$1" 2>/dev/null || complete -p -- "${1##*/}" 2>/dev/null) || { echo "no completion registered for $1" >&2; exit 91; }
fn=$(sed -n 's/.*-F \([^ ]*\).*/\1/p' <<<"$spec")
"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"`
	complete := func(words ...string) []string {
		t.Helper()
		// bash -c SCRIPT ARG0 ARGS...: ARG0 becomes $0, so repeat words[0].
		args := append([]string{"-c", script, words[0]}, words...)
		r := e.ExecWith(ExecOpts{Env: e.CLIEnv("COMPLETION=" + completion)}, "/bin/bash", args...)
		if r.Err != nil || r.Code != 0 || r.Stderr != "" {
			t.Fatalf("completing %q: %s", words, r)
		}
		var out []string
		for _, l := range strings.Split(r.Stdout, "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
		sort.Strings(out)
		return out
	}
	sw := e.Svcwrap
	builtins := []string{"condrestart", "force-reload", "help", "reload", "restart", "signal", "start", "status", "stop", "try-restart"}
	webVerbs := append(slices.Clone(builtins), "configtest", "rotate-logs")
	sort.Strings(webVerbs)
	cases := []struct {
		words []string
		want  []string
	}{
		{[]string{sw, ""}, []string{"--help", "boot", "check", "help", "init", "list", "metrics", "new", "run", "shutdown", "unit", "version"}},
		{[]string{sw, "boot", ""}, []string{"0", "1", "2", "3", "4", "5", "6", "S"}},
		{[]string{sw, "init", "--shutdown-t"}, []string{"--shutdown-timeout"}},
		{[]string{e.InitScript("web"), "stop", "--w"}, []string{"--with-dependents"}},
		{[]string{sw, "r"}, []string{"run"}},
		{[]string{sw, "run", ""}, []string{"broken", "sym", "web"}},
		{[]string{sw, "run", "w"}, []string{"web"}},
		{[]string{sw, "run", "web", ""}, webVerbs},
		{[]string{sw, "run", "web", "con"}, []string{"condrestart", "configtest"}},
		{[]string{sw, "run", "sym", "st"}, []string{"start", "status", "stop"}},
		{[]string{sw, "run", "broken", ""}, builtins},
		{[]string{sw, "run", "web", "signal", "US"}, []string{"USR1", "USR2"}},
		{[]string{sw, "list", "--"}, []string{"--help", "--json"}},
		{[]string{sw, "m"}, []string{"metrics"}},
		{[]string{sw, "metrics", "--t"}, []string{"--textfile"}},
		{[]string{sw, "metrics", "--textfile", e.Root + "/in"}, []string{e.Root + "/init.d"}},
		{[]string{sw, "check", "b"}, []string{"broken"}},
		{[]string{sw, "unit", ""}, []string{"broken", "sym", "web"}},
		{[]string{sw, "unit", "web", "--i"}, []string{"--install"}},
		{[]string{sw, "new", "x", "--"}, []string{"--desc", "--enable", "--exec", "--force", "--forks", "--help", "--pidfile", "--symlink", "--user"}},
		{[]string{sw, "new", "x", "--exec", "/bin/true", "--user", "roo"}, []string{"root"}},
		{[]string{sw, "new", "x", "--exec", "/bin/true", "--f"}, []string{"--force", "--forks"}},
		{[]string{e.InitScript("web"), ""}, webVerbs},
		{[]string{e.InitScript("web"), "rot"}, []string{"rotate-logs"}},
		{[]string{e.InitScript("sym"), "force"}, []string{"force-reload"}},
		{[]string{e.InitScript("web"), "signal", "HU"}, []string{"HUP"}},
	}
	for _, c := range cases {
		if got := complete(c.words...); !slices.Equal(got, c.want) {
			t.Errorf("completing %q: got %q, want %q", strings.Join(c.words, " "), got, c.want)
		}
	}
	// A script that is not svcwrap's gets no completion from this file.
	r := e.ExecWith(ExecOpts{Env: e.CLIEnv("COMPLETION=" + completion)}, "/bin/bash", "-c",
		`source "$COMPLETION"; complete -p -- "$1" || complete -p -- "${1##*/}"`, "x", filepath.Join(e.InitDir, "plain"))
	if r.Code == 0 {
		t.Errorf("a completion was registered for a plain shell script: %s", r)
	}
}
