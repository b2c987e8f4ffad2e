package definition

import (
	"slices"
	"strings"
	"testing"
)

func TestLoadVerbProblems(t *testing.T) {
	cases := []struct {
		name, body, env string
		want            []string
	}{
		{"help twice", "DAEMON=/bin/true\nSIGNAL_ROTATE=USR1\nHELP_rotate=a\nHELP_ROTATE=b\n", "",
			[]string{":4: HELP_ROTATE: verb \"rotate\" already has its help line from HELP_rotate (line 3)"}},
		{"help for a built-in", "DAEMON=/bin/true\nHELP_START=mine\n", "",
			[]string{":2: HELP_START: \"start\" is a built-in verb"}},
		{"help on two lines", "DAEMON=/bin/true\nSIGNAL_x=HUP\nHELP_x=\"a\nb\"\n", "",
			[]string{":3: HELP_x: must be a single line"}},
		{"help with an env value", "DAEMON=/bin/true\nSIGNAL_x=HUP\nHELP_x=\"pw ${PW}\"\n", "PW=secret\n",
			[]string{":3: HELP_x: may not use ${VAR}"}},
		{"duplicate names the line", "DAEMON=/bin/true\nCOMMAND_a=/bin/true\nSIGNAL_A=HUP\n", "",
			[]string{":3: SIGNAL_A: verb \"a\" is already defined by COMMAND_a (line 2)"}},
		{"guard on a signal verb", "DAEMON=/bin/true\nSIGNAL_x=HUP\nGUARD=x\n", "",
			[]string{":3: GUARD: \"x\" is not a COMMAND_ verb"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file, paths := writeDef(t, c.body, c.env)
			_, err := Load("svc", file, paths)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), file+w) {
					t.Errorf("error %q does not contain %q", err, file+w)
				}
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows an env value: %q", err)
			}
		})
	}
}

func TestLoadVerbNames(t *testing.T) {
	file, paths := writeDef(t, "DAEMON=/bin/true\nCOMMAND_Config_Test=/bin/true\nGUARD=CONFIG_TEST\nSIGNAL_x=HUP\nHELP_X=\"same verb as SIGNAL_x\"\nHELP_config_test=\"\"\n", "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	if d.Guard != "config-test" || d.Verb("config-test") == nil {
		t.Errorf("Guard %q, verbs %+v", d.Guard, d.Verbs)
	}
	if v := d.Verb("x"); v == nil || v.Help != "same verb as SIGNAL_x" {
		t.Errorf("verb x = %+v", v)
	}
}

func TestUserCredentialAndCommands(t *testing.T) {
	file, paths := writeDef(t, "DAEMON=/bin/true\nUSER=no-such-user-svcwrap\nCOMMAND_x=/bin/true\n", "")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	// A custom command (service.RunCommand), GUARD or RELOAD_COMMAND is made by Command.
	if _, err := d.Command([]string{"/bin/true"}); exitCode(err) != 6 || !strings.Contains(err.Error(), "no-such-user-svcwrap") {
		t.Errorf("Command with a missing USER: %v (exit %d), want 6 naming the user", err, exitCode(err))
	}
	// The groups are initgroups(3)'s: the gid first, then the memberships.
	cred, err := lookupUser("root", "")
	if err != nil {
		t.Skip("no root in /etc/passwd")
	}
	if len(cred.Groups) == 0 || cred.Groups[0] != cred.Gid || slices.Index(cred.Groups[1:], cred.Gid) >= 0 {
		t.Errorf("root's groups %v: want the gid %d first, once", cred.Groups, cred.Gid)
	}
}
