package definition

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Listen is one socket of LISTEN: the watchdog binds it once, keeps it for its
// life and passes it to every daemon it spawns.
type Listen struct {
	Kind string      // "tcp" or "unix"
	Addr string      // HOST:PORT, or an absolute path
	Mode os.FileMode // unix: the socket file's mode (0 keeps the umask's)
	// unix: the socket file's owner and group (names; "" keeps root's)
	Owner, Group string
}

// Name is the socket's LISTEN_FDNAMES entry.
func (l Listen) Name() string {
	if l.Kind == "unix" {
		return filepath.Base(l.Addr)
	}
	return l.Kind + ":" + l.Addr
}

// ParseListen reads LISTEN: pairs of "tcp HOST:PORT" and
// "unix PATH[:MODE[:OWNER[:GROUP]]]".
func ParseListen(s string) ([]Listen, error) {
	words := strings.Fields(s)
	if len(words) == 0 || len(words)%2 != 0 {
		return nil, badValue(s, "not pairs of a kind and an address", "use tcp HOST:PORT or unix PATH[:MODE[:OWNER[:GROUP]]], several")
	}
	var out []Listen
	seen := map[string]bool{}
	for i := 0; i < len(words); i += 2 {
		l := Listen{Kind: strings.ToLower(words[i])}
		switch l.Kind {
		case "tcp":
			if p := checkTCPTarget(words[i+1]); p != "" {
				return nil, badValue(words[i]+" "+words[i+1], p, "use tcp HOST:PORT, like tcp 127.0.0.1:8080 or tcp [::]:8443")
			}
			if _, err := net.ResolveTCPAddr("tcp", words[i+1]); err != nil {
				return nil, badValue(words[i]+" "+words[i+1], "the host is not an address", "use an IP address: the socket is bound before any name service runs")
			}
			l.Addr = words[i+1]
		case "unix":
			f := strings.Split(words[i+1], ":")
			if len(f) > 4 || !filepath.IsAbs(f[0]) || filepath.Clean(f[0]) != f[0] || len(f[0]) > maxSocketPath {
				return nil, badValue(words[i]+" "+words[i+1], "not PATH[:MODE[:OWNER[:GROUP]]] with a clean absolute PATH of at most 107 bytes", "use unix /run/app.sock:0660:www-data")
			}
			l.Addr = f[0]
			if len(f) > 1 && f[1] != "" {
				m, err := strconv.ParseUint(f[1], 8, 32)
				if err != nil || m > 0o777 {
					return nil, badValue(words[i+1], "mode "+quoteValue(f[1])+" is not octal", "like 0660")
				}
				l.Mode = os.FileMode(m)
			}
			if len(f) > 2 {
				l.Owner = f[2]
			}
			if len(f) > 3 {
				l.Group = f[3]
			}
		default:
			return nil, badValue(words[i]+" "+words[i+1], "unknown socket kind "+quoteValue(words[i]), "use tcp or unix")
		}
		if seen[l.Kind+l.Addr] {
			return nil, badValue(s, l.Kind+" "+l.Addr+" is listed twice", "")
		}
		seen[l.Kind+l.Addr] = true
		out = append(out, l)
	}
	return out, nil
}
