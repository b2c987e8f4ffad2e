package definition

import (
	"strings"
	"testing"
)

// A bad value that comes from an env file is reported by key and variable, never
// shown; the same mistake written in the definition itself is shown.
func TestSecretsNotShownInProblems(t *testing.T) {
	const secret = "hunter2-Zq9"
	body := "#!/usr/sbin/svcwrap\n" +
		"DAEMON=\"/bin/sleep ${PASS}\"\n" +
		"RESPAWN_DELAY=${PASS}\n" +
		"PIDFILE=run/${PASS}.pid\n" +
		"NORMAL_EXIT=\"0 ${PASS}\"\n" +
		"LIMIT_NOFILE=10:${PASS}\n" +
		"READY=\"tcp ${PASS}\"\n" +
		"USER=${PASS}\n" +
		"START_WAIT=5x\n"
	file, paths := writeDef(t, body, "PASS="+secret+"\n")
	_, err := Load("svc", file, paths)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.Contains(msg, secret) || strings.Contains(msg, "hunter") {
		t.Errorf("the secret is shown:\n%s", msg)
	}
	for _, want := range []string{":3: RESPAWN_DELAY: invalid value after expanding $PASS", ":4: PIDFILE:", ":5: NORMAL_EXIT:", ":6: LIMIT_NOFILE:", ":7: READY:", `:9: START_WAIT: "5x"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}

	body = "#!/usr/sbin/svcwrap\nDAEMON=\"/nonexistent/${PASS}\"\nUSER=${PASS}\n"
	file, paths = writeDef(t, body, "PASS="+secret+"\n")
	d, err := Load("svc", file, paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.HostProblems {
		if strings.Contains(p.String(), secret) {
			t.Errorf("host problem shows the secret: %s", p)
		}
	}
	if err := d.Runnable(); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("Runnable = %v", err)
	}
	if got := d.Redact("DAEMON", "/nonexistent/"+secret, "x /nonexistent/"+secret+" y"); strings.Contains(got, secret) {
		t.Errorf("Redact = %q", got)
	}
}
