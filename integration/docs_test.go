package integration_test

// Every example in the README, docs/*.md and the man pages is executed here.
//
// The convention (also in docs/README.md):
//   - a block whose first line is `#!/usr/sbin/svcwrap` is a definition: it is
//     written to a temp file and `svcwrap check` must accept it (exit 0);
//   - a ```sh block (a .EX/.EE block in a man page) is a shell example: as root,
//     it runs with `bash -e -o pipefail` in a private mount namespace where
//     /etc/init.d, /etc/default, /etc/rc?.d, /run, /var/log, /tmp, /srv and /opt
//     are empty,
//     /etc and /usr/sbin are copy-on-write overlays of the host's, and
//     /usr/sbin/svcwrap is the binary under test. The blocks of one file run in
//     order in one namespace, so later blocks see what earlier ones did;
//   - `<!-- doc-test: skip: REASON -->` (man: `.\" doc-test: skip: REASON`) on
//     the line before a block skips it; any other info string (text, json, ...)
//     is not run.
//
// Processes left in the namespace when a file's blocks are done are killed
// (and reaped by the harness's subreaper); the host is never changed.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

type docBlock struct {
	File string // path relative to the repository
	Line int    // first line of the block's content
	Lang string // info string (markdown) or "sh" (man page)
	Text string
	Skip string // reason, when marked
}

func (b docBlock) kind() string {
	switch {
	case strings.HasPrefix(b.Text, "#!/usr/sbin/svcwrap\n"):
		return "definition"
	case b.Lang == "sh" || b.Lang == "bash" || b.Lang == "shell":
		return "sh"
	}
	return ""
}

var skipMarker = regexp.MustCompile(`doc-test:\s*skip:\s*(\S.*?)\s*(-->)?$`)

// markdownBlocks returns the fenced blocks of a markdown file.
func markdownBlocks(file, text string) []docBlock {
	var out []docBlock
	lines := strings.Split(text, "\n")
	prev := ""
	for i := 0; i < len(lines); i++ {
		trimmed := strings.TrimLeft(lines[i], " ")
		indent := len(lines[i]) - len(trimmed)
		if !strings.HasPrefix(trimmed, "```") && !strings.HasPrefix(trimmed, "~~~") {
			if strings.TrimSpace(lines[i]) != "" {
				prev = strings.TrimSpace(lines[i])
			}
			continue
		}
		fence := trimmed[:3]
		lang, _, _ := strings.Cut(strings.TrimSpace(trimmed[3:]), " ")
		b := docBlock{File: file, Line: i + 2, Lang: lang}
		if m := skipMarker.FindStringSubmatch(prev); m != nil {
			b.Skip = m[1]
		}
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimLeft(lines[i], " "), fence); i++ {
			l := lines[i]
			if len(l) >= indent && strings.TrimSpace(l[:indent]) == "" {
				l = l[indent:]
			}
			body = append(body, l)
		}
		b.Text = strings.Join(body, "\n") + "\n"
		out = append(out, b)
		prev = ""
	}
	return out
}

var roffEscapes = strings.NewReplacer(`\-`, "-", `\e`, `\`, `\(aq`, "'", `\(dq`, `"`,
	`\(ga`, "`", `\&`, "", `\(ti`, "~", `\(ha`, "^", `\ `, " ", `\\`, `\`)

// manBlocks returns the .EX/.EE blocks of a man page, unescaped.
func manBlocks(file, text string) []docBlock {
	var out []docBlock
	lines := strings.Split(text, "\n")
	prev := ""
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != ".EX" {
			if s := strings.TrimSpace(lines[i]); s != "" && !strings.HasPrefix(s, ".in") && s != ".PP" && s != ".P" {
				prev = s
			}
			continue
		}
		b := docBlock{File: file, Line: i + 2, Lang: "sh"}
		if m := skipMarker.FindStringSubmatch(prev); m != nil {
			b.Skip = m[1]
		}
		var body []string
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != ".EE"; i++ {
			if strings.HasPrefix(lines[i], `.\"`) {
				continue
			}
			body = append(body, roffEscapes.Replace(lines[i]))
		}
		b.Text = strings.Join(body, "\n") + "\n"
		out = append(out, b)
		prev = ""
	}
	return out
}

// docFiles returns the documents whose examples must run, relative to the
// repository root, with their blocks.
func docFiles(t *testing.T) (string, map[string][]docBlock, []string) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	md, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	man, _ := filepath.Glob(filepath.Join(root, "man", "*.[1-8]"))
	files = append(append(append(files, filepath.Join(root, "README.md")), md...), man...)
	blocks := map[string][]docBlock{}
	var order []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		if strings.HasPrefix(rel, "man/") {
			blocks[rel] = manBlocks(rel, string(data))
		} else {
			blocks[rel] = markdownBlocks(rel, string(data))
		}
		order = append(order, rel)
	}
	return root, blocks, order
}

func TestDocsBlockExtraction(t *testing.T) {
	md := "intro\n<!-- doc-test: skip: needs a network -->\n```sh\ncurl x\n```\n\n- item\n  ```sh\n  echo hi\n  ```\n```text\nout\n```\n"
	bs := markdownBlocks("x.md", md)
	if len(bs) != 3 || bs[0].Skip != "needs a network" || bs[1].Text != "echo hi\n" || bs[1].Skip != "" ||
		bs[1].kind() != "sh" || bs[2].kind() != "" || bs[0].Line != 4 {
		t.Fatalf("markdown blocks: %+v", bs)
	}
	man := ".SH EXAMPLES\n.\\\" doc-test: skip: output\n.EX\nsvcwrap list\n.EE\n.PP\n.EX\n/etc/init.d/web start \\-\\-now\n.EE\n"
	ms := manBlocks("svcwrap.8", man)
	if len(ms) != 2 || ms[0].Skip != "output" || ms[1].Text != "/etc/init.d/web start --now\n" || ms[1].Skip != "" {
		t.Fatalf("man blocks: %+v", ms)
	}
}

// TestDocsExamples checks every definition and runs every shell example.
func TestDocsExamples(t *testing.T) {
	_, blocks, order := docFiles(t)
	total := 0
	for _, f := range order {
		var sh []docBlock
		for _, b := range blocks[f] {
			switch {
			case b.Skip != "":
				continue
			case b.kind() == "definition":
				total++
				b := b
				t.Run(fmt.Sprintf("%s:%d", f, b.Line), func(t *testing.T) { checkDocDefinition(t, b) })
			case b.kind() == "sh":
				total++
				sh = append(sh, b)
			}
		}
		if len(sh) > 0 {
			t.Run(f, func(t *testing.T) { runDocShell(t, sh) })
		}
	}
	if total == 0 {
		t.Fatal("no examples found in README.md, docs/ or man/: is the test running from integration/?")
	}
}

func checkDocDefinition(t *testing.T, b docBlock) {
	e := newEnv(t)
	name := "example"
	if m := regexp.MustCompile(`(?m)^# Provides:\s*(\S+)`).FindStringSubmatch(b.Text); m != nil {
		name = m[1]
	}
	path := filepath.Join(e.Root, name)
	e.writeFile(path, b.Text, 0o755)
	r := e.Admin("check", path)
	if r.Code != 0 || r.Err != nil {
		t.Errorf("%s:%d: the definition example does not pass `svcwrap check`:\n%s", b.File, b.Line, r)
	}
}

// docNamespace is a private mount namespace held open by a process that
// exits when the test closes its stdin.
type docNamespace struct {
	holder *exec.Cmd
	stdin  *os.File
	mntNS  string
}

const docNamespaceSetup = `set -e
mount --make-rprivate /
for d in etc usr/sbin; do
  mkdir -p "$DOCROOT/upper/$d" "$DOCROOT/work/$d"
  mount -t overlay overlay -o "lowerdir=/$d,upperdir=$DOCROOT/upper/$d,workdir=$DOCROOT/work/$d" "/$d"
done
install -m 0755 "$DOCBIN" /usr/sbin/svcwrap
mkdir -p /etc/svcwrap /etc/init.d /etc/default
for d in /etc/init.d /etc/default /etc/svcwrap /etc/rc0.d /etc/rc1.d /etc/rc2.d /etc/rc3.d /etc/rc4.d /etc/rc5.d /etc/rc6.d /etc/rcS.d /run /var/log /tmp /srv /opt; do
  mkdir -p "$d"
  mount -t tmpfs -o mode=0755 tmpfs "$d"
done
chmod 1777 /tmp
mkdir -p /run/lock /var/log/svcwrap
echo ready
exec cat >/dev/null
`

func newDocNamespace(t *testing.T) *docNamespace {
	t.Helper()
	requireRoot(t, "shell examples run as root in a private mount namespace (overlays on /etc and /usr/sbin)")
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	requireSvcwrap(t)
	root := t.TempDir()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "bash", "-c", docNamespaceSetup)
	cmd.Env = []string{"PATH=" + fixedPath, "DOCROOT=" + root, "DOCBIN=" + svcwrapBin}
	cmd.Stdin = pr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pr.Close()
	ns := &docNamespace{holder: cmd, stdin: pw}
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if line != "ready\n" {
			pw.Close()
			_ = cmd.Wait()
			t.Skipf("cannot set up the private mount namespace for shell examples (overlayfs/tmpfs mounts refused?): %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("mount namespace set-up did not finish within 30s: %s", stderr.String())
	}
	ns.mntNS = fmt.Sprintf("/proc/%d/ns/mnt", cmd.Process.Pid)
	t.Cleanup(ns.close)
	return ns
}

// close kills every process left in the namespace, then lets the holder exit.
func (ns *docNamespace) close() {
	self, _ := os.Readlink(ns.mntNS)
	for _, pid := range allPids() {
		if pid == ns.holder.Process.Pid {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && l == self {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	ns.stdin.Close()
	done := make(chan struct{})
	go func() { _ = ns.holder.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = ns.holder.Process.Kill()
	}
}

func runDocShell(t *testing.T, blocks []docBlock) {
	ns := newDocNamespace(t)
	for i, b := range blocks {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, "nsenter", "--mount="+ns.mntNS, "--wd=/", "--",
			"bash", "-e", "-o", "pipefail", "-c", b.Text)
		cmd.Env = []string{"PATH=" + fixedPath, "HOME=/root", "LANG=C.UTF-8", "TERM=dumb"}
		cmd.Stdin = nil
		cmd.WaitDelay = waitDelay
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			err = fmt.Errorf("timed out after 2m and was killed")
		}
		cancel()
		if err != nil {
			t.Errorf("%s:%d: shell example %d of %d failed: %v\n--- example:\n%s--- output:\n%s",
				b.File, b.Line, i+1, len(blocks), err, b.Text, out)
			return // later blocks depend on this one
		}
		t.Logf("%s:%d: ok", b.File, b.Line)
	}
}

// TestDemo runs `make demo`'s script against the binary under test: the README's
// first set-up command must keep working.
func TestDemo(t *testing.T) {
	requireSvcwrap(t)
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the demo builds its daemon with go, which is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../scripts/demo.sh")
	cmd.Env = append(cleanEnviron(), "SVCWRAP_BIN="+svcwrapBin, "SYSTEMCTL_SKIP_REDIRECT=1")
	cmd.WaitDelay = waitDelay
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("scripts/demo.sh did not finish within 3m:\n%s", out)
	}
	if err != nil {
		t.Fatalf("scripts/demo.sh failed (%v):\n%s", err, out)
	}
	for _, want := range []string{"respawned: pid", "GREETING is Hello, world", "demo: stopped"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
