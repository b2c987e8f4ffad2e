package envfile

import (
	"bytes"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/joho/godotenv"
)

const script = `#!/usr/sbin/svcwrap
### BEGIN INIT INFO
# Provides:          myapp
# Required-Start:    $remote_fs $syslog $network
# Required-Stop:     $remote_fs $syslog $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: My application server
### END INIT INFO
DAEMON="/usr/bin/myapp --listen 127.0.0.1:8080 ${MYAPP_OPTS}"
USER=myapp
COMMAND_configtest="/usr/bin/myapp --check-config"
SIGNAL_rotate=USR1

# comment
export RELOAD_SIGNAL=HUP
READY="tcp 127.0.0.1:8080"
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		base map[string]string
		want []Var
	}{
		{"empty", "", nil, nil},
		{"only comments and blanks", "# a\n\n   \n\t# b\n", nil, nil},
		{"simple", "A=1\nB=two\n", nil, []Var{{"A", "1", 1}, {"B", "two", 2}}},
		{"no final newline", "A=1\nB=2", nil, []Var{{"A", "1", 1}, {"B", "2", 2}}},
		{"script mode", script, map[string]string{"MYAPP_OPTS": "--debug"}, []Var{
			{"DAEMON", "/usr/bin/myapp --listen 127.0.0.1:8080 --debug", 10},
			{"USER", "myapp", 11},
			{"COMMAND_configtest", "/usr/bin/myapp --check-config", 12},
			{"SIGNAL_rotate", "USR1", 13},
			{"RELOAD_SIGNAL", "HUP", 16},
			{"READY", "tcp 127.0.0.1:8080", 17},
		}},
		{"indented", "  A=1\n\tB=2\n", nil, []Var{{"A", "1", 1}, {"B", "2", 2}}},
		{"export", "export A=1\nexport\tB=2\n  export   C=3\n", nil, []Var{{"A", "1", 1}, {"B", "2", 2}, {"C", "3", 3}}},
		{"key named export", "export=1\nexportX=2\nexport Y=3x\n", nil, []Var{{"export", "1", 1}, {"exportX", "2", 2}, {"Y", "3x", 3}}},
		{"key syntax", "_a=1\nb_2=2\nLower=3\n", nil, []Var{{"_a", "1", 1}, {"b_2", "2", 2}, {"Lower", "3", 3}}},
		{"unquoted trimmed", "A=  foo bar  \n", nil, []Var{{"A", "foo bar", 1}}},
		{"unquoted comment", "A=foo # c\n", nil, []Var{{"A", "foo", 1}}},
		{"unquoted first comment wins", "A=foo # b # c\n", nil, []Var{{"A", "foo", 1}}},
		{"unquoted tab comment", "A=foo\t#c\n", nil, []Var{{"A", "foo", 1}}},
		{"unquoted hash inside", "A=foo#bar\n", nil, []Var{{"A", "foo#bar", 1}}},
		{"unquoted only comment", "A= # note\n", nil, []Var{{"A", "", 1}}},
		{"unquoted starts with hash", "A=#x\n", nil, []Var{{"A", "#x", 1}}},
		{"empty value", "A=\nB=", nil, []Var{{"A", "", 1}, {"B", "", 2}}},
		{"unquoted quotes inside", `A=foo"bar'`, nil, []Var{{"A", `foo"bar'`, 1}}},
		{"unquoted backslash kept", `A=a\nb`, nil, []Var{{"A", `a\nb`, 1}}},
		{"single quotes literal", `A='$HOME \n "x" # y'`, map[string]string{"HOME": "/root"}, []Var{{"A", `$HOME \n "x" # y`, 1}}},
		{"single quotes with comment", "A='x y' # c\n", nil, []Var{{"A", "x y", 1}}},
		{"single quote escaped at end", `A='it\''`, nil, []Var{{"A", `it\'`, 1}}},
		{"double quotes escapes", `A="a\nb\tc\"d\\e\$F"`, map[string]string{"F": "no"}, []Var{{"A", "a\nbtc\"d\\e$F", 1}}},
		{"double quotes escaped quote at end", `A="say \"hi\""`, nil, []Var{{"A", `say "hi"`, 1}}},
		{"double quotes comment after", `A="x # y" # z`, nil, []Var{{"A", "x # y", 1}}},
		{"quote after spaces", "A=  \"x y\" \n", nil, []Var{{"A", "x y", 1}}},
		{"empty quotes", "A=\"\"\nB=''\n", nil, []Var{{"A", "", 1}, {"B", "", 2}}},
		{"unicode", "A=\"héllo ☃\"\nB=ünï\n", nil, []Var{{"A", "héllo ☃", 1}, {"B", "ünï", 2}}},
		{"expansion", "A=x\nB=${A}y\nC=\"$A-$B\"\nD='$A'\nE=$A\n", nil, []Var{
			{"A", "x", 1}, {"B", "xy", 2}, {"C", "x-xy", 3}, {"D", "$A", 4}, {"E", "x", 5}}},
		{"expansion of later key is base or empty", "B=$A.$C\nA=1\n", map[string]string{"C": "c"}, []Var{{"B", ".c", 1}, {"A", "1", 2}}},
		{"base", "X=$BASE\nY=$A\nA=file\nZ=${A}\nU=${UNDEF}.\n", map[string]string{"BASE": "b", "A": "base-a"}, []Var{
			{"X", "b", 1}, {"Y", "base-a", 2}, {"A", "file", 3}, {"Z", "file", 4}, {"U", ".", 5}}},
		{"self reference", "PATH=$PATH:/opt\n", map[string]string{"PATH": "/bin"}, []Var{{"PATH", "/bin:/opt", 1}}},
		{"no re-expansion", "X=$A\nY=\"$A\"\n", map[string]string{"A": "$B", "B": "bad"}, []Var{{"X", "$B", 1}, {"Y", "$B", 2}}},
		{"base value kept exactly", "X=\"<$A>\"\n", map[string]string{"A": "q\"\\\n'x\x00"}, []Var{{"X", "<q\"\\\n'x\x00>", 1}}},
		{"lower-case names not expanded", "A=$lower\nB=\"$lower\"\n", map[string]string{"lower": "x"}, []Var{{"A", "$lower", 1}, {"B", "$lower", 2}}},
		{"escaped dollar", "A=\\$HOME\nB=\"\\${X:-y}\"\nC=\"\\$(date)\"\n", map[string]string{"HOME": "h"}, []Var{
			{"A", "$HOME", 1}, {"B", "${X:-y}", 2}, {"C", "$(date)", 3}}},
		{"dollar alone", "A=5$\nB=\"$ $1\"\n", nil, []Var{{"A", "5$", 1}, {"B", "$ ", 2}}},
		{"multi-line double quotes", "A=\"line1\nline2\"\nB=2\nC='x\n\ny'\nD=4\n", nil, []Var{
			{"A", "line1\nline2", 1}, {"B", "2", 3}, {"C", "x\n\ny", 4}, {"D", "4", 7}}},
		{"multi-line with expansion", "A=1\nB=\"$A\n${A}\" # c\nC=3\n", nil, []Var{{"A", "1", 1}, {"B", "1\n1", 2}, {"C", "3", 4}}},
		{"multi-line escaped newline", "A=\"x\\ny\"\nB=2\n", nil, []Var{{"A", "x\ny", 1}, {"B", "2", 2}}},
		{"CRLF", "# c\r\nA=1\r\nB=\"x\r\ny\"\r\nC='z' \r\n\r\nD=4", nil, []Var{
			{"A", "1", 2}, {"B", "x\ny", 3}, {"C", "z", 5}, {"D", "4", 7}}},
		{"byte order mark", "\uFEFFA=1\nB=2\n", nil, []Var{{"A", "1", 1}, {"B", "2", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("f", []byte(tt.in), tt.base)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Name != "f" {
				t.Errorf("Name = %q", f.Name)
			}
			if !reflect.DeepEqual(f.Vars, tt.want) {
				t.Errorf("Vars =\n%#v\nwant\n%#v", f.Vars, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const expansion = `unsupported expansion in the value of A: only $NAME, ${NAME}, ${NAME:-WORD}, ${NAME-WORD}, ${NAME:+WORD} and ${NAME+WORD} with NAME in [A-Z0-9_] (write \$ for a literal $)`
	const notAssign = "not an assignment: want KEY=VALUE (shell code is not supported)"
	tests := []struct {
		name, in, want string
	}{
		{"yaml", "A=1\nKEY: value\n", `f:2: YAML-style "KEY:" is not supported: use KEY=VALUE`},
		{"yaml no space", "KEY:value", `f:1: YAML-style "KEY:" is not supported: use KEY=VALUE`},
		{"dot in key", "FOO.BAR=1", `f:1: invalid key: '.' is not allowed (use A-Z, a-z, 0-9 and _)`},
		{"dash in key", "# c\nFOO-BAR=1", `f:2: invalid key: '-' is not allowed (use A-Z, a-z, 0-9 and _)`},
		{"non-ASCII key", "FÖO=1", `f:1: invalid key: 'Ö' is not allowed (use A-Z, a-z, 0-9 and _)`},
		{"exported dotted key", "export A.B=1", `f:1: invalid key: '.' is not allowed (use A-Z, a-z, 0-9 and _)`},
		{"digit first", "1FOO=1", `f:1: invalid key: starts with a digit`},
		{"missing key", "=1", `f:1: missing key before "="`},
		{"space before equals", "KEY =value", `f:1: space between KEY and "="`},
		{"spaces around equals", "KEY = value", `f:1: space between KEY and "="`},
		{"no equals", "A=1\n\nFOO\n", "f:3: " + notAssign},
		{"export without value", "export FOO", "f:1: " + notAssign},
		{"export alone", "export", "f:1: " + notAssign},
		{"test and", "[ -x /usr/bin/foo ] && bar", "f:1: " + notAssign},
		{"test with equals", `[ "$X" = yes ] && bar`, "f:1: " + notAssign},
		{"ulimit", "ulimit -n 5", "f:1: " + notAssign},
		{"set -a", "set -a\nA=1", "f:1: " + notAssign},
		{"source", ". /etc/foo", "f:1: " + notAssign},
		{"two words", "FOO BAR=1", "f:1: " + notAssign},
		{"vertical tab indent", "\vA=1", `f:1: invalid key: '\v' is not allowed (use A-Z, a-z, 0-9 and _)`},
		{"semicolon", "LANG=C; export LANG", `f:1: unquoted value of LANG contains ';': quote the value (shell code is not supported)`},
		{"ampersand", "U=http://x/?a=1&b=2", `f:1: unquoted value of U contains '&': quote the value (shell code is not supported)`},
		{"backquote", "A=`date`", "f:1: unquoted value of A contains '`': quote the value (shell code is not supported)"},
		{"pipe", "A=x|y", `f:1: unquoted value of A contains '|': quote the value (shell code is not supported)`},
		{"duplicate", "A=1\nB=2\nA=3\n", `f:3: duplicate key A (first set at line 1)`},
		{"duplicate via export", "A=1\nexport A=1\n", `f:2: duplicate key A (first set at line 1)`},
		{"NUL", "A=1\nB=x\x00y\n", `f:2: NUL byte`},
		{"NUL in comment", "# \x00\n", `f:1: NUL byte`},
		{"invalid UTF-8", "A=1\n\nB=\xff\n", `f:3: invalid UTF-8`},
		{"invalid UTF-8 in key", "A\xc3=1", `f:1: invalid UTF-8`},
		{"unterminated double", "A=1\nB=\"abc\nC=2\n", `f:2: unterminated double-quoted value of B`},
		{"unterminated single", "A='abc", `f:1: unterminated single-quoted value of A`},
		{"unterminated escaped", `A="abc\"`, `f:1: unterminated double-quoted value of A`},
		{"text after quote", `A="x" y`, `f:1: unexpected text after the closing quote of A`},
		{"quote after quote", `A="x"'y'`, `f:1: unexpected text after the closing quote of A`},
		{"two assignments on a line", `A="x" B=y`, `f:1: unexpected text after the closing quote of A`},
		{"missing closing quote", "A=\"foo\nB=\"bar\"\n", `f:2: unexpected text after the closing quote of A (quote opened at line 1)`},
		{"bare CR", "A=1\rB=2\n", `f:1: carriage return not followed by a line feed`},
		{"bare CR at end", "A=1\r\nB=2\r", `f:2: carriage return not followed by a line feed`},
		{"assign default", "A=${X:=y}", "f:1: " + expansion},
		{"length", `A="${#X}"`, "f:1: " + expansion},
		{"unterminated default", `A="${X:-y"`, `f:1: unterminated "${" in the value of A`},
		{"lower-case braces", `A="${lower}"`, "f:1: " + expansion},
		{"mixed-case braces", `A=${Foo}`, "f:1: " + expansion},
		{"empty braces", `A="${}"`, "f:1: " + expansion},
		{"unclosed brace", `A="${X"`, "f:1: " + expansion},
		{"command substitution", "A=\"x\n$(date)\"", "f:2: " + expansion},
		{"command substitution unquoted", "A=$(date)", `f:1: unquoted value of A contains '(': quote the value (shell code is not supported)`},
		{"too large", strings.Repeat("#\n", MaxSize/2+1), `f: file is larger than 1048576 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("f", []byte(tt.in), nil)
			if err == nil {
				t.Fatalf("Parse succeeded: %#v", f.Vars)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is not a *SyntaxError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// Error messages name keys, never values (values may be secrets).
func TestErrorsHideValues(t *testing.T) {
	for _, in := range []string{
		"A=\"s3cret\n",
		"A='s3cret",
		"A=\"s3cret\" s3cret",
		"A=s3cret;s3cret",
		"A=\"s3cret${X:=s3cret}\"",
		"A=\"s3cret${X:-s3cret\"",
		"MIIBs3cret\n",
		"s3cret+/s3cret==\n",
	} {
		_, err := Parse("f", []byte(in), nil)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Parse(%q) = %v", in, err)
		}
	}
}

func TestMaxSizeAccepted(t *testing.T) {
	data := []byte(strings.Repeat("#", MaxSize-4) + "\nA=1")
	if len(data) != MaxSize {
		t.Fatal(len(data))
	}
	f, err := Parse("f", data, nil)
	if err != nil || len(f.Vars) != 1 || f.Vars[0].Line != 2 {
		t.Fatalf("Parse = %v, %v", f, err)
	}
}

// Expansion never consults the process environment.
func TestNoProcessEnvironment(t *testing.T) {
	t.Setenv("ENVFILE_TEST_LEAK", "leaked")
	t.Setenv("HOME", "/leaked")
	in := "A=$ENVFILE_TEST_LEAK\nB=\"${ENVFILE_TEST_LEAK}\"\nC=$HOME\n"
	f, err := Parse("f", []byte(in), map[string]string{"OTHER": "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Vars {
		if v.Value != "" {
			t.Errorf("%s = %q, want empty", v.Key, v.Value)
		}
	}
}

func TestBaseNotModified(t *testing.T) {
	base := map[string]string{"A": "1"}
	if _, err := Parse("f", []byte("A=2\nB=$A"), base); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(base, map[string]string{"A": "1"}) {
		t.Errorf("base modified: %v", base)
	}
}

func TestMapLookup(t *testing.T) {
	f, err := Parse("f", []byte("A=1\n\nB=\"x y\"\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := f.Map(); !reflect.DeepEqual(m, map[string]string{"A": "1", "B": "x y"}) {
		t.Errorf("Map = %v", m)
	}
	if v, ok := f.Lookup("B"); !ok || v != (Var{"B", "x y", 3}) {
		t.Errorf("Lookup(B) = %v, %v", v, ok)
	}
	if v, ok := f.Lookup("C"); ok || v != (Var{}) {
		t.Errorf("Lookup(C) = %v, %v", v, ok)
	}
}

func TestSyntaxErrorFormat(t *testing.T) {
	for _, tt := range []struct {
		e    SyntaxError
		want string
	}{
		{SyntaxError{"/etc/default/x", 3, "msg"}, "/etc/default/x:3: msg"},
		{SyntaxError{"/etc/default/x", 0, "msg"}, "/etc/default/x: msg"},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func FuzzParse(f *testing.F) {
	f.Add([]byte(script))
	base := map[string]string{"A": "base-a", "PATH": "/bin", "X": "$A\x00\"'"}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz", data, base)
		file2, err2 := Parse("fuzz", data, base)
		if !reflect.DeepEqual(file, file2) || !reflect.DeepEqual(err, err2) {
			t.Fatalf("not deterministic: %v %v / %v %v", file, err, file2, err2)
		}
		lines := 1 + bytes.Count(data, []byte("\n"))
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.File != "fuzz" || se.Line < 0 || se.Line > lines {
				t.Fatalf("bad error %T %v (lines %d)", err, err, lines)
			}
			return
		}
		prev := 0
		for _, v := range file.Vars {
			if !keyRE.MatchString(v.Key) || v.Line <= prev || v.Line > lines {
				t.Fatalf("bad var %+v (previous line %d, lines %d)", v, prev, lines)
			}
			prev = v.Line
		}
		// Where svcwrap's rules and godotenv's agree, so must the values.
		if !bytes.ContainsAny(data, "$#\\") && !bytes.HasPrefix(data, []byte("\uFEFF")) {
			want, err := godotenv.UnmarshalBytes(data)
			if err != nil {
				t.Fatalf("godotenv fails where Parse succeeds: %v", err)
			}
			if got := file.Map(); !reflect.DeepEqual(got, want) {
				t.Fatalf("Parse = %q, godotenv = %q", got, want)
			}
		}
	})
}

// sh's four defaults, as sh computes them.
func TestDefaults(t *testing.T) {
	base := map[string]string{"SET": "v", "EMPTY": ""}
	for _, tt := range []struct{ in, want string }{
		{"${SET:-d}", "v"}, {"${EMPTY:-d}", "d"}, {"${UNSET:-d}", "d"},
		{"${SET-d}", "v"}, {"${EMPTY-d}", ""}, {"${UNSET-d}", "d"},
		{"${SET:+a}", "a"}, {"${EMPTY:+a}", ""}, {"${UNSET:+a}", ""},
		{"${SET+a}", "a"}, {"${EMPTY+a}", "a"}, {"${UNSET+a}", ""},
		{"x${UNSET:-a b}y", "xa by"},
		{"${UNSET:-$SET/${SET}}", "v/v"},
		{"${UNSET:-${EMPTY:-${SET}}}", "v"},
		{"${UNSET:-\\}\\$SET}", "}$SET"},
		{"${UNSET:-}", ""},
		{"${SET:+--opt=$SET}", "--opt=v"},
		{"\\${UNSET:-d}", "${UNSET:-d}"},
		{"${A:-d}", "set-before"},
	} {
		for _, q := range []string{"", `"`} {
			in := "A=set-before\nX=" + q + tt.in + q + "\n"
			f, err := Parse("f", []byte(in), base)
			if err != nil {
				t.Errorf("%s: %v", in, err)
				continue
			}
			if got := f.Vars[1].Value; got != tt.want {
				t.Errorf("%s = %q, want %q", strings.TrimSpace(in), got, tt.want)
			}
		}
	}
	// Single quotes keep it all.
	if f, _ := Parse("f", []byte("X='${UNSET:-d}'"), nil); f.Vars[0].Value != "${UNSET:-d}" {
		t.Errorf("single-quoted: %q", f.Vars[0].Value)
	}
	// A default is never expanded again.
	if f, _ := Parse("f", []byte("X=${UNSET:-$SET}"), map[string]string{"SET": "$OTHER", "OTHER": "no"}); f.Vars[0].Value != "$OTHER" {
		t.Errorf("re-expanded: %q", f.Vars[0].Value)
	}
}

// Names a value expanded unset are recorded; the default forms do not count.
func TestUnset(t *testing.T) {
	f, err := Parse("f", []byte("A=$GONE ${SET}\nB=\"${GONE:-x} ${GONE-}\"\nC=${GONE:+$ALSO}\nD=${GONE:-$ALSO}\nE=ok\nG=\\$GONE\n"), map[string]string{"SET": "1"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"A": {"GONE"}, "D": {"ALSO"}}
	if !reflect.DeepEqual(f.Unset, want) {
		t.Errorf("Unset = %v, want %v", f.Unset, want)
	}
}

// An env file may assign a name again, as a sourced file may: the later value
// wins, also for what later values expand; a definition still may not.
func TestReassign(t *testing.T) {
	in := "A=1\nB=$A\nA=2\nC=$A\nexport A=\"${A}3\"\n"
	f, err := ParseReassign("f", []byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Var{{"A", "23", 5}, {"B", "1", 2}, {"C", "2", 4}}
	if !reflect.DeepEqual(f.Vars, want) {
		t.Errorf("Vars = %v, want %v", f.Vars, want)
	}
	if _, err := Parse("f", []byte(in), nil); err == nil || err.Error() != "f:3: duplicate key A (first set at line 1)" {
		t.Errorf("Parse: %v", err)
	}
}
