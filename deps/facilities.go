// Package deps is the dependency graph of the services of a host, from their
// LSB headers (Provides, Required-Start, Should-Start, Required-Stop,
// Should-Stop, X-Start-Before, X-Stop-After): what a service needs, who needs
// it, the order of a boot and of a shutdown, and the cycles that make an order
// impossible. System facilities ($network, $remote_fs...) are mapped to
// services through insserv.conf, as insserv does. It starts no processes.
package deps

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultInsservConf is insserv's configuration; its drop-ins are in the
// directory of the same name with ".d" appended.
const DefaultInsservConf = "/etc/insserv.conf"

// Member is a service or facility a facility stands for.
type Member struct {
	Name     string // a service name, or "$facility"
	Optional bool   // "+name": a boot-order hint, never a requirement
}

// Facilities maps "$facility" to what it stands for.
type Facilities map[string][]Member

// LoadFacilities reads an insserv.conf file and the files of FILE.d (in name
// order; later definitions of a facility add to earlier ones). Missing files are
// no error: a host without insserv has no facilities, and every $name is then
// satisfied by nothing.
func LoadFacilities(conf string) Facilities {
	if conf == "" {
		conf = DefaultInsservConf
	}
	f := Facilities{}
	f.parse(readBounded(conf))
	if ents, err := os.ReadDir(conf + ".d"); err == nil {
		var names []string
		for _, e := range ents {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), "~") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, n := range names {
			f.parse(readBounded(filepath.Join(conf+".d", n)))
		}
	}
	return f
}

// parse reads lines "$facility [+]member...", skipping comments and the
// <interactive> kind of line.
func (f Facilities) parse(data []byte) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], "$") || len(fields[0]) < 2 {
			continue
		}
		for _, m := range fields[1:] {
			opt := strings.HasPrefix(m, "+")
			m = strings.TrimPrefix(m, "+")
			if m != "" {
				f[fields[0]] = append(f[fields[0]], Member{Name: m, Optional: opt})
			}
		}
		if _, ok := f[fields[0]]; !ok {
			f[fields[0]] = nil // a facility that stands for nothing is still known
		}
	}
}

// readBounded reads at most 1 MiB of a file (nil when it cannot be read).
func readBounded(path string) []byte {
	fh, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer fh.Close()
	b, _ := io.ReadAll(io.LimitReader(fh, 1<<20))
	return b
}
