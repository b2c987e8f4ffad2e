package definition

import (
	"slices"
	"strconv"
	"strings"

	"svcwrap/envfile"
)

// Env values are secrets: a password in /etc/default/NAME must never reach a
// terminal, a log or a state file through svcwrap. The env files' own parser names
// keys, never values; definition values that expand $VAR from the env files are
// tracked here, so that a message about such a key names the key and the variables
// instead of showing the value.

// findSecrets records which keys of the definition data expand variables of env
// (the env files' variables): it parses the data again with every variable set to
// a marker that no file can contain (NUL NAME NUL) and looks for the markers.
func (l *loader) findSecrets(data []byte, env map[string]string) {
	markers := make(map[string]string, len(env))
	for k, v := range env {
		if v != "" && k != "INSTANCE" { // an empty value hides nothing; an instance's name is no secret
			markers[k] = "\x00" + k + "\x00"
		}
	}
	f, err := envfile.Parse(l.def.File, data, markers)
	if err != nil {
		return
	}
	for _, v := range f.Vars {
		var names []string
		for _, n := range markedNames(v.Value) {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			if l.def.Secrets == nil {
				l.def.Secrets, l.def.secretVals = map[string][]string{}, map[string][]string{}
			}
			l.def.Secrets[v.Key] = names
			for _, n := range names {
				l.def.secretVals[v.Key] = append(l.def.secretVals[v.Key], env[n])
			}
		}
	}
}

// markedNames finds every NUL NAME NUL in s, NAME being [A-Za-z0-9_]+.
func markedNames(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			return out
		}
		s = s[i+1:]
		j := strings.IndexFunc(s, func(r rune) bool {
			return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_')
		})
		if j > 0 && s[j] == 0 {
			out = append(out, s[:j])
			s = s[j+1:]
		}
	}
}

// leaks reports whether msg may show part of a value from the env files that key
// expands: the start of any such value, as is or as Go quotes it (values in
// messages are quoted, and cut after 64 bytes).
func (d *Definition) leaks(key, msg string) bool {
	for _, v := range d.secretVals[key] {
		for _, form := range []string{v, strings.Trim(strconv.Quote(v), `"`)} {
			if form != "" && strings.Contains(msg, form[:min(len(form), 4)]) {
				return true
			}
		}
	}
	return false
}

// secretMsg is the message about a bad value of key, which comes from env variables.
func (d *Definition) secretMsg(key string) string {
	return "invalid value after expanding " + d.secretVars(key) + " from the env files (the value is not shown: env file values stay private)"
}

func (d *Definition) secretVars(key string) string {
	names := make([]string, len(d.Secrets[key]))
	for i, n := range d.Secrets[key] {
		names[i] = "$" + n
	}
	return strings.Join(names, ", ")
}

// Redact replaces the value text of key inside msg when that value comes from the
// env files: e.g. a READY target "http http://u:PASSWORD@host/" in a probe error.
func (d *Definition) Redact(key, value, msg string) string {
	if d == nil || len(d.Secrets[key]) == 0 || value == "" {
		return msg
	}
	return strings.ReplaceAll(msg, value, "(value from "+d.secretVars(key)+" not shown)")
}
