package lsb

import (
	"fmt"
	"strings"
	"unicode"
)

// Header is the LSB comment block of an init script (LSB 5.0 core,
// "Comment Conventions for Init Scripts"). List items are single words. A
// nil list means the keyword is absent; an empty non-nil list means it is
// present with no value.
type Header struct {
	Provides      []string
	RequiredStart []string
	RequiredStop  []string
	ShouldStart   []string
	ShouldStop    []string
	DefaultStart  []string
	DefaultStop   []string

	ShortDescription string
	// Description keeps its line breaks: one line per line of the block
	// (the keyword line and its continuation lines), each trimmed.
	Description string

	// Extra holds every other keyword (X-Start-Before, X-Interactive, ...)
	// in the order of the file.
	Extra []Field

	// BeginLine and EndLine are the 1-based line numbers of the markers in
	// the parsed data; 0 for a header that was not parsed.
	BeginLine, EndLine int
}

// Field is a keyword of the header that Header has no field for.
type Field struct {
	Key, Value string
}

// HeaderError is a malformed header. It prints as "line N: msg"; callers
// put the file name in front.
type HeaderError struct {
	Line int
	Msg  string
}

func (e *HeaderError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// markerWords are the pieces of the marker lines. The svcwrap binary must
// not contain the line that opens a header (insserv would then take every
// symlink to the binary for a script that provides a facility), so the
// markers are joined at run time from a variable the compiler cannot fold.
var markerWords = []string{"###", "BEGIN", "END", "INIT", "INFO"}

// BeginMarker returns the line that opens a header.
func BeginMarker() string {
	w := markerWords
	return strings.Join([]string{w[0], w[1], w[3], w[4]}, " ")
}

// EndMarker returns the line that closes a header.
func EndMarker() string {
	w := markerWords
	return strings.Join([]string{w[0], w[2], w[3], w[4]}, " ")
}

type listField struct {
	key  string
	list *[]string
}

// lists returns the list keywords in canonical order, each with its field.
func (h *Header) lists() []listField {
	return []listField{
		{"Provides", &h.Provides},
		{"Required-Start", &h.RequiredStart},
		{"Required-Stop", &h.RequiredStop},
		{"Should-Start", &h.ShouldStart},
		{"Should-Stop", &h.ShouldStop},
		{"Default-Start", &h.DefaultStart},
		{"Default-Stop", &h.DefaultStop},
	}
}

// ParseHeader parses the first header in data; everything outside it is
// ignored. It returns (nil, nil) when data has no header. Marker lines match
// regardless of case and of trailing blanks; keywords regardless of case.
// Inside the block every line starts with '#'; a '#' followed by a tab or
// two spaces continues Description; lines with nothing after the '#' are
// skipped. Errors are *HeaderError.
func ParseHeader(data []byte) (*Header, error) {
	begin, end := BeginMarker(), EndMarker()
	isMarker := func(line, marker string) bool {
		return strings.EqualFold(strings.TrimRight(line, " \t\r"), marker)
	}
	lines := strings.Split(string(data), "\n")
	find := func(from int, marker string) int {
		for i := from; i < len(lines); i++ {
			if isMarker(lines[i], marker) {
				return i
			}
		}
		return -1
	}
	start := find(0, begin)
	if start < 0 {
		return nil, nil
	}
	stop := find(start+1, end)
	if stop < 0 {
		return nil, headerErr(start+1, "%q without %q", begin, end)
	}
	p := &headerParser{h: &Header{BeginLine: start + 1, EndLine: stop + 1}, seen: map[string]int{}}
	for i := start + 1; i < stop; i++ {
		if isMarker(lines[i], begin) {
			return nil, headerErr(i+1, "%q again before %q", begin, end)
		}
		if err := p.line(i+1, lines[i]); err != nil {
			return nil, err
		}
	}
	p.h.Description = strings.Join(p.desc, "\n")
	return p.h, nil
}

type headerParser struct {
	h    *Header
	seen map[string]int // lower-cased keyword -> line
	last string         // canonical name of the last keyword
	desc []string       // lines of Description
}

func (p *headerParser) line(n int, line string) error {
	rest, ok := strings.CutPrefix(line, "#")
	if !ok {
		return headerErr(n, "line inside the header does not start with '#'")
	}
	if strings.TrimSpace(rest) == "" {
		return nil
	}
	if strings.HasPrefix(rest, "\t") || strings.HasPrefix(rest, "  ") {
		if p.last != "Description" {
			return headerErr(n, "continuation line outside Description")
		}
		p.desc = append(p.desc, strings.TrimSpace(rest))
		return nil
	}
	rest = strings.TrimSpace(rest)
	key, value, ok := strings.Cut(rest, ":")
	if !ok {
		return headerErr(n, "missing ':' in keyword line %q", rest)
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if key == "" || strings.ContainsFunc(key, unicode.IsSpace) {
		return headerErr(n, "invalid keyword %q", key)
	}
	fold := strings.ToLower(key)
	if first, dup := p.seen[fold]; dup {
		return headerErr(n, "duplicate keyword %q (first on line %d)", key, first)
	}
	p.seen[fold] = n

	for _, f := range p.h.lists() {
		if strings.ToLower(f.key) != fold {
			continue
		}
		items := strings.Fields(value)
		if items == nil {
			items = []string{}
		}
		if f.key == "Default-Start" || f.key == "Default-Stop" {
			for _, lvl := range items {
				if len(lvl) != 1 || !strings.Contains("0123456S", lvl) {
					return headerErr(n, "%s: invalid runlevel %q (want 0-6 or S)", f.key, lvl)
				}
			}
		}
		*f.list = items
		p.last = f.key
		return nil
	}
	switch fold {
	case "short-description":
		p.h.ShortDescription = value
		p.last = "Short-Description"
	case "description":
		if value != "" {
			p.desc = append(p.desc, value)
		}
		p.last = "Description"
	default:
		p.h.Extra = append(p.h.Extra, Field{Key: key, Value: value})
		p.last = key
	}
	return nil
}

func headerErr(line int, format string, args ...any) *HeaderError {
	return &HeaderError{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// valueColumn is where values start, as in Debian's /etc/init.d/skeleton:
// "# Short-Description: " is the longest standard keyword.
const valueColumn = 21

// Format returns the header as a block of lines in canonical order:
// the list keywords, Extra, Short-Description, Description. Values start in
// column 22 as in Debian's skeleton; Description goes on continuation
// lines. Nil lists and empty strings are left out; an empty non-nil list
// gives its keyword with no value. The text ends with a newline. Newlines in Short-Description and Extra values become spaces.
// A nil *Header formats as "".
func (h *Header) Format() string {
	if h == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(BeginMarker() + "\n")
	for _, f := range h.lists() {
		if *f.list != nil {
			writeField(&b, f.key, strings.Join(*f.list, " "))
		}
	}
	for _, f := range h.Extra {
		if f.Key != "" {
			writeField(&b, f.Key, oneLine(f.Value))
		}
	}
	if s := oneLine(h.ShortDescription); s != "" {
		writeField(&b, "Short-Description", s)
	}
	var desc []string
	for _, line := range strings.Split(h.Description, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			desc = append(desc, line)
		}
	}
	for i, line := range desc {
		if i == 0 {
			writeField(&b, "Description", line)
		} else {
			b.WriteString("#" + strings.Repeat(" ", valueColumn-1) + line + "\n")
		}
	}
	b.WriteString(EndMarker() + "\n")
	return b.String()
}

func writeField(b *strings.Builder, key, value string) {
	label := "# " + key + ":"
	if value != "" {
		label += strings.Repeat(" ", max(valueColumn-len(label), 1)) + value
	}
	b.WriteString(label + "\n")
}

func oneLine(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "\n", " ")) }
