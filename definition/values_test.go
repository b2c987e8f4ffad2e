package definition

import (
	"reflect"
	"strings"
	"svcwrap/proc"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// wantErrText fails the test unless err has exactly the message want ("" means no error).
func wantErrText(t *testing.T, in string, err error, want string) {
	t.Helper()
	got := ""
	if err != nil {
		got = err.Error()
	}
	if got != want {
		t.Errorf("%q: error\n got: %s\nwant: %s", in, got, want)
	}
}

const (
	wantDurHint   = " (use Go syntax like 500ms or 10s, or plain seconds)"
	wantSizeHint  = " (use bytes, or a whole number with K, M, G or T, like 512K or 10M)"
	wantSigHint   = " (use a name like HUP, INT, QUIT, KILL, USR1, USR2, TERM or RTMIN+N, or a number 1-64)"
	wantSchedHint = " (use start-stop-daemon --retry syntax like TERM/10/KILL/5, or a timeout alone)"
	wantWinHint   = " (use N/WINDOW like 10/60s: at most N respawns within WINDOW)"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"500ms", 500 * time.Millisecond, ""},
		{"1m30s", 90 * time.Second, ""},
		{"5", 5 * time.Second, ""},
		{"1.5", 1500 * time.Millisecond, ""},
		{"0", 0, ""},
		{".5s", 500 * time.Millisecond, ""},
		{"2h", 2 * time.Hour, ""},
		{"1µs", time.Microsecond, ""},
		{"", 0, "empty value" + wantDurHint},
		{"5x", 0, `"5x": not a duration` + wantDurHint},
		{"-5s", 0, `"-5s": negative durations are not allowed` + wantDurHint},
		{"-1", 0, `"-1": negative durations are not allowed` + wantDurHint},
		{"+5s", 0, `"+5s": not a duration` + wantDurHint},
		{"NaN", 0, `"NaN": not a duration` + wantDurHint},
		{"1e3", 0, `"1e3": not a duration` + wantDurHint},
		{" 5", 0, `" 5": not a duration` + wantDurHint},
		{"5.", 0, `"5.": not a duration` + wantDurHint},
		{"9999999999", 0, `"9999999999": too long (at most about 2562047h)`},
		{"2562048h", 0, `"2562048h": too long (at most about 2562047h)`},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		wantErrText(t, tt.in, err, tt.err)
		if got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string
	}{
		{"1048576", 1048576, ""},
		{"0", 0, ""},
		{"100B", 100, ""},
		{"512K", 512 << 10, ""},
		{"512k", 512 << 10, ""},
		{"10M", 10 << 20, ""},
		{"10MB", 10 << 20, ""},
		{"10MiB", 10 << 20, ""},
		{"10mib", 10 << 20, ""},
		{"1G", 1 << 30, ""},
		{"2T", 2 << 40, ""},
		{"8388607T", 8388607 << 40, ""},
		{"", 0, "empty value" + wantSizeHint},
		{"-1", 0, `"-1": negative sizes are not allowed` + wantSizeHint},
		{"1.5G", 0, `"1.5G": not a size` + wantSizeHint},
		{"10 M", 0, `"10 M": not a size` + wantSizeHint},
		{"M", 0, `"M": not a size` + wantSizeHint},
		{"10X", 0, `"10X": unknown unit "X" (use K, M, G or T, optionally followed by B or iB)`},
		{"8388608T", 0, `"8388608T": too large (at most 9223372036854775807 bytes)`},
		{"99999999999999999999", 0, `"99999999999999999999": too large (at most 9223372036854775807 bytes)`},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		wantErrText(t, tt.in, err, tt.err)
		if got != tt.want {
			t.Errorf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		err  string
	}{
		{"HUP", unix.SIGHUP, ""},
		{"SIGHUP", unix.SIGHUP, ""},
		{"hup", unix.SIGHUP, ""},
		{"sighup", unix.SIGHUP, ""},
		{"1", unix.SIGHUP, ""},
		{"015", unix.SIGTERM, ""},
		{"KILL", unix.SIGKILL, ""},
		{"usr1", unix.SIGUSR1, ""},
		{"IOT", unix.SIGABRT, ""},
		{"CLD", unix.SIGCHLD, ""},
		{"RTMIN", 34, ""},
		{"RTMIN+3", 37, ""},
		{"sigrtmin+30", 64, ""},
		{"RTMAX", 64, ""},
		{"RTMAX-2", 62, ""},
		{"64", 64, ""},
		{"", 0, "empty value" + wantSigHint},
		{"0", 0, `"0": signal 0 sends nothing` + wantSigHint},
		{"65", 0, `"65": no such signal` + wantSigHint},
		{"99999999999999999999", 0, `"99999999999999999999": no such signal` + wantSigHint},
		{"HUPP", 0, `"HUPP": unknown signal` + wantSigHint},
		{"SIG", 0, `"SIG": unknown signal` + wantSigHint},
		{"-1", 0, `"-1": unknown signal` + wantSigHint},
		{"RTMIN-1", 0, `"RTMIN-1": unknown signal` + wantSigHint},
		{"RTMAX+1", 0, `"RTMAX+1": unknown signal` + wantSigHint},
		{"RTMIN+", 0, `"RTMIN+": unknown signal` + wantSigHint},
		{"RTMIN+31", 0, `"RTMIN+31": out of range (RTMIN+N and RTMAX-N take N from 0 to 30)`},
		{"ſigterm", 0, `"ſigterm": unknown signal` + wantSigHint}, // no Unicode case folding
	}
	for _, tt := range tests {
		got, err := ParseSignal(tt.in)
		wantErrText(t, tt.in, err, tt.err)
		if got != tt.want {
			t.Errorf("ParseSignal(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestSignalName(t *testing.T) {
	for sig, want := range map[unix.Signal]string{
		1: "HUP", 9: "KILL", 15: "TERM", 6: "ABRT", 31: "SYS",
		32: "32", 33: "33", 34: "RTMIN", 37: "RTMIN+3", 49: "RTMIN+15",
		50: "RTMAX-14", 62: "RTMAX-2", 64: "RTMAX", 0: "0", 65: "65", -1: "-1",
	} {
		if got := proc.SignalName(sig); got != want {
			t.Errorf("proc.SignalName(%d) = %q, want %q", sig, got, want)
		}
	}
	// Every valid signal reads back from its name.
	for sig := unix.Signal(1); sig <= 64; sig++ {
		got, err := ParseSignal(proc.SignalName(sig))
		if err != nil || got != sig {
			t.Errorf("ParseSignal(proc.SignalName(%d)) = %d, %v", sig, got, err)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	term, kill := unix.SIGTERM, unix.SIGKILL
	tests := []struct {
		in    string
		steps []proc.Step
		str   string
	}{
		{"TERM/10/KILL/5", []proc.Step{{Signal: term, Timeout: 10 * time.Second}, {Signal: kill, Timeout: 5 * time.Second}}, "TERM/10s/KILL/5s"},
		{"10", []proc.Step{{Signal: term, Timeout: 10 * time.Second}, {Signal: kill, Timeout: 10 * time.Second}}, "TERM/10s/KILL/10s"},
		{"500ms", []proc.Step{{Signal: term, Timeout: 500 * time.Millisecond}, {Signal: kill, Timeout: 500 * time.Millisecond}}, "TERM/500ms/KILL/500ms"},
		{"-TERM/10/-9/5", []proc.Step{{Signal: term, Timeout: 10 * time.Second}, {Signal: kill, Timeout: 5 * time.Second}}, "TERM/10s/KILL/5s"},
		{"term/1.5/sigkill/1s", []proc.Step{{Signal: term, Timeout: 1500 * time.Millisecond}, {Signal: kill, Timeout: time.Second}}, "TERM/1.5s/KILL/1s"},
		{"HUP/TERM/5", []proc.Step{{Signal: unix.SIGHUP, Timeout: 0}, {Signal: term, Timeout: 5 * time.Second}}, "HUP/TERM/5s"},
		{"TERM/0/KILL/5", []proc.Step{{Signal: term, Timeout: 0}, {Signal: kill, Timeout: 5 * time.Second}}, "TERM/KILL/5s"},
		{"TERM/10/KILL/forever", []proc.Step{{Signal: term, Timeout: 10 * time.Second}, {Signal: kill, Timeout: proc.Forever}}, "TERM/10s/KILL/forever"},
		{"term/Forever", []proc.Step{{Signal: term, Timeout: proc.Forever}}, "TERM/forever"},
		{"TERM/5/5", []proc.Step{{Signal: term, Timeout: 10 * time.Second}}, "TERM/10s"},
		{"USR1/60/KILL/30", []proc.Step{{Signal: unix.SIGUSR1, Timeout: time.Minute}, {Signal: kill, Timeout: 30 * time.Second}}, "USR1/1m/KILL/30s"},
		{"-33/5", []proc.Step{{Signal: 33, Timeout: 5 * time.Second}}, "-33/5s"},
		{"RTMIN+2/1h", []proc.Step{{Signal: 36, Timeout: time.Hour}}, "RTMIN+2/1h"},
		{"1800", []proc.Step{{Signal: term, Timeout: 30 * time.Minute}, {Signal: kill, Timeout: 30 * time.Minute}}, "TERM/30m/KILL/30m"},
	}
	for _, tt := range tests {
		got, err := ParseSchedule(tt.in)
		if err != nil {
			t.Errorf("ParseSchedule(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got.Steps, tt.steps) {
			t.Errorf("ParseSchedule(%q) = %+v, want %+v", tt.in, got.Steps, tt.steps)
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseSchedule(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
		again, err := ParseSchedule(got.String())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("round trip of %q: %+v, %v", tt.in, again, err)
		}
	}
	if got, _ := ParseSchedule("TERM/10/KILL/5"); got.Total() != 15*time.Second {
		t.Errorf("Total() = %v, want 15s", got.Total())
	}

	bad := []struct{ in, err string }{
		{"", "empty value" + wantSchedHint},
		{"TERM/10/forever", `"TERM/10/forever": "forever" may only follow the last signal (like TERM/10/KILL/forever: wait for ever after KILL)`},
		{"FOREVER", `"FOREVER": "forever" may only follow the last signal (like TERM/10/KILL/forever: wait for ever after KILL)`},
		{"forever/TERM/1", `"forever/TERM/1": "forever" may only follow the last signal (like TERM/10/KILL/forever: wait for ever after KILL)`},
		{"TERM", `"TERM": a schedule of one item must be a timeout (10 alone means TERM/10/KILL/10; to send one signal give its timeout, like TERM/10)`},
		{"5x", `"5x": not a duration` + wantDurHint},
		{"TERM/10/KILL", `"TERM/10/KILL": ends with a signal (end with a timeout that bounds the wait after it, like TERM/10/KILL/5)`},
		{"TERM/-5", `"TERM/-5": ends with a signal (end with a timeout that bounds the wait after it, like TERM/10/KILL/5)`},
		{"10/KILL/5", `"10/KILL/5": starts with a timeout (begin with the signal to send, like TERM/10)`},
		{"TERM//5", `"TERM//5": empty item between slashes` + wantSchedHint},
		{"TERM/5x/KILL/5", `"TERM/5x/KILL/5": "5x": not a duration` + wantDurHint},
		{"TERM/10/KILLL/5", `"TERM/10/KILLL/5": "KILLL": unknown signal` + wantSigHint},
		{"TERM/-0/KILL/5", `"TERM/-0/KILL/5": "0": signal 0 sends nothing` + wantSigHint},
		{"TERM/3600/KILL/1", `"TERM/3600/KILL/1": waits more than 1h in total (shorten the timeouts)`},
		{"1801", `"1801": waits more than 1h in total (shorten the timeouts)`},
		{"TERM/9999999999", `"TERM/9999999999": "9999999999": too long (at most about 2562047h)`},
		{"TERM/0", `"TERM/0": the last timeout is 0 (it bounds the wait after the last signal and must be more than 0)`},
		{"0", `"0": the last timeout is 0 (it bounds the wait after the last signal and must be more than 0)`},
	}
	for _, tt := range bad {
		_, err := ParseSchedule(tt.in)
		wantErrText(t, tt.in, err, tt.err)
	}
}

func TestParseWindow(t *testing.T) {
	good := []struct {
		in  string
		w   Window
		str string
	}{
		{"10/60s", Window{10, time.Minute}, "10/1m"},
		{"5/1m", Window{5, time.Minute}, "5/1m"},
		{"3/30", Window{3, 30 * time.Second}, "3/30s"},
		{"1/0.5", Window{1, 500 * time.Millisecond}, "1/500ms"},
		{"2/1h30m", Window{2, 90 * time.Minute}, "2/1h30m"},
	}
	for _, tt := range good {
		w, err := ParseWindow(tt.in)
		if err != nil || w != tt.w || w.String() != tt.str {
			t.Errorf("ParseWindow(%q) = %+v (%q), %v; want %+v (%q)", tt.in, w, w.String(), err, tt.w, tt.str)
		}
		if again, err := ParseWindow(w.String()); err != nil || again != w {
			t.Errorf("round trip of %q: %+v, %v", tt.in, again, err)
		}
	}
	bad := []struct{ in, err string }{
		{"", "empty value" + wantWinHint},
		{"10", `"10": not N/WINDOW` + wantWinHint},
		{"0/60s", `"0/60s": N must be at least 1` + wantWinHint},
		{"x/60s", `"x/60s": N is not a whole number` + wantWinHint},
		{"-1/60s", `"-1/60s": N is not a whole number` + wantWinHint},
		{"99999999999999999999/1s", `"99999999999999999999/1s": N is too large` + wantWinHint},
		{"10/0", `"10/0": the window must be longer than 0` + wantWinHint},
		{"10/5x", `"10/5x": "5x": not a duration` + wantDurHint},
		{"10/60s/5", `"10/60s/5": "60s/5": not a duration` + wantDurHint},
	}
	for _, tt := range bad {
		_, err := ParseWindow(tt.in)
		wantErrText(t, tt.in, err, tt.err)
	}
}

func TestParseExitSet(t *testing.T) {
	e, err := ParseExitSet("0 2 TERM")
	if err != nil || !reflect.DeepEqual(e, ExitSet{Codes: []int{0, 2}, Signals: []unix.Signal{unix.SIGTERM}}) {
		t.Fatalf("ParseExitSet: %+v, %v", e, err)
	}
	for _, c := range []struct {
		code int
		sig  unix.Signal
		want bool
	}{
		{0, 0, true}, {2, 0, true}, {1, 0, false},
		{0, unix.SIGTERM, true}, {0, unix.SIGKILL, false}, {15, 0, false},
	} {
		if got := e.Contains(c.code, c.sig); got != c.want {
			t.Errorf("Contains(%d, %d) = %v, want %v", c.code, c.sig, got, c.want)
		}
	}
	e, err = ParseExitSet(" 0  0\tSIGTERM term 255 hup ")
	if err != nil || e.String() != "0 255 TERM HUP" {
		t.Errorf("ParseExitSet with duplicates: %q, %v", e.String(), err)
	}
	if again, err := ParseExitSet(e.String()); err != nil || !reflect.DeepEqual(again, e) {
		t.Errorf("round trip: %+v, %v", again, err)
	}
	const hint = ` (list exit codes 0-255 and signal names separated by spaces, like "0 2 TERM")`
	for _, tt := range []struct{ in, err string }{
		{"", "empty value" + hint},
		{"  ", "empty value" + hint},
		{"0 256", `"0 256": 256 is not an exit code (exit codes are 0-255)`},
		{"0 FOO", `"0 FOO": "FOO" is neither an exit code nor a signal name` + hint},
		{"-1", `"-1": "-1" is neither an exit code nor a signal name` + hint},
	} {
		_, err := ParseExitSet(tt.in)
		wantErrText(t, tt.in, err, tt.err)
	}
}

func TestParseLimit(t *testing.T) {
	inf := uint64(unix.RLIM_INFINITY)
	good := []struct {
		name, value string
		want        Limit
	}{
		{"NOFILE", "65536", Limit{Name: "NOFILE", Resource: unix.RLIMIT_NOFILE, Soft: 65536, Hard: 65536}},
		{"nofile", "1024:65536", Limit{Name: "NOFILE", Resource: unix.RLIMIT_NOFILE, Soft: 1024, Hard: 65536}},
		{"CORE", "unlimited", Limit{Name: "CORE", Resource: unix.RLIMIT_CORE, Soft: inf, Hard: inf}},
		{"Core", "0", Limit{Name: "CORE", Resource: unix.RLIMIT_CORE, Soft: 0, Hard: 0}},
		{"STACK", "8M", Limit{Name: "STACK", Resource: unix.RLIMIT_STACK, Soft: 8 << 20, Hard: 8 << 20}},
		{"AS", "1G:Infinity", Limit{Name: "AS", Resource: unix.RLIMIT_AS, Soft: 1 << 30, Hard: inf}},
		{"MEMLOCK", "64K:128KiB", Limit{Name: "MEMLOCK", Resource: unix.RLIMIT_MEMLOCK, Soft: 64 << 10, Hard: 128 << 10}},
		{"CPU", "infinity", Limit{Name: "CPU", Resource: unix.RLIMIT_CPU, Soft: inf, Hard: inf}},
		{"NPROC", "100:unlimited", Limit{Name: "NPROC", Resource: unix.RLIMIT_NPROC, Soft: 100, Hard: inf}},
		{"NOFILE", "65536?", Limit{Name: "NOFILE", Resource: unix.RLIMIT_NOFILE, Soft: 65536, Hard: 65536, BestEffort: true}},
		{"RTTIME", "18446744073709551615", Limit{Name: "RTTIME", Resource: unix.RLIMIT_RTTIME, Soft: inf, Hard: inf}},
	}
	for _, tt := range good {
		got, err := ParseLimit(tt.name, tt.value)
		if err != nil || got != tt.want {
			t.Errorf("ParseLimit(%q, %q) = %+v, %v; want %+v", tt.name, tt.value, got, err, tt.want)
		}
	}
	const countHint = " (this limit takes no unit: use a number, SOFT:HARD like 1024:65536, or unlimited; end it with ? to lower it to what the host allows)"
	bad := []struct{ name, value, err string }{
		{"NOFILES", "1", `unknown resource "NOFILES" (use one of AS, CORE, CPU, DATA, FSIZE, LOCKS, MEMLOCK, MSGQUEUE, NICE, NOFILE, NPROC, RSS, RTPRIO, RTTIME, SIGPENDING, STACK)`},
		{"NOFILE", "", "empty value (use a number, SOFT:HARD like 1024:65536, or unlimited; end it with ? to lower it to what the host allows)"},
		{"NOFILE", "64K", `"64K": not a whole number` + countHint},
		{"NOFILE", "1024:", `"1024:": empty value` + countHint},
		{"NOFILE", "1:2:3", `"1:2:3": "2:3": not a whole number` + countHint},
		{"NOFILE", "65536:1024", `"65536:1024": the soft limit is above the hard limit (write SOFT:HARD with SOFT at most HARD)`},
		{"NOFILE", "unlimited:1024", `"unlimited:1024": the soft limit is above the hard limit (write SOFT:HARD with SOFT at most HARD)`},
		{"NOFILE", "99999999999999999999", `"99999999999999999999": too large (use unlimited for no limit)`},
		{"CORE", "1X", `"1X": unknown unit "X" (use K, M, G or T, optionally followed by B or iB)`},
		{"CORE", "-1", `"-1": negative sizes are not allowed (use bytes, a size like 64M, or unlimited)`},
		{"DATA", "1M:lots", `"1M:lots": "lots": not a size (use bytes, a size like 64M, or unlimited)`},
	}
	for _, tt := range bad {
		_, err := ParseLimit(tt.name, tt.value)
		wantErrText(t, tt.name+"="+tt.value, err, tt.err)
	}
}

func TestParseUmask(t *testing.T) {
	for in, want := range map[string]uint32{"022": 0o22, "0027": 0o27, "27": 0o27, "0": 0, "777": 0o777, "0000077": 0o77} {
		if got, err := ParseUmask(in); err != nil || got != want {
			t.Errorf("ParseUmask(%q) = %o, %v; want %o", in, got, err, want)
		}
	}
	const hint = " (use octal digits like 022 or 027)"
	for in, want := range map[string]string{
		"":                        "empty value" + hint,
		"089":                     `"089": not an octal umask` + hint,
		"-22":                     `"-22": not an octal umask` + hint,
		"0o22":                    `"0o22": not an octal umask` + hint,
		"1000":                    `"1000": too large (a umask is at most 0777)`,
		"77777777777777777777777": `"77777777777777777777777": too large (a umask is at most 0777)`,
	} {
		_, err := ParseUmask(in)
		wantErrText(t, in, err, want)
	}
}

func TestParseNice(t *testing.T) {
	for in, want := range map[string]int{"0": 0, "-20": -20, "19": 19, "+5": 5, "-5": -5, "007": 7} {
		if got, err := ParseNice(in); err != nil || got != want {
			t.Errorf("ParseNice(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	const hint = " (nice is a whole number from -20 to 19)"
	for in, want := range map[string]string{
		"":                     "empty value" + hint,
		"20":                   `"20": out of range` + hint,
		"-21":                  `"-21": out of range` + hint,
		"99999999999999999999": `"99999999999999999999": out of range` + hint,
		"x":                    `"x": not a number` + hint,
		"--5":                  `"--5": not a number` + hint,
		"-":                    `"-": not a number` + hint,
		"1.5":                  `"1.5": not a number` + hint,
	} {
		_, err := ParseNice(in)
		wantErrText(t, in, err, want)
	}
}

func TestParsePolicy(t *testing.T) {
	for in, want := range map[string]Policy{"always": RespawnAlways, "ALWAYS": RespawnAlways, "on-failure": RespawnOnFailure, "no": RespawnNo, "No": RespawnNo} {
		got, err := ParsePolicy(in)
		if err != nil || got != want {
			t.Errorf("ParsePolicy(%q) = %v, %v; want %v", in, got, err, want)
		}
		if again, _ := ParsePolicy(got.String()); again != got {
			t.Errorf("round trip of %q gave %v", in, again)
		}
	}
	for in, want := range map[string]string{
		"":           "empty value (use always, on-failure or no)",
		"on_failure": `"on_failure": unknown policy (use always, on-failure or no)`,
		"never":      `"never": unknown policy (use always, on-failure or no)`,
	} {
		_, err := ParsePolicy(in)
		wantErrText(t, in, err, want)
	}
	if s := Policy(7).String(); s != "Policy(7)" {
		t.Errorf("Policy(7).String() = %q", s)
	}
}

func TestParseBool(t *testing.T) {
	for in, want := range map[string]bool{
		"yes": true, "YES": true, "true": true, "True": true, "1": true, "on": true, "ON": true,
		"no": false, "No": false, "false": false, "FALSE": false, "0": false, "off": false,
	} {
		if got, err := ParseBool(in); err != nil || got != want {
			t.Errorf("ParseBool(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	const hint = " (use yes or no; true/false, on/off and 1/0 work too)"
	for in, want := range map[string]string{
		"":      "empty value" + hint,
		"maybe": `"maybe": not a yes/no value` + hint,
		"y":     `"y": not a yes/no value` + hint,
	} {
		_, err := ParseBool(in)
		wantErrText(t, in, err, want)
	}
}

func TestParseCPUPercent(t *testing.T) {
	for in, want := range map[string]int{"1%": 1, "10%": 10, "150%": 150, "100000%": 100000, "007%": 7} {
		if got, err := ParseCPUPercent(in); err != nil || got != want {
			t.Errorf("ParseCPUPercent(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	const hint = " (a whole percent of one CPU from 1% to 100000%, like 10% or 150%)"
	for in, want := range map[string]string{
		"":                      "empty value" + hint,
		"10":                    `"10": no % sign` + hint,
		"0%":                    `"0%": out of range` + hint,
		"100001%":               `"100001%": out of range` + hint,
		"99999999999999999999%": `"99999999999999999999%": out of range` + hint,
		"12.5%":                 `"12.5%": not a percent` + hint,
		"-5%":                   `"-5%": not a percent` + hint,
		"%":                     `"%": not a percent` + hint,
		"ten%":                  `"ten%": not a percent` + hint,
		"0.5":                   `"0.5": not a percent` + hint,
	} {
		_, err := ParseCPUPercent(in)
		wantErrText(t, in, err, want)
	}
}

func TestParseWhole(t *testing.T) {
	const hint = "1 to 10"
	for in, want := range map[string]int{"1": 1, "10": 10, "05": 5} {
		if got, err := ParseWhole(in, 1, 10, hint); err != nil || got != want {
			t.Errorf("ParseWhole(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for in, want := range map[string]string{
		"":                     "empty value (1 to 10)",
		"0":                    `"0": out of range (1 to 10)`,
		"11":                   `"11": out of range (1 to 10)`,
		"-3":                   `"-3": out of range (1 to 10)`,
		"99999999999999999999": `"99999999999999999999": out of range (1 to 10)`,
		"+3":                   `"+3": not a whole number (1 to 10)`,
		"2k":                   `"2k": not a whole number (1 to 10)`,
	} {
		_, err := ParseWhole(in, 1, 10, hint)
		wantErrText(t, in, err, want)
	}
}

func TestLongValueIsCutInMessages(t *testing.T) {
	_, err := ParseDuration(strings.Repeat("x", 1000))
	want := `"` + strings.Repeat("x", 64) + `"...: not a duration` + wantDurHint
	wantErrText(t, "1000 x", err, want)
}
