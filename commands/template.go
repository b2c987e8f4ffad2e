package commands

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/protocol"
	"svcwrap/service"
)

// runTemplate runs a verb of a template called bare (/etc/init.d/openvpn start):
// on the instances named after the verb (/etc/init.d/openvpn start office home,
// Debian's form), or else on those INSTANCES selects, and, for what acts on
// running daemons (stop, reload, status...), on every instance that runs too.
// Each instance is a service of its own, with its own line of output; the exit
// status is the first failure's, and status's is 0 when every instance runs, 3
// when none does, else 1 (LSB has no "partly running").
func runTemplate(rep *lsb.Reporter, tmpl *definition.Definition, paths definition.Paths, prog, verb string, args []string) int {
	name := tmpl.Template
	switch verb {
	case "", "help", "-h", "--help":
		w, code := os.Stdout, 0
		if verb == "" {
			w, code = os.Stderr, int(lsb.BadArgs)
		}
		Usage(w, tmpl, prog)
		fmt.Fprintf(w, "\n%s is a template: a verb acts on the instances named after it (%s start NAME...), else on every instance INSTANCES selects and every one that runs. One instance: svcwrap run %s@NAME VERB, or a link %s@NAME -> %s.\n", name, prog, name, prog, filepath.Base(prog))
		return code
	case "start", "stop", "restart", "try-restart", "condrestart", "reload", "force-reload", "status":
	default:
		// A custom verb (or signal) acts on instances named after it, as
		// Debian's openvpn takes `soft-restart VPN...`: each argument must be an
		// instance INSTANCES selects or one that runs.
		if len(args) > 0 && allKnown(tmpl, paths, args) {
			return eachInstance(rep, tmpl, paths, prog, verb, args)
		}
		err := &lsb.Error{Service: name, Action: verbOr(verb), Code: lsb.BadArgs,
			Err:  fmt.Errorf("%s is a template: %s acts on instances", name, shortQuote(verb)),
			Hint: "name them: " + prog + " " + verb + " INSTANCE... (or " + prog + "@INSTANCE " + verb + ", svcwrap run " + name + "@INSTANCE " + verb + ")"}
		rep.Failure(name, err)
		return int(lsb.BadArgs)
	}
	for _, inst := range args {
		if err := definition.ValidInstance(inst); err != nil {
			e := &lsb.Error{Service: name, Action: verb, Code: lsb.BadArgs, Err: err}
			rep.Failure(name, e)
			return int(lsb.BadArgs)
		}
	}
	insts := args
	if len(insts) == 0 {
		var err error
		if insts, err = instancesFor(tmpl, paths, verb); err != nil {
			rep.Failure(name, &lsb.Error{Service: name, Action: verb, Code: lsb.NotConfigured, Err: err})
			return int(lsb.NotConfigured)
		}
	}
	if len(insts) == 0 {
		rep.Success("%s: no instances (INSTANCES selects none, and none runs)", name)
		if verb == "status" {
			return int(lsb.Stopped)
		}
		return 0
	}
	return eachInstance(rep, tmpl, paths, prog, verb, insts)
}

// eachInstance runs verb on each instance, a line each. The exit status is the
// first failure's; status's is 0 when every instance runs, 3 when none does, else
// 1. A disabled instance that does not run (ENABLED, CONDITION: postgresql's
// start.conf "manual") is not counted: nobody meant it to run.
func eachInstance(rep *lsb.Reporter, tmpl *definition.Definition, paths definition.Paths, prog, verb string, insts []string) int {
	name := tmpl.Template
	code, running, counted := 0, 0, 0
	for _, inst := range insts {
		full := name + "@" + inst
		def, err := definition.Load(full, tmpl.File, paths)
		if err != nil {
			rep.Failure(full, &lsb.Error{Service: full, Action: verb, Code: lsb.NotConfigured, Err: err})
			code = firstFailure(code, int(lsb.NotConfigured))
			counted++
			continue
		}
		svc := &service.Service{Def: def, Paths: paths}
		c := report(rep, full, verb, Dispatch(rep, svc, prog+"@"+inst, verb, nil))
		if verb == "status" {
			if c == 0 {
				running++
			}
			if c == 0 || def.Startable() == "" {
				counted++
			}
			continue
		}
		code = firstFailure(code, c)
	}
	if verb == "status" {
		switch running {
		case counted:
			if counted == 0 {
				return int(lsb.Stopped)
			}
			return 0
		case 0:
			return int(lsb.Stopped)
		}
		return int(lsb.DeadPidfile)
	}
	return code
}

// allKnown: every name is an instance INSTANCES selects or one that runs.
func allKnown(tmpl *definition.Definition, paths definition.Paths, names []string) bool {
	known, err := instancesFor(tmpl, paths, "status")
	if err != nil {
		return false
	}
	for _, n := range names {
		if definition.ValidInstance(n) != nil || !slices.Contains(known, n) {
			return false
		}
	}
	return true
}

func firstFailure(code, c int) int {
	if code == 0 {
		return c
	}
	return code
}

// instancesFor are the instances a bare verb acts on: start the ones INSTANCES
// selects; stop, status and restart those and every one that runs; reload,
// force-reload and try-restart only those that run.
func instancesFor(tmpl *definition.Definition, paths definition.Paths, verb string) ([]string, error) {
	selected, err := tmpl.InstanceNames()
	if err != nil {
		return nil, err
	}
	if verb == "start" {
		return selected, nil
	}
	running := runningInstances(tmpl, paths)
	switch verb {
	case "reload", "force-reload", "try-restart", "condrestart":
		return running, nil
	}
	for _, r := range running {
		if !slices.Contains(selected, r) {
			selected = append(selected, r)
		}
	}
	return selected, nil
}

// runningInstances are the template's instances that have a state file whose
// daemon runs, in name order.
func runningInstances(tmpl *definition.Definition, paths definition.Paths) []string {
	files := protocol.FilesOf(paths)
	ents, err := os.ReadDir(files.Dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		inst, ok := strings.CutPrefix(strings.TrimSuffix(e.Name(), ".state"), tmpl.Template+"@")
		if !ok || !strings.HasSuffix(e.Name(), ".state") || definition.ValidInstance(inst) != nil {
			continue
		}
		if st, err := files.ReadState(tmpl.Template + "@" + inst); err == nil && st != nil && st.Daemon.Alive() {
			out = append(out, inst)
		}
	}
	return out
}
