package commands

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"svcwrap/definition"
	"svcwrap/lsb"
)

func TestValidateServiceName(t *testing.T) {
	for _, ok := range []string{"nginx", "my-app", "app_2", "a.b", "X11", strings.Repeat("a", 64)} {
		if err := ValidateServiceName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".x", "a/b", "../x", "x.sh", "-x", "two words", "t@x", "a:b", "x\n", "rc", "rcS", "README", "svcwrap", "skeleton", "x.dpkg-old", "x.dpkg-dist", strings.Repeat("a", 65)} {
		if err := ValidateServiceName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestFacilityUnit(t *testing.T) {
	for in, want := range map[string]string{
		"$local_fs": "", "$syslog": "", "$all": "", "$network": "network-online.target",
		"$named": "nss-lookup.target", "$portmap": "rpcbind.target", "$remote_fs": "remote-fs.target",
		"$time": "time-sync.target", "$x-display-manager": "x-display-manager.target",
		"db": "db.service", "cache.sh": "cache.service", "self": "", "self.sh": "",
	} {
		if got := facilityUnit(in, "self"); got != want {
			t.Errorf("facilityUnit(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnitOrdering(t *testing.T) {
	h := &lsb.Header{
		RequiredStart: []string{"$remote_fs", "$network", "$syslog"},
		ShouldStart:   []string{"$network", "db"},
		Extra:         []lsb.Field{{Key: "X-Start-Before", Value: "proxy $network"}, {Key: "X-Start-After", Value: "late"}},
	}
	before, after, wants := unitOrdering(h, "web")
	if strings.Join(before, " ") != "proxy.service network-online.target" ||
		strings.Join(after, " ") != "remote-fs.target network-online.target db.service late.service" ||
		strings.Join(wants, " ") != "network-online.target" {
		t.Errorf("before %q after %q wants %q", before, after, wants)
	}
	if b, a, w := unitOrdering(nil, "x"); b != nil || a != nil || w != nil {
		t.Error("nil header gave ordering")
	}
}

func TestUnitValue(t *testing.T) {
	if got := unitValue("100% sure\\"); got != "100%% sure" {
		t.Errorf("got %q", got)
	}
	if got := unitValue("a\n  b"); got != "a b" {
		t.Errorf("got %q", got)
	}
}

func TestRcTool(t *testing.T) {
	look := func(have ...string) func(string) (string, error) {
		return func(n string) (string, error) {
			for _, h := range have {
				if h == n {
					return "/usr/sbin/" + n, nil
				}
			}
			return "", errors.New("not found")
		}
	}
	if tool, args := rcTool("web", look("update-rc.d", "chkconfig")); tool != "/usr/sbin/update-rc.d" || strings.Join(args, " ") != "web defaults" {
		t.Errorf("Debian: %s %v", tool, args)
	}
	if tool, args := rcTool("web", look("chkconfig")); tool != "/usr/sbin/chkconfig" || strings.Join(args, " ") != "--add web" {
		t.Errorf("Red Hat: %s %v", tool, args)
	}
	if tool, _ := rcTool("web", look()); tool != "" {
		t.Errorf("neither: %s", tool)
	}
}

func TestQuoteValue(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/app --port 80":       `"/usr/bin/app --port 80"`,
		"/usr/bin/app ${OPTS}":         `"/usr/bin/app ${OPTS}"`,
		`/usr/bin/app --name "my app"`: `'/usr/bin/app --name "my app"'`,
		`/usr/bin/app --re a\b`:        `'/usr/bin/app --re a\b'`,
	} {
		if got, err := quoteValue("exec", in); err != nil || got != want {
			t.Errorf("quoteValue(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := quoteValue("exec", `/bin/app "it's"`); err == nil {
		t.Error("both quotes accepted")
	}
}

func TestRunAsInitScript(t *testing.T) {
	root := t.TempDir()
	initDir := filepath.Join(root, "init.d")
	rc := filepath.Join(root, "rc2.d")
	os.MkdirAll(initDir, 0o755)
	os.MkdirAll(rc, 0o755)
	bin := filepath.Join(root, "svcwrap")
	os.WriteFile(bin, nil, 0o755)
	os.WriteFile(filepath.Join(initDir, "script"), nil, 0o755)
	os.Symlink(bin, filepath.Join(initDir, "linked"))
	os.Symlink("../init.d/script", filepath.Join(rc, "S01script"))
	os.Symlink("../init.d/linked", filepath.Join(rc, "S01linked"))
	other := filepath.Join(root, "elsewhere")
	os.WriteFile(other, nil, 0o755)
	for _, c := range []struct {
		via, name string
		want      bool
	}{
		{filepath.Join(initDir, "script"), "script", true},
		{filepath.Join(rc, "S01script"), "script", true},
		{filepath.Join(initDir, "linked"), "linked", true},
		{filepath.Join(rc, "S01linked"), "linked", true},
		{other, "elsewhere", false},
		{bin, "svcwrap", false},
		{"", "script", false},
	} {
		if got := runAsInitScript(c.via, initDir, c.name); got != c.want {
			t.Errorf("runAsInitScript(%q, %q) = %v", c.via, c.name, got)
		}
	}
}

func TestInSystemdRoot(t *testing.T) {
	t.Setenv("SVCWRAP_SYSTEMD_ROOT", "")
	if got := inSystemdRoot("/etc/init.d/web"); got != "/etc/init.d/web" {
		t.Errorf("no root: %q", got)
	}
	t.Setenv("SVCWRAP_SYSTEMD_ROOT", "/")
	if systemdRoot() != "" || inSystemdRoot("/etc/init.d/web") != "/etc/init.d/web" {
		t.Errorf("root /: %q", systemdRoot())
	}
	t.Setenv("SVCWRAP_SYSTEMD_ROOT", "/srv/img/")
	for in, want := range map[string]string{
		"/srv/img/etc/init.d/web": "/etc/init.d/web",
		"/srv/img":                "/",
		"/srv/image/etc/x":        "/srv/image/etc/x", // a sibling, not inside
		"/srv/img/../other/x":     "/srv/img/../other/x",
		"/usr/sbin/svcwrap":       "/usr/sbin/svcwrap",
	} {
		if got := inSystemdRoot(in); got != want {
			t.Errorf("inSystemdRoot(%q) = %q, want %q", in, got, want)
		}
	}
	if d := unitDir(); d != "/srv/img/etc/systemd/system" {
		t.Errorf("unitDir under a root: %q", d)
	}
	t.Setenv("SVCWRAP_UNITDIR", "/tmp/units")
	if d := unitDir(); d != "/tmp/units" {
		t.Errorf("SVCWRAP_UNITDIR wins: %q", d)
	}
}

func TestRcEnabled(t *testing.T) {
	root := t.TempDir()
	initDir := filepath.Join(root, "init.d")
	link := func(dir, name string) {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		if err := os.Symlink("../init.d/x", filepath.Join(root, dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	paths := definition.Paths{InitDir: initDir}
	link("rc0.d", "K01web")
	link("rc2.d", "K01web") // disabled by update-rc.d disable
	link("rc1.d", "S01single")
	link("rc5.d", "S20db")
	link("rc3.d", "S02web2")
	for name, want := range map[string]bool{"web": false, "single": false, "db": true, "web2": true, "nosuch": false} {
		if got := rcEnabled(paths, name); got != want {
			t.Errorf("rcEnabled(%s) = %v, want %v", name, got, want)
		}
	}
}
