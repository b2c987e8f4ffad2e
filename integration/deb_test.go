package integration_test

// Packaging: `make install`/`make uninstall` into a DESTDIR, and the .deb of
// scripts/mkdeb.sh, which lintian accepts without errors and dpkg installs into
// (and removes from) a scratch root with the right files, owners and modes.

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runIn runs name ARGS... in dir with env added to a clean environment, bounded.
func runIn(t *testing.T, dir string, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnviron(), env...)
	cmd.WaitDelay = waitDelay
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return string(out), err
}

// installedFiles are the files every install has, with their modes.
var installedFiles = map[string]fs.FileMode{
	"usr/sbin/svcwrap":                              0o755,
	"usr/share/man/man8/svcwrap.8.gz":               0o644,
	"usr/share/man/man5/svcwrap.5.gz":               0o644,
	"usr/share/bash-completion/completions/svcwrap": 0o644,
	"usr/share/doc/svcwrap/README.md":               0o644,
}

// checkTree checks installedFiles (and extra) under root: regular files, modes,
// root:root, and man pages that are gzip'd roff.
func checkTree(t *testing.T, root string, extra map[string]fs.FileMode) {
	t.Helper()
	want := map[string]fs.FileMode{}
	for k, v := range installedFiles {
		want[k] = v
	}
	for k, v := range extra {
		want[k] = v
	}
	for rel, mode := range want {
		p := filepath.Join(root, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if !fi.Mode().IsRegular() || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want regular file %v", rel, fi.Mode(), mode)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: owned by %d:%d, want root:root", rel, st.Uid, st.Gid)
		}
		if strings.HasSuffix(rel, ".gz") && strings.Contains(rel, "/man/") {
			f, _ := os.Open(p)
			zr, err := gzip.NewReader(f)
			if err != nil {
				t.Errorf("%s: not gzip: %v", rel, err)
				f.Close()
				continue
			}
			b, _ := io.ReadAll(zr)
			f.Close()
			if !bytes.Contains(b, []byte("\n.TH SVCWRAP ")) {
				t.Errorf("%s: no .TH line", rel)
			}
			if !zr.Header.ModTime.IsZero() || zr.Header.Name != "" {
				t.Errorf("%s: gzip header carries a name or time (use gzip -n)", rel)
			}
		}
	}
}

func TestMakeInstallUninstall(t *testing.T) {
	requireSvcwrap(t)
	requireRoot(t, "checks that the installed files are root:root")
	if _, err := exec.LookPath("make"); err != nil {
		t.Skipf("make not found: %v", err)
	}
	dir := t.TempDir()
	// The harness's binary stands in for the build (newer than every source, so
	// make does not rebuild it).
	bin := filepath.Join(dir, "svcwrap.bin")
	b, err := os.ReadFile(svcwrapBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "dest")
	vars := []string{"BINARY=" + bin, "DESTDIR=" + dest, "PREFIX=/usr"}
	if out, err := runIn(t, "..", 5*time.Minute, []string{"CGO_ENABLED=0"}, "make", append([]string{"-s", "install"}, vars...)...); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	checkTree(t, dest, nil)
	if out, err := runIn(t, "..", time.Minute, nil, "make", append([]string{"-s", "uninstall"}, vars...)...); err != nil {
		t.Fatalf("make uninstall: %v\n%s", err, out)
	}
	var left []string
	filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) > 0 {
		t.Errorf("make uninstall left files: %v", left)
	}
}

func TestDebPackage(t *testing.T) {
	requireRoot(t, "dpkg installs into a scratch root as root, and files must be root:root")
	for _, p := range []string{"dpkg-deb", "dpkg", "make", "git"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not found: %v", p, err)
		}
	}
	dir := t.TempDir()
	out, err := runIn(t, "..", 10*time.Minute, nil, "scripts/mkdeb.sh", filepath.Join(dir, "dist"))
	if err != nil {
		t.Fatalf("scripts/mkdeb.sh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	deb := lines[len(lines)-1]
	if !strings.HasSuffix(deb, ".deb") {
		t.Fatalf("mkdeb.sh printed no .deb path:\n%s", out)
	}
	t.Logf("built %s", filepath.Base(deb))

	// Control fields.
	info, err := runIn(t, dir, time.Minute, nil, "dpkg-deb", "-f", deb)
	if err != nil {
		t.Fatalf("dpkg-deb -f: %v\n%s", err, info)
	}
	for _, f := range []string{"Package: svcwrap\n", "Section: admin\n", "Priority: optional\n", "Maintainer: ", "Description: ", "Installed-Size: "} {
		if !strings.Contains(info, f) {
			t.Errorf("control has no %q:\n%s", f, info)
		}
	}
	if strings.Contains(info, "Depends:") {
		t.Errorf("a static binary needs no Depends:\n%s", info)
	}

	// lintian: no errors (warnings and infos are allowed; overrides are explained
	// in debian/lintian-overrides).
	if _, err := exec.LookPath("lintian"); err != nil {
		t.Logf("lintian not found (apt-get install lintian): the lintian check is skipped")
	} else if out, err := runIn(t, dir, 5*time.Minute, nil, "lintian", "--fail-on", "error", deb); err != nil {
		t.Errorf("lintian --fail-on error: %v\n%s", err, out)
	} else {
		t.Logf("lintian:\n%s", out)
	}

	// Install into a scratch root (its own dpkg database and log).
	root := filepath.Join(dir, "root")
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	dpkg := func(args ...string) string {
		t.Helper()
		out, err := runIn(t, dir, 5*time.Minute, nil, "dpkg", append([]string{"--root=" + root, "--log=" + filepath.Join(dir, "dpkg.log"), "--force-not-root"}, args...)...)
		if err != nil {
			t.Fatalf("dpkg %v: %v\n%s", args, err, out)
		}
		return out
	}
	dpkg("-i", deb)
	if st := dpkg("-s", "svcwrap"); !strings.Contains(st, "Status: install ok installed") {
		t.Errorf("dpkg -s after install:\n%s", st)
	}
	checkTree(t, root, map[string]fs.FileMode{
		"usr/share/doc/svcwrap/copyright":           0o644,
		"usr/share/doc/svcwrap/changelog.Debian.gz": 0o644,
		"usr/share/lintian/overrides/svcwrap":       0o644,
	})
	bin := filepath.Join(root, "usr/sbin/svcwrap")
	if f, err := elf.Open(bin); err != nil {
		t.Errorf("%s: %v", bin, err)
	} else {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked (has PT_INTERP); the package declares no Depends", bin)
			}
		}
		f.Close()
	}
	// The binary says the upstream part of the package's version.
	debVersion := ""
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(l, " Version: "); ok {
			debVersion = v
		}
		if v, ok := strings.CutPrefix(l, "Version: "); ok {
			debVersion = v
		}
	}
	upstream := debVersion
	if i := strings.LastIndex(upstream, "-"); i > 0 {
		upstream = upstream[:i]
	}
	if out, err := runIn(t, dir, time.Minute, nil, bin, "version"); err != nil || strings.TrimSpace(out) != "svcwrap "+upstream {
		t.Errorf("installed svcwrap version: %v %q, want \"svcwrap %s\" (package %s)", err, out, upstream, debVersion)
	}
	// md5sums match what was installed.
	if out := dpkg("--verify", "svcwrap"); out != "" {
		t.Errorf("dpkg --verify (md5sums):\n%s", out)
	}
	cp, _ := os.ReadFile(filepath.Join(root, "usr/share/doc/svcwrap/copyright"))
	if !bytes.HasPrefix(cp, []byte("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n")) {
		t.Errorf("copyright is not DEP-5")
	}
	if list := dpkg("-L", "svcwrap"); !strings.Contains(list, "/usr/sbin/svcwrap") {
		t.Errorf("dpkg -L:\n%s", list)
	}

	dpkg("-r", "svcwrap")
	if _, err := os.Stat(bin); err == nil {
		t.Errorf("dpkg -r left %s", bin)
	}
}
