// Package envfile reads dotenv files (service definitions and
// /etc/default/NAME env files) and keeps the line of every assignment.
//
// A small scanner splits the file into statements, checks them and hands
// each one to github.com/joho/godotenv v1.5.1 for the value: unquoted values
// are trimmed; single quotes are literal; double quotes take the escapes \n,
// \r and \C (=C) and may span lines; unquoted and double-quoted values expand
// $NAME and ${NAME} for NAME in [A-Z0-9_]+ (lower-case names are left as
// they are; \$ is a literal $). Expansion sees the keys assigned earlier in
// the same file, then the base map, never the process environment; an
// undefined variable expands to "".
//
// Stricter than godotenv (each problem is a *SyntaxError with its line):
//
//   - Only blank lines, # comments, KEY=VALUE and "export KEY=VALUE" with
//     KEY in [A-Za-z_][A-Za-z0-9_]* and no space before "=". YAML-style
//     "KEY: value", keys with "." or "-", shell code, duplicate keys, text
//     after a closing quote, NUL bytes, invalid UTF-8, unterminated quotes and
//     files over MaxSize are errors.
//   - An unquoted value ends at the first "#" after white space, as in sh:
//     "KEY= # note" is empty and "KEY=a # b # c" is "a" (godotenv: "# note",
//     "a # b"). It may not contain ; & | < > ( ) or a backquote, which sh
//     would run as code ("LANG=C; export LANG"): quote such a value.
//   - "${" must start ${NAME}, or one of sh's four defaults: ${NAME:-WORD}
//     (WORD when NAME is unset or empty), ${NAME-WORD} (when unset),
//     ${NAME:+WORD} (WORD when NAME is set and not empty, else empty) and
//     ${NAME+WORD} (when set). WORD runs to the matching "}" and may hold
//     $NAME, ${NAME}, these forms again and \ escapes. Other forms ("${lower}",
//     "${X:=y}", "${#X}") and "$(cmd)" are errors, unless escaped as \$.
//   - A name that a value expands but that is neither set in the file before
//     nor in the base map is recorded (File.Unset): a command line in a
//     definition refuses it rather than silently drop an argument.
//   - KEY="say \"hi\"" is `say "hi"` (godotenv drops the final quote).
//   - CRLF line ends are accepted: each CR LF is one line end and the CR is
//     dropped, also inside multi-line values. Any other CR is an error. A
//     leading UTF-8 byte order mark is ignored.
package envfile

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/joho/godotenv"
)

var (
	refRE    = lazyRE(`\$[({]{0,2}([A-Z0-9_]+)`) // what godotenv may expand
	dollarRE = lazyRE(`(^|[^\\])\$[({]`)         // an unescaped "${" or "$("
	braceRE  = lazyRE(`^\$\{[A-Z0-9_]+\}`)       // the only valid one
)

// shellChars may not appear in an unquoted value: in sh they would end the
// assignment ("A=1; export A"), so the value would not be what sh sees.
const shellChars = ";&|<>()`"

// MaxSize is the largest file Parse accepts, in bytes.
const MaxSize = 1 << 20

// Var is one assignment.
type Var struct {
	Key, Value string
	Line       int // 1-based line where the assignment starts
}

// File is a parsed dotenv file.
type File struct {
	Name string
	Vars []Var // in file order; keys are unique
	// Unset maps a key to the names its value expanded ($NAME, ${NAME}) that
	// were not set: they expanded to "". The defaults forms do not count.
	Unset map[string][]string
	// Refs maps a key to every name its value refers to, in order, whether it
	// was expanded or not (a default's NAME, a WORD not used).
	Refs map[string][]string
}

// SyntaxError is a problem in a file. Line is 1-based; 0 means the whole
// file. Messages name keys, never values.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Map returns the variables as a map.
func (f *File) Map() map[string]string {
	m := make(map[string]string, len(f.Vars))
	for _, v := range f.Vars {
		m[v.Key] = v.Value
	}
	return m
}

// Lookup returns the assignment of key.
func (f *File) Lookup(key string) (Var, bool) {
	for _, v := range f.Vars {
		if v.Key == key {
			return v, true
		}
	}
	return Var{}, false
}

// Parse parses data, the contents of the file called name. base holds the
// variables that ${VAR} may refer to besides the file's own earlier keys. A key
// may be assigned once (a service definition).
func Parse(name string, data []byte, base map[string]string) (*File, error) {
	return parse(name, data, base, false)
}

// ParseReassign is Parse for a file that is read as sh would source it (an env
// file such as /etc/default/NAME): a key may be assigned again, and the later
// value wins, in the value of the key and in what later values expand. The key
// keeps its first place in Vars, with the line of its last assignment.
func ParseReassign(name string, data []byte, base map[string]string) (*File, error) {
	return parse(name, data, base, true)
}

func parse(name string, data []byte, base map[string]string, reassign bool) (*File, error) {
	p := &parser{file: &File{Name: name}, base: base, line: 1, vars: map[string]Var{}, reassign: reassign}
	lineOf := func(i int) int { return 1 + bytes.Count(data[:i], []byte("\n")) }
	switch {
	case len(data) > MaxSize:
		return nil, p.errorf(0, "file is larger than %d bytes", MaxSize)
	case bytes.IndexByte(data, 0) >= 0:
		return nil, p.errorf(lineOf(bytes.IndexByte(data, 0)), "NUL byte")
	case !utf8.Valid(data):
		return nil, p.errorf(lineOf(invalidUTF8(data)), "invalid UTF-8")
	}
	p.src = strings.ReplaceAll(strings.TrimPrefix(string(data), "\uFEFF"), "\r\n", "\n")
	if i := strings.IndexByte(p.src, '\r'); i >= 0 {
		return nil, p.errorf(1+strings.Count(p.src[:i], "\n"), "carriage return not followed by a line feed")
	}
	for p.src != "" {
		if err := p.statement(); err != nil {
			return nil, err
		}
	}
	return p.file, nil
}

type parser struct {
	file     *File
	base     map[string]string
	src      string            // the input not yet parsed; starts at a line start
	line     int               // line number of src[0]
	vars     map[string]Var    // the keys so far
	reassign bool              // a key may be assigned again (ParseReassign)
	tmp      map[string]string // the statement's evaluated ${NAME:-WORD} forms, by their stand-in name
	unset    []string          // the statement's names that expanded unset
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &SyntaxError{File: p.file.Name, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// advance drops the first n bytes of src.
func (p *parser) advance(n int) {
	n = min(n, len(p.src))
	p.line += strings.Count(p.src[:n], "\n")
	p.src = p.src[n:]
}

// statement parses the statement (or blank or comment line) at the start of src.
func (p *parser) statement() error {
	start := p.line
	line, _, _ := strings.Cut(p.src, "\n")
	t := strings.TrimLeft(line, " \t")
	if t == "" || t[0] == '#' {
		p.advance(len(line) + 1)
		return nil
	}
	if rest, ok := strings.CutPrefix(t, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
		t = strings.TrimLeft(rest, " \t")
	}
	n := nameLen(t)
	if n == 0 || n == len(t) || t[n] != '=' || isDigit(t[0]) {
		return p.errorf(start, "%s", badAssignment(t, n))
	}
	key := t[:n]
	if first, dup := p.vars[key]; dup && !p.reassign {
		return p.errorf(start, "duplicate key %s (first set at line %d)", key, first.Line)
	}
	p.tmp, p.unset = nil, nil
	off := len(line) - len(t) + n + 1 // value text starts at p.src[off:]
	v := p.src[off:]
	lead := len(v) - len(strings.TrimLeftFunc(v, isSpace))
	var stmt string // KEY=VALUE for godotenv
	var end int     // length of the statement in src, before its newline
	var quoted bool
	var text string // the value as written, where it may refer to names
	if lead < len(v) && (v[lead] == '"' || v[lead] == '\'') {
		q := v[lead]
		quoted = true
		i := lead + 1
		for i < len(v) && (v[i] != q || v[i-1] == '\\') { // godotenv's rule for the closing quote
			i++
		}
		if i == len(v) {
			kind := map[byte]string{'"': "double", '\'': "single"}[q]
			return p.errorf(start, "unterminated %s-quoted value of %s", kind, key)
		}
		rest, _, _ := strings.Cut(v[i+1:], "\n")
		if r := strings.TrimLeftFunc(rest, isSpace); r != "" && r[0] != '#' {
			closed := start + strings.Count(v[:i], "\n")
			where := ""
			if closed != start {
				where = fmt.Sprintf(" (quote opened at line %d)", start)
			}
			return p.errorf(closed, "unexpected text after the closing quote of %s%s", key, where)
		}
		content := v[lead+1 : i]
		if q == '"' {
			text = content
			var err error
			if content, err = p.defaults(key, start, content); err != nil {
				return err
			}
			if err := p.checkExpansion(key, start, content); err != nil {
				return err
			}
		}
		// The NUL before the closing quote keeps godotenv from trimming a
		// final escaped quote; it is removed again below.
		stmt, end = key+"="+string(q)+content+"\x00"+string(q), off+i+1+len(rest)
	} else {
		val, _, _ := strings.Cut(v, "\n")
		end = off + len(val)
		prev := '='
		for i, r := range val {
			if r == '#' && isSpace(prev) {
				val = val[:i]
				break
			}
			prev = r
		}
		if i := strings.IndexAny(val, shellChars); i >= 0 {
			return p.errorf(start, "unquoted value of %s contains %q: quote the value (shell code is not supported)", key, val[i])
		}
		text = val
		var err error
		if val, err = p.defaults(key, start, val); err != nil {
			return err
		}
		if err := p.checkExpansion(key, start, val); err != nil {
			return err
		}
		stmt = key + "=" + val
	}
	value, err := p.value(key, stmt, quoted)
	if err != nil {
		return p.errorf(start, "cannot parse the value of %s", key)
	}
	if _, again := p.vars[key]; again {
		for i := range p.file.Vars {
			if p.file.Vars[i].Key == key {
				p.file.Vars[i] = Var{Key: key, Value: value, Line: start}
			}
		}
	} else {
		p.file.Vars = append(p.file.Vars, Var{Key: key, Value: value, Line: start})
	}
	p.vars[key] = Var{Key: key, Value: value, Line: start}
	if p.file.Unset != nil {
		delete(p.file.Unset, key)
	}
	if refs := refNames(text); len(refs) > 0 {
		if p.file.Refs == nil {
			p.file.Refs = map[string][]string{}
		}
		p.file.Refs[key] = refs
	}
	if len(p.unset) > 0 {
		if p.file.Unset == nil {
			p.file.Unset = map[string][]string{}
		}
		p.file.Unset[key] = p.unset
	}
	p.advance(end + 1)
	return nil
}

// fastValues is false only in the test that checks value against godotenv.
var fastValues = true

// value is the value of stmt, a single KEY=VALUE statement, as godotenv gives it.
// A value without $ or \ needs none of godotenv's work, which is most values and
// most of the time of `list` (regular expressions): godotenv would trim the white
// space around an unquoted value (statement already cut off its comment) and
// return a quoted one as it is, the NUL before its closing quote aside. A
// single-quoted value takes no escapes or expansions, so only \ matters there.
func (p *parser) value(key, stmt string, quoted bool) (string, error) {
	raw := stmt[len(key)+1:]
	switch {
	case !fastValues || strings.IndexByte(raw, '\\') >= 0:
	case quoted && raw[0] == '\'':
		return raw[1 : len(raw)-2], nil
	case strings.IndexByte(raw, '$') >= 0:
	case quoted:
		return raw[1 : len(raw)-2], nil
	default:
		return strings.TrimFunc(raw, isSpace), nil
	}
	return p.godotenv(key, stmt, quoted)
}

// godotenv parses stmt, a single KEY=VALUE statement, with godotenv. Every
// variable the value may refer to is first defined as the marker NUL NAME
// NUL, which is then replaced by the variable's value: godotenv itself only
// sees the statement, so it can neither consult the process environment nor
// re-expand a substituted value.
func (p *parser) godotenv(key, stmt string, quoted bool) (string, error) {
	var prelude strings.Builder
	// Escapes only remove backslashes or turn \n and \r into line ends, so
	// without backslashes refRE finds every name godotenv may expand.
	for _, m := range refRE().FindAllStringSubmatch(strings.ReplaceAll(stmt[len(key)+1:], `\`, ""), -1) {
		fmt.Fprintf(&prelude, "%s='\x00%s\x00'\n", m[1], m[1])
	}
	m, err := godotenv.Unmarshal(prelude.String() + stmt)
	if err != nil {
		return "", err
	}
	v, ok := m[key]
	if quoted {
		v, ok = strings.CutSuffix(v, "\x00")
	}
	parts := strings.Split(v, "\x00")
	if !ok || len(parts)%2 == 0 {
		return "", fmt.Errorf("envfile: unexpected result from godotenv")
	}
	for i := 1; i < len(parts); i += 2 {
		parts[i] = p.lookup(parts[i])
	}
	return strings.Join(parts, ""), nil
}

func (p *parser) lookup(name string) string {
	if v, ok := p.tmp[name]; ok {
		return v
	}
	v, set := p.lookupSet(name)
	if !set && !slices.Contains(p.unset, name) {
		p.unset = append(p.unset, name)
	}
	return v
}

// lookupSet is the value of name and whether it is set at all.
func (p *parser) lookupSet(name string) (string, bool) {
	if v, ok := p.vars[name]; ok {
		return v.Value, true
	}
	v, ok := p.base[name]
	return v, ok
}

// defaults replaces each ${NAME:-WORD}, ${NAME-WORD}, ${NAME:+WORD} and
// ${NAME+WORD} of s (outside \ escapes) by ${STANDIN}, a name that stands for
// its value as sh computes it (p.tmp): godotenv then substitutes it like any
// other variable, and its value is never expanded again.
func (p *parser) defaults(key string, line int, s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			b.WriteString(s[i : i+2])
			i += 2
			continue
		}
		if val, n, ok, err := p.defaultForm(s[i:]); err != nil {
			return "", p.errorf(line+strings.Count(s[:i], "\n"), "%s in the value of %s", err, key)
		} else if ok {
			if p.tmp == nil {
				p.tmp = map[string]string{}
			}
			standin := fmt.Sprintf("SVCWRAP_DEFAULT_%d_", len(p.tmp))
			p.tmp[standin] = val
			b.WriteString("${" + standin + "}")
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String(), nil
}

// defaultForm evaluates the ${NAME OP WORD} at the start of s: its value and
// length, or ok false when s does not start with one.
func (p *parser) defaultForm(s string) (val string, n int, ok bool, err error) {
	if !strings.HasPrefix(s, "${") {
		return "", 0, false, nil
	}
	name := s[2 : 2+upperNameLen(s[2:])]
	rest := s[2+len(name):]
	op := ""
	for _, o := range []string{":-", ":+", "-", "+"} {
		if strings.HasPrefix(rest, o) {
			op = o
			break
		}
	}
	if name == "" || op == "" {
		return "", 0, false, nil
	}
	word, wn, err := braceWord(rest[len(op):])
	if err != nil {
		return "", 0, false, err
	}
	v, set := p.lookupSet(name)
	use := map[string]bool{":-": !set || v == "", "-": !set, ":+": set && v != "", "+": set}[op]
	switch {
	case use:
		val, err = p.expandWord(word)
	case op == ":-" || op == "-":
		val = v
	}
	return val, 2 + len(name) + len(op) + wn, true, err
}

// braceWord is the WORD of a ${NAME OP WORD} form: the text of s up to its
// matching "}" (nested "${...}" and \ escapes kept), and the length of WORD
// and "}".
func braceWord(s string) (string, int, error) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case strings.HasPrefix(s[i:], "${"):
			depth++
			i++
		case s[i] == '}' && depth == 0:
			return s[:i], i + 1, nil
		case s[i] == '}':
			depth--
		}
	}
	return "", 0, errors.New(`unterminated "${"`)
}

// expandWord expands WORD as sh does: \C is C; $NAME and ${NAME} take their
// values; the default forms nest. Anything else is literal.
func (p *parser) expandWord(w string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(w); {
		switch c := w[i]; {
		case c == '\\' && i+1 < len(w):
			b.WriteByte(w[i+1])
			i += 2
		case c == '$' && i+1 < len(w) && w[i+1] == '{':
			if val, n, ok, err := p.defaultForm(w[i:]); err != nil {
				return "", err
			} else if ok {
				b.WriteString(val)
				i += n
				continue
			}
			n := upperNameLen(w[i+2:])
			if n == 0 || i+2+n >= len(w) || w[i+2+n] != '}' {
				return "", errors.New("unsupported expansion in a default's WORD (" + unsupported + ")")
			}
			b.WriteString(p.lookup(w[i+2 : i+2+n]))
			i += 3 + n
		case c == '$' && upperNameLen(w[i+1:]) > 0:
			n := upperNameLen(w[i+1:])
			b.WriteString(p.lookup(w[i+1 : i+1+n]))
			i += 1 + n
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), nil
}

// refNames are the names text refers to with $NAME or ${NAME (outside \
// escapes), in order: what godotenv or a default form may expand.
func refNames(text string) []string {
	var out []string
	for i := 0; i < len(text); i++ {
		switch {
		case text[i] == '\\':
			i++
		case text[i] == '$':
			j := i + 1
			if j < len(text) && text[j] == '{' {
				j++
			}
			if n := upperNameLen(text[j:]); n > 0 && !slices.Contains(out, text[j:j+n]) {
				out = append(out, text[j:j+n])
			}
		}
	}
	return out
}

// upperNameLen is the length of the [A-Z0-9_]* run at the start of s: the names
// godotenv expands.
func upperNameLen(s string) int {
	i := 0
	for i < len(s) && ('A' <= s[i] && s[i] <= 'Z' || isDigit(s[i]) || s[i] == '_') {
		i++
	}
	return i
}

const unsupported = `only $NAME, ${NAME}, ${NAME:-WORD}, ${NAME-WORD}, ${NAME:+WORD} and ${NAME+WORD} with NAME in [A-Z0-9_] (write \$ for a literal $)`

// checkExpansion rejects "${" and "$(" that do not start ${NAME}.
func (p *parser) checkExpansion(key string, start int, s string) error {
	if strings.IndexByte(s, '$') < 0 {
		return nil
	}
	for _, m := range dollarRE().FindAllStringIndex(s, -1) {
		if i := m[1] - 2; !braceRE().MatchString(s[i:]) {
			return p.errorf(start+strings.Count(s[:i], "\n"), "unsupported expansion in the value of %s: %s", key, unsupported)
		}
	}
	return nil
}

// badAssignment explains why t (a line without indentation and "export")
// is not KEY=VALUE; n is the length of its leading [A-Za-z0-9_]* run.
func badAssignment(t string, n int) string {
	before, _, hasEq := strings.Cut(t, "=")
	switch {
	case n > 0 && n < len(t) && t[n] == ':' && !isDigit(t[0]):
		return fmt.Sprintf("YAML-style %q is not supported: use %s=VALUE", t[:n+1], t[:n])
	case hasEq && before == "":
		return `missing key before "="`
	case hasEq && !strings.ContainsAny(before, " \t'\"") && isDigit(t[0]):
		return "invalid key: starts with a digit"
	case hasEq && !strings.ContainsAny(before, " \t'\""):
		r, _ := utf8.DecodeRuneInString(t[n:])
		return fmt.Sprintf("invalid key: %q is not allowed (use A-Z, a-z, 0-9 and _)", r)
	case hasEq && n > 0 && !isDigit(t[0]) && strings.TrimRight(before, " \t") == t[:n]:
		return fmt.Sprintf(`space between %s and "="`, t[:n])
	}
	return "not an assignment: want KEY=VALUE (shell code is not supported)"
}

func nameLen(s string) int {
	i := 0
	for i < len(s) && ('A' <= s[i] && s[i] <= 'Z' || 'a' <= s[i] && s[i] <= 'z' || isDigit(s[i]) || s[i] == '_') {
		i++
	}
	return i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSpace is godotenv's notion of white space within a line.
func isSpace(r rune) bool {
	switch r {
	case '\t', '\v', '\f', '\r', ' ', 0x85, 0xA0:
		return true
	}
	return false
}

func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}
