package lsb

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMarkers(t *testing.T) {
	if got, want := BeginMarker(), "### BEGIN INIT INFO"; got != want {
		t.Errorf("BeginMarker() = %q, want %q", got, want)
	}
	if got, want := EndMarker(), "### END INIT INFO"; got != want {
		t.Errorf("EndMarker() = %q, want %q", got, want)
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseHeaderFixtures(t *testing.T) {
	tests := []struct {
		file string
		want *Header
	}{
		{"skeleton.sh", &Header{
			Provides:         []string{"exampled"},
			RequiredStart:    []string{"$remote_fs", "$syslog"},
			RequiredStop:     []string{"$remote_fs", "$syslog"},
			DefaultStart:     []string{"2", "3", "4", "5"},
			DefaultStop:      []string{"0", "1", "6"},
			ShortDescription: "Example daemon for the lsb tests",
			Description: "A made-up service whose header is laid out\n" +
				"like the one in Debian's skeleton script,\n" +
				"written for the tests of package lsb.",
			BeginLine: 2, EndLine: 12,
		}},
		{"extensions.sh", &Header{
			Provides:         []string{"webcache", "webcache-admin"},
			RequiredStart:    []string{"$local_fs", "$network", "$named"},
			RequiredStop:     []string{"$local_fs", "$network"},
			ShouldStart:      []string{"$time", "slapd"},
			ShouldStop:       []string{"slapd"},
			DefaultStart:     []string{"S"},
			DefaultStop:      []string{},
			ShortDescription: "Caching proxy for the test suite",
			Description: "First line of the description.\n" +
				"Second line, after a tab.\n" +
				"Third line, after an empty comment line.",
			Extra:     []Field{{"X-Start-Before", "frontend"}, {"X-Interactive", "true"}},
			BeginLine: 5, EndLine: 20,
		}},
		{"crlf.sh", &Header{
			Provides:         []string{"crlfd"},
			DefaultStart:     []string{"2", "3", "4", "5"},
			DefaultStop:      []string{"0", "1", "6"},
			ShortDescription: "Written with CRLF line ends",
			BeginLine:        2, EndLine: 7,
		}},
		{"script-mode", &Header{
			Provides:         []string{"myapp"},
			RequiredStart:    []string{"$remote_fs", "$syslog", "$network"},
			RequiredStop:     []string{"$remote_fs", "$syslog", "$network"},
			DefaultStart:     []string{"2", "3", "4", "5"},
			DefaultStop:      []string{"0", "1", "6"},
			ShortDescription: "My application server",
			BeginLine:        2, EndLine: 9,
		}},
	}
	for _, tt := range tests {
		data := readFixture(t, tt.file)
		h, err := ParseHeader(data)
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if !reflect.DeepEqual(h, tt.want) {
			t.Errorf("%s:\n got %#v\nwant %#v", tt.file, h, tt.want)
		}
		// The lines between the markers, as in the file.
		lines := strings.Split(string(data), "\n")
		block := strings.Join(lines[h.BeginLine-1:h.EndLine], "\n") + "\n"
		if tt.file == "skeleton.sh" || tt.file == "script-mode" {
			// These fixtures are written in the canonical layout.
			if got := h.Format(); got != block {
				t.Errorf("%s: Format() =\n%s\nwant\n%s", tt.file, got, block)
			}
		}
		if !strings.HasPrefix(lines[h.BeginLine-1], "### BEGIN") || !strings.HasPrefix(lines[h.EndLine-1], "### END") {
			t.Errorf("%s: BeginLine %d, EndLine %d are not the marker lines", tt.file, h.BeginLine, h.EndLine)
		}
	}
}

func TestFormatExact(t *testing.T) {
	h := &Header{
		Provides:         []string{"myapp"},
		RequiredStart:    []string{"$remote_fs", "$syslog"},
		RequiredStop:     []string{"$remote_fs", "$syslog"},
		ShouldStart:      []string{"$network"},
		ShouldStop:       []string{},
		DefaultStart:     []string{"2", "3", "4", "5"},
		DefaultStop:      []string{"0", "1", "6"},
		ShortDescription: "My app server",
		Description:      "Serves my app.\n\n  Second line.  \n",
		Extra: []Field{
			{"X-Start-Before", "nginx"},
			{"X-Interactive", "true"},
			{"X-A-Very-Long-Extension-Keyword", "x"},
			{"X-Empty", ""},
			{"", "dropped: no keyword"},
		},
	}
	want := `### BEGIN INIT INFO
# Provides:          myapp
# Required-Start:    $remote_fs $syslog
# Required-Stop:     $remote_fs $syslog
# Should-Start:      $network
# Should-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# X-Start-Before:    nginx
# X-Interactive:     true
# X-A-Very-Long-Extension-Keyword: x
# X-Empty:
# Short-Description: My app server
# Description:       Serves my app.
#                    Second line.
### END INIT INFO
`
	if got := h.Format(); got != want {
		t.Errorf("Format() =\n%s\nwant\n%s", got, want)
	}

	tests := []struct {
		name string
		h    *Header
		want string
	}{
		{"nil", nil, ""},
		{"empty", &Header{}, "### BEGIN INIT INFO\n### END INIT INFO\n"},
		{"newlines in one-line values", &Header{ShortDescription: "two\nlines\n", Extra: []Field{{"X-K", "a\nb"}}},
			"### BEGIN INIT INFO\n# X-K:               a b\n# Short-Description: two lines\n### END INIT INFO\n"},
		{"blank description", &Header{Provides: []string{"a"}, Description: " \n "},
			"### BEGIN INIT INFO\n# Provides:          a\n### END INIT INFO\n"},
	}
	for _, tt := range tests {
		if got := tt.h.Format(); got != tt.want {
			t.Errorf("%s: Format() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// sameHeader compares two headers, ignoring the marker line numbers.
func sameHeader(a, b *Header) bool {
	x, y := *a, *b
	x.BeginLine, x.EndLine, y.BeginLine, y.EndLine = 0, 0, 0, 0
	return reflect.DeepEqual(x, y)
}

func TestHeaderRoundTrip(t *testing.T) {
	headers := []*Header{
		{},
		{Provides: []string{"myapp"}},
		{Provides: []string{}, DefaultStop: []string{}},
		{
			Provides:         []string{"a", "b"},
			RequiredStart:    []string{"$remote_fs"},
			RequiredStop:     []string{"$remote_fs"},
			ShouldStart:      []string{"$network", "$named"},
			ShouldStop:       []string{"$network"},
			DefaultStart:     []string{"S", "2", "3", "4", "5"},
			DefaultStop:      []string{"0", "1", "6"},
			ShortDescription: "Short: with a colon",
			Description:      "Line one: also a colon.\nLine two.\n# Line three starts with a hash.",
			Extra:            []Field{{"X-Start-Before", "x y"}, {"X-Stop-After", ""}, {"chkconfig", "2345 20 80"}},
		},
	}
	for _, tt := range fixtureNames {
		h, err := ParseHeader(readFixture(t, tt))
		if err != nil {
			t.Fatal(err)
		}
		headers = append(headers, h)
	}
	for i, h := range headers {
		text := h.Format()
		got, err := ParseHeader([]byte(text))
		if err != nil {
			t.Errorf("header %d: ParseHeader(Format()) error %v\n%s", i, err, text)
			continue
		}
		if !sameHeader(got, h) {
			t.Errorf("header %d: round trip\n got %#v\nwant %#v", i, got, h)
		}
		if n := strings.Count(text, "\n"); got.BeginLine != 1 || got.EndLine != n {
			t.Errorf("header %d: BeginLine, EndLine = %d, %d, want 1, %d", i, got.BeginLine, got.EndLine, n)
		}
	}
}

var fixtureNames = []string{"skeleton.sh", "extensions.sh", "crlf.sh", "script-mode"}

func TestParseHeaderNoBlock(t *testing.T) {
	for _, data := range []string{
		"",
		"#!/bin/sh\necho hello\n",
		"# BEGIN INIT INFO\n# Provides: x\n### END INIT INFO\n",
		" ### BEGIN INIT INFO\n# Provides: x\n### END INIT INFO\n",
		"### END INIT INFO\n",
	} {
		h, err := ParseHeader([]byte(data))
		if h != nil || err != nil {
			t.Errorf("ParseHeader(%q) = %#v, %v; want nil, nil", data, h, err)
		}
	}
}

func TestParseHeaderLenient(t *testing.T) {
	tests := []struct {
		name string
		data string
		want *Header
	}{
		{"marker case and trailing blanks", "### begin init info \t\n#provides:x\n### End Init Info\n",
			&Header{Provides: []string{"x"}, BeginLine: 1, EndLine: 3}},
		{"no final newline", "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: x\n### END INIT INFO",
			&Header{Provides: []string{"x"}, BeginLine: 2, EndLine: 4}},
		{"first block only", "### BEGIN INIT INFO\n# Provides: a\n### END INIT INFO\n### BEGIN INIT INFO\nbroken\n",
			&Header{Provides: []string{"a"}, BeginLine: 1, EndLine: 3}},
		{"description starts on a continuation line", "### BEGIN INIT INFO\n# Description:\n#  one\n#\ttwo\n### END INIT INFO\n",
			&Header{Description: "one\ntwo", BeginLine: 1, EndLine: 5}},
		{"unknown keyword and value with colons", "### BEGIN INIT INFO\n# Note: a: b\n# X-Empty:\n### END INIT INFO\n",
			&Header{Extra: []Field{{"Note", "a: b"}, {"X-Empty", ""}}, BeginLine: 1, EndLine: 4}},
		{"runlevel S and blank comments", "### BEGIN INIT INFO\n#\n# Default-Start: S\n#   \n### END INIT INFO\n",
			&Header{DefaultStart: []string{"S"}, BeginLine: 1, EndLine: 5}},
	}
	for _, tt := range tests {
		h, err := ParseHeader([]byte(tt.data))
		if err != nil || !reflect.DeepEqual(h, tt.want) {
			t.Errorf("%s: ParseHeader = %#v, %v\nwant %#v", tt.name, h, err, tt.want)
		}
	}
}

func TestParseHeaderErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"begin without end", "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: x\n",
			`line 2: "### BEGIN INIT INFO" without "### END INIT INFO"`},
		{"begin without end, then code", "### BEGIN INIT INFO\n# Provides: x\nDAEMON=/bin/true\n",
			`line 1: "### BEGIN INIT INFO" without "### END INIT INFO"`},
		{"end before begin only", "### END INIT INFO\n### BEGIN INIT INFO\n",
			`line 2: "### BEGIN INIT INFO" without "### END INIT INFO"`},
		{"begin twice", "### BEGIN INIT INFO\n# Provides: x\n### BEGIN INIT INFO\n### END INIT INFO\n",
			`line 3: "### BEGIN INIT INFO" again before "### END INIT INFO"`},
		{"no colon", "#!/bin/sh\n### BEGIN INIT INFO\n# Provides myapp\n### END INIT INFO\n",
			`line 3: missing ':' in keyword line "Provides myapp"`},
		{"duplicate", "### BEGIN INIT INFO\n# Provides: a\n# Short-Description: x\n# provides: b\n### END INIT INFO\n",
			`line 4: duplicate keyword "provides" (first on line 2)`},
		{"duplicate extension", "### BEGIN INIT INFO\n# X-Interactive: true\n# X-INTERACTIVE: false\n### END INIT INFO\n",
			`line 3: duplicate keyword "X-INTERACTIVE" (first on line 2)`},
		{"bad start level", "### BEGIN INIT INFO\n# Default-Start: 2 3 7\n### END INIT INFO\n",
			`line 2: Default-Start: invalid runlevel "7" (want 0-6 or S)`},
		{"bad stop level", "\n\n### BEGIN INIT INFO\n# Default-Stop: 0 1 6 rc\n### END INIT INFO\n",
			`line 4: Default-Stop: invalid runlevel "rc" (want 0-6 or S)`},
		{"lower-case s", "### BEGIN INIT INFO\n# Default-Start: s\n### END INIT INFO\n",
			`line 2: Default-Start: invalid runlevel "s" (want 0-6 or S)`},
		{"not a comment", "### BEGIN INIT INFO\n# Provides: a\nDAEMON=/bin/true\n### END INIT INFO\n",
			`line 3: line inside the header does not start with '#'`},
		{"empty line", "### BEGIN INIT INFO\n# Provides: a\n\n### END INIT INFO\n",
			`line 3: line inside the header does not start with '#'`},
		{"indented comment", "### BEGIN INIT INFO\n  # Provides: a\n### END INIT INFO\n",
			`line 2: line inside the header does not start with '#'`},
		{"continuation after other keyword", "### BEGIN INIT INFO\n# Short-Description: a\n#   b\n### END INIT INFO\n",
			`line 3: continuation line outside Description`},
		{"continuation first", "### BEGIN INIT INFO\n#\tb\n### END INIT INFO\n",
			`line 2: continuation line outside Description`},
		{"empty keyword", "### BEGIN INIT INFO\n# : value\n### END INIT INFO\n",
			`line 2: invalid keyword ""`},
		{"keyword with space", "### BEGIN INIT INFO\n# Short Description: x\n### END INIT INFO\n",
			`line 2: invalid keyword "Short Description"`},
	}
	for _, tt := range tests {
		h, err := ParseHeader([]byte(tt.data))
		var he *HeaderError
		if h != nil || !errors.As(err, &he) || err.Error() != tt.want {
			t.Errorf("%s: ParseHeader = %v, %v; want error %q", tt.name, h, err, tt.want)
		}
	}
}

func TestHeaderErrorString(t *testing.T) {
	e := &HeaderError{Line: 12, Msg: "bad"}
	if got := e.Error(); got != "line 12: bad" {
		t.Errorf("Error() = %q", got)
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, name := range fixtureNames {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err != nil {
			var he *HeaderError
			if !errors.As(err, &he) || he.Line < 1 || he.Line > strings.Count(string(data), "\n")+1 {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		if h == nil {
			return
		}
		if h.BeginLine < 1 || h.EndLine <= h.BeginLine {
			t.Fatalf("BeginLine %d, EndLine %d", h.BeginLine, h.EndLine)
		}
		text := h.Format()
		h2, err := ParseHeader([]byte(text))
		if err != nil || h2 == nil {
			t.Fatalf("ParseHeader(Format()) = %v, %v\n%q", h2, err, text)
		}
		if !sameHeader(h, h2) {
			t.Fatalf("round trip:\n got %#v\nwant %#v\n%q", h2, h, text)
		}
		if again := h2.Format(); again != text {
			t.Fatalf("Format not stable:\n%q\n%q", text, again)
		}
	})
}
