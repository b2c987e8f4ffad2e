package definition

import (
	"path/filepath"
	"strings"
)

// Paths are the directories svcwrap works in. Every one has an environment override
// so that tests and unprivileged users can run svcwrap in a temporary tree.
type Paths struct {
	InitDir  string   // SVCWRAP_INITDIR: script-mode definitions (/etc/init.d)
	ConfDir  string   // SVCWRAP_CONFDIR: symlink-mode definitions (/etc/svcwrap)
	RunDir   string   // SVCWRAP_RUNDIR: locks and state (/run/svcwrap)
	PidDir   string   // SVCWRAP_PIDDIR: default pidfiles (/run)
	LogDir   string   // SVCWRAP_LOGDIR: default logs (/var/log/svcwrap)
	Defaults []string // SVCWRAP_DEFAULTS: dirs searched for env file NAME
	// InsservConf maps $facilities of LSB headers to services; its drop-ins are
	// in INSSERVCONF.d (SVCWRAP_INSSERV_CONF, /etc/insserv.conf).
	InsservConf string
	// RcRoot holds the runlevel directories rc0.d ... rc6.d, rcS.d that boot and
	// shutdown run (SVCWRAP_RCROOT, /etc).
	RcRoot string
}

// PathsFromEnv reads the SVCWRAP_* overrides with getenv (os.Getenv in production).
func PathsFromEnv(getenv func(string) string) Paths {
	get := func(key, def string) string {
		if v := getenv(key); v != "" {
			return filepath.Clean(v)
		}
		return def
	}
	p := Paths{
		InitDir: get("SVCWRAP_INITDIR", "/etc/init.d"),
		ConfDir: get("SVCWRAP_CONFDIR", "/etc/svcwrap"),
		RunDir:  get("SVCWRAP_RUNDIR", "/run/svcwrap"),
		PidDir:  get("SVCWRAP_PIDDIR", "/run"),
		LogDir:  get("SVCWRAP_LOGDIR", "/var/log/svcwrap"),

		InsservConf: get("SVCWRAP_INSSERV_CONF", "/etc/insserv.conf"),
		RcRoot:      get("SVCWRAP_RCROOT", "/etc"),
	}
	for _, d := range strings.Split(get("SVCWRAP_DEFAULTS", "/etc/default:/etc/sysconfig"), ":") {
		if d != "" {
			p.Defaults = append(p.Defaults, d)
		}
	}
	return p
}
