package definition

// Instances: one definition, many daemons. A definition that uses ${INSTANCE}
// (or sets INSTANCES) is a template; its instance INST is the service
// TEMPLATE@INST, with its own env file, pidfile, state, log, lock and watchdog.

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// MaxInstanceLen bounds an instance name, in bytes.
const MaxInstanceLen = 64

// SplitInstance splits "TEMPLATE@INST" into its template and its instance ("" for
// a name without "@").
func SplitInstance(name string) (template, instance string) {
	template, instance, _ = strings.Cut(name, "@")
	return template, instance
}

// ValidInstance says what is wrong with an instance name, or nil: it names files
// (TEMPLATE@INST.pid, /etc/default/TEMPLATE@INST) and goes into command lines, so
// no "/", no "..", no white space or control character, at most 64 bytes.
func ValidInstance(inst string) error {
	switch {
	case inst == "":
		return errors.New("an empty instance name")
	case len(inst) > MaxInstanceLen:
		return fmt.Errorf("instance name %s is longer than %d bytes", quoteValue(inst), MaxInstanceLen)
	case strings.ContainsRune(inst, '/'):
		return fmt.Errorf("instance name %s contains a slash", quoteValue(inst))
	case strings.Contains(inst, ".."), inst == ".":
		return fmt.Errorf("instance name %s contains ..", quoteValue(inst))
	case strings.ContainsRune(inst, '@'):
		return fmt.Errorf("instance name %s contains @", quoteValue(inst))
	case strings.IndexFunc(inst, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0:
		return fmt.Errorf("instance name %s contains white space or a control character", quoteValue(inst))
	}
	return nil
}

// SampleInstance is the instance `check` validates a template with.
const SampleInstance = "example"

// InstanceNames are the instances INSTANCES selects now, in order, without
// duplicates: its words are names, globs of files ("/etc/openvpn/*.conf": each
// file's name without its directory and last extension), "all" (what
// INSTANCES_ALL says, the same way) and "none". Globs are read at every call: a
// configuration added or removed counts at the next verb.
func (d *Definition) InstanceNames() ([]string, error) {
	var out []string
	var add func(words []string, nested bool) error
	add = func(words []string, nested bool) error {
		for _, w := range words {
			switch {
			case w == "none":
			case w == "all" && !nested:
				if err := add(d.InstancesAll, true); err != nil {
					return err
				}
			case strings.Contains(w, "/"):
				files, err := filepath.Glob(w)
				if err != nil {
					return fmt.Errorf("INSTANCES: %s is not a valid pattern", quoteValue(w))
				}
				for _, f := range files {
					base := filepath.Base(f)
					if ext := filepath.Ext(base); ext != "" && ext != base {
						base = strings.TrimSuffix(base, ext)
					}
					if ValidInstance(base) == nil && !slices.Contains(out, base) {
						out = append(out, base)
					}
				}
			default:
				if err := ValidInstance(w); err != nil {
					return fmt.Errorf("INSTANCES: %v", err)
				}
				if !slices.Contains(out, w) {
					out = append(out, w)
				}
			}
		}
		return nil
	}
	err := add(d.Instances, false)
	return out, err
}
