package commands

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/service"
)

// Version is set at build time with -ldflags "-X svcwrap/commands.Version=...".
var Version = "0.1.0-dev"

// CLI is the admin-mode grammar (kong). Init-script verbs, including each
// definition's custom verbs, are dispatched by hand in Dispatch instead.
type CLI struct {
	List    ListCmd    `cmd:"" help:"List every service: name, state, pid, uptime, respawns, last exit."`
	Metrics MetricsCmd `cmd:"" help:"Print every service's state as Prometheus metrics; --textfile DIR writes DIR/svcwrap.prom."`
	Check   CheckCmd   `cmd:"" help:"Validate a definition (FILE or NAME; none: every service) and its dependencies; exit 6 on a problem."`
	Run     RunCmd     `cmd:"" help:"Run a verb of a service, like /etc/init.d/NAME VERB."`
	New     NewCmd     `cmd:"" help:"Write /etc/init.d/NAME for a daemon, with an LSB header; --enable registers it for boot."`
	Unit    UnitCmd    `cmd:"" help:"Print (or --install) a native systemd unit for a service."`

	Boot     BootCmd     `cmd:"" help:"Start the S links of a runlevel (default 2) in dependency order, independent ones in parallel."`
	Shutdown ShutdownCmd `cmd:"" help:"Stop the K links of a runlevel (default 0), each before what it needs."`
	Init     InitCmd     `cmd:"" help:"Be PID 1: reap orphans, boot, shut down on SIGTERM/SIGINT/SIGPWR; -- CMD ARGS runs a main process."`

	Version VersionCmd `cmd:"" help:"Print the version."`
	Help    HelpCmd    `cmd:"" help:"Show this help."`

	Complete CompleteCmd `cmd:"" name:"__complete" hidden:"" help:"For bash completion: services, or verbs NAME."`
}

// adminEnv is what admin subcommands get.
type adminEnv struct {
	paths  definition.Paths
	out    io.Writer
	errw   io.Writer
	parser *kong.Kong
}

// RunAdmin is admin mode: `svcwrap SUBCOMMAND ...`.
func RunAdmin(args []string) int {
	callerEnv = os.Environ() // for what boot and init run: the caller's environment
	prepare(nil)
	var cli CLI
	exit := -1
	parser, err := kong.New(&cli,
		kong.Name("svcwrap"),
		kong.Description("svcwrap is the /etc/init.d script of any service: see svcwrap(8) and svcwrap(5)."),
		kong.Writers(os.Stdout, os.Stderr),
		kong.Exit(func(code int) { exit = code }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(os.Stderr, "svcwrap: %v\n", err)
		return 1
	}
	env := &adminEnv{paths: definition.PathsFromEnv(os.Getenv), out: os.Stdout, errw: os.Stderr, parser: parser}
	if err := checkArgs(args); err != nil {
		fmt.Fprintf(os.Stderr, "svcwrap: %v\n", err)
		return int(lsb.BadArgs)
	}
	if len(args) == 0 {
		parser.Stderr = os.Stderr
		printHelp(parser, os.Stderr)
		return int(lsb.BadArgs)
	}
	ctx, err := parser.Parse(args)
	if exit >= 0 { // --help: kong printed it and asked to exit
		return exit
	}
	if err != nil {
		// kong exits 80 on parse errors since v1.9; LSB says 2 for wrong arguments.
		fmt.Fprintf(os.Stderr, "svcwrap: %v\n", err)
		var pe *kong.ParseError
		if errors.As(err, &pe) {
			fmt.Fprintln(os.Stderr, "Run 'svcwrap help' for usage.")
		}
		return int(lsb.BadArgs)
	}
	if err := ctx.Run(env); err != nil {
		var ce *service.CommandExit
		if !errors.As(err, &ce) && !errors.Is(err, errSilent) {
			fmt.Fprintf(os.Stderr, "svcwrap: %v\n", err)
		}
		return lsb.ExitCodeOf(err)
	}
	return 0
}

func printHelp(parser *kong.Kong, w io.Writer) {
	ctx, err := kong.Trace(parser, nil)
	if err != nil {
		return
	}
	old := parser.Stdout
	parser.Stdout = w
	ctx.PrintUsage(false)
	parser.Stdout = old
}

// HelpCmd prints usage.
type HelpCmd struct{}

func (HelpCmd) Run(env *adminEnv) error {
	printHelp(env.parser, env.out)
	return nil
}

// VersionCmd prints the version.
type VersionCmd struct{}

func (VersionCmd) Run(env *adminEnv) error {
	fmt.Fprintf(env.out, "svcwrap %s\n", Version)
	return nil
}

// RunCmd runs a verb of a named service.
type RunCmd struct {
	Name string   `arg:"" help:"Service name."`
	Verb []string `arg:"" passthrough:"" help:"Verb and its arguments."`
}

func (c RunCmd) Run(env *adminEnv) error {
	if _, inst := definition.SplitInstance(c.Name); inst != "" {
		if err := definition.ValidInstance(inst); err != nil {
			return &lsb.Error{Code: lsb.BadArgs, Err: err} // before any file is touched
		}
	}
	name, file, err := FindDefinition(env.paths, c.Name)
	if err != nil {
		return &lsb.Error{Code: lsb.NotConfigured, Err: err}
	}
	if code := invoke(name, file, c.Verb); code != 0 {
		return &lsb.Error{Code: lsb.Exit(code), Err: errSilent}
	}
	return nil
}

// CheckCmd validates a definition without running anything.
type CheckCmd struct {
	Target string `arg:"" optional:"" help:"A definition file, or a service name (none: every svcwrap service)."`
}

func (c CheckCmd) Run(env *adminEnv) error {
	if c.Target == "" {
		return checkAll(env)
	}
	file, name := c.Target, filepath.Base(c.Target)
	if !strings.Contains(c.Target, "/") {
		if _, err := os.Stat(c.Target); err != nil {
			n, f, err := FindDefinition(env.paths, c.Target)
			if err != nil {
				return &lsb.Error{Code: lsb.NotConfigured, Err: err}
			}
			name, file = n, f
		}
	}
	def, err := definition.Load(name, file, env.paths)
	if err == nil && def.IsTemplate && def.Instance == "" {
		// A template is checked as an instance would be read.
		def, err = definition.Load(name+"@"+definition.SampleInstance, file, env.paths)
	}
	if err != nil {
		fmt.Fprintln(env.errw, err)
		return &lsb.Error{Code: lsb.NotConfigured, Err: errSilent}
	}
	// Facts about this host (a program or user that is not there yet) are warnings:
	// a definition is often written before its package is installed.
	for _, p := range def.HostProblems {
		fmt.Fprintf(env.errw, "%s (warning: start would refuse)\n", p)
	}
	if probs := depProblems(env.paths, def); len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(env.errw, p)
		}
		return &lsb.Error{Code: lsb.NotConfigured, Err: errSilent}
	}
	fmt.Fprintf(env.out, "%s: ok (service %s)\n", file, def.Name)
	return nil
}

// checkAll is `check` without a target: every svcwrap service of the host, and
// the dependencies of every service (a cycle through classic scripts too).
func checkAll(env *adminEnv) error {
	g := hostGraph(env.paths)
	bad := 0
	for _, n := range g.Nodes {
		if n.Svcwrap {
			def, err := definition.Load(n.Name, n.File, env.paths)
			if err == nil && def.IsTemplate && def.Instance == "" {
				def, err = definition.Load(n.Name+"@"+definition.SampleInstance, n.File, env.paths)
			}
			if err != nil {
				fmt.Fprintln(env.errw, err)
				bad++
				continue
			}
		}
		if n.Err != nil {
			fmt.Fprintf(env.errw, "%s: %v\n", n.File, n.Err)
			bad++
			continue
		}
		probs := g.Problems(n)
		for _, p := range probs {
			fmt.Fprintln(env.errw, p)
		}
		if len(probs) > 0 {
			bad++
		} else if n.Svcwrap {
			fmt.Fprintf(env.out, "%s: ok (service %s)\n", n.File, n.Name)
		}
	}
	if bad > 0 {
		fmt.Fprintf(env.errw, "svcwrap: check: %d service%s with problems\n", bad, lsb.Plural(bad))
		return &lsb.Error{Code: lsb.NotConfigured, Err: errSilent}
	}
	return nil
}

// ListCmd lists every service.
type ListCmd struct {
	JSON bool `name:"json" help:"Print a JSON array."`
}

// listEntry is one service in `list --json` (its keys are in svcwrap(8), "list").
type listEntry struct {
	Name        string `json:"name"`
	State       string `json:"state"`
	PID         int    `json:"pid"`
	WatchdogPID int    `json:"watchdog_pid"`
	Started     string `json:"started"`
	Respawns    int    `json:"respawns"`
	LastExit    string `json:"last_exit"`
	Definition  string `json:"definition"`
	Problem     string `json:"problem,omitempty"`
	// Restarts by CHECK or MAX_RSS, and the reason of the last one (health checks).
	HealthRestarts int    `json:"health_restarts"`
	LastRestart    string `json:"last_restart,omitempty"`
	// Processes of the daemon's cgroup that the kernel's OOM killer ended (MEMORY_MAX).
	OOMKills int `json:"oom_kills"`
	// An instance's template and instance name (NAME is TEMPLATE@INSTANCE); a
	// template without instances has only Template.
	Template string `json:"template,omitempty"`
	Instance string `json:"instance,omitempty"`
	// StatusText is the daemon's own STATUS= (READY=notify).
	StatusText string `json:"status_text,omitempty"`
	// status is what Inspect found (zero for a definition that does not load
	// and has no state): `metrics` reads its start time and cgroup.
	status service.Status
	// memory is the memory of its cgroup, for `metrics` (hasMemory).
	memory    int64
	hasMemory bool
}

func (c ListCmd) Run(env *adminEnv) error {
	entries := listAll(env.paths, nil)
	// One write at the end: tabwriter writes cell by cell (16 syscalls a line).
	out := bufio.NewWriterSize(env.out, 64<<10)
	if c.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			return err
		}
		return out.Flush()
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tPID\tUPTIME\tRESPAWNS\tLAST EXIT\tLAST RESTART")
	for _, e := range entries {
		pid, up := "-", "-"
		if e.PID != 0 {
			pid = fmt.Sprint(e.PID)
		}
		if t, err := time.Parse(time.RFC3339, e.Started); err == nil {
			up = service.FormatUptime(time.Since(t))
		}
		last := e.LastExit
		if last == "" {
			last = "-"
		}
		if e.Problem != "" {
			last = e.Problem
		}
		restart := "-"
		if e.LastRestart != "" {
			restart = fmt.Sprintf("%s (%d health restart%s)", e.LastRestart, e.HealthRestarts, lsb.Plural(e.HealthRestarts))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.Name, e.State, pid, up, e.Respawns, last, restart)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return out.Flush()
}

type serviceDef struct{ name, file string }

// discover finds every service: script-mode files in INITDIR and the definitions
// in CONFDIR (symlink mode), by name.
func discover(paths definition.Paths) []serviceDef {
	seen := map[string]bool{}
	var out []serviceDef
	if ents, err := os.ReadDir(paths.InitDir); err == nil {
		var cand []serviceDef
		for _, e := range ents {
			if e.Type().IsRegular() {
				cand = append(cand, serviceDef{e.Name(), filepath.Join(paths.InitDir, e.Name())})
			}
		}
		script := make([]bool, len(cand)) // each is a file read: one goroutine per CPU
		eachParallel(len(cand), func(i int) { script[i] = isScript(cand[i].file) })
		for i, sd := range cand {
			if script[i] {
				seen[sd.name] = true
				out = append(out, sd)
			}
		}
	}
	if ents, err := os.ReadDir(paths.ConfDir); err == nil {
		for _, e := range ents {
			if e.Type().IsRegular() && !seen[e.Name()] && !strings.HasPrefix(e.Name(), ".") {
				out = append(out, serviceDef{e.Name(), filepath.Join(paths.ConfDir, e.Name())})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}
