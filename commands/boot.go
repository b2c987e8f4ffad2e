package commands

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"svcwrap/boot"
	"svcwrap/definition"
	"svcwrap/lsb"
)

// callerEnv is the environment svcwrap was called with, before prepare cleared
// it: boot's scripts and init's main process get it.
var callerEnv []string

// scriptEnv is callerEnv with a PATH (the fixed one when the caller had none).
func scriptEnv() []string {
	env := append([]string{}, callerEnv...)
	for _, kv := range env {
		if strings.HasPrefix(kv, "PATH=") {
			return env
		}
	}
	return append(env, "PATH="+definition.FixedPATH)
}

func runlevelArg(r string) (string, error) {
	if !boot.ValidRunlevel(r) {
		return "", &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("runlevel %s: want 0-6 or S", shortQuote(r))}
	}
	return strings.ToUpper(r), nil
}

func positive(name string, d time.Duration) error {
	if d <= 0 {
		return &lsb.Error{Code: lsb.BadArgs, Err: fmt.Errorf("%s must be positive (got %v)", name, d)}
	}
	return nil
}

// BootCmd starts a runlevel's S links.
type BootCmd struct {
	Runlevel string        `arg:"" optional:"" default:"2" help:"The runlevel whose rcN.d S links start (default 2)."`
	Timeout  time.Duration `default:"60s" help:"Bound of each script's start; one that takes longer is killed and reported."`
}

func (c BootCmd) Run(env *adminEnv) error {
	lvl, err := runlevelArg(c.Runlevel)
	if err != nil {
		return err
	}
	if err := positive("--timeout", c.Timeout); err != nil {
		return err
	}
	res, err := boot.Boot(context.Background(), boot.Options{Paths: env.paths, Runlevel: lvl, Timeout: c.Timeout, Out: env.out, Env: scriptEnv()})
	if err != nil {
		return lsb.Errorf(lsb.Failed, "boot: %v", err)
	}
	if len(res.Failed) > 0 {
		return &lsb.Error{Code: lsb.Failed, Err: errSilent}
	}
	return nil
}

// ShutdownCmd stops a runlevel's K links.
type ShutdownCmd struct {
	Runlevel string        `arg:"" optional:"" default:"0" help:"The runlevel whose rcN.d K links stop (default 0)."`
	Timeout  time.Duration `default:"60s" help:"Bound of each script's stop."`
}

func (c ShutdownCmd) Run(env *adminEnv) error {
	lvl, err := runlevelArg(c.Runlevel)
	if err != nil {
		return err
	}
	if err := positive("--timeout", c.Timeout); err != nil {
		return err
	}
	res, err := boot.Shutdown(context.Background(), boot.Options{Paths: env.paths, Runlevel: lvl, Timeout: c.Timeout, Out: env.out, Env: scriptEnv()})
	if err != nil {
		return lsb.Errorf(lsb.Failed, "shutdown: %v", err)
	}
	if len(res.Failed) > 0 {
		return &lsb.Error{Code: lsb.Failed, Err: errSilent}
	}
	return nil
}

// InitCmd is svcwrap as PID 1.
type InitCmd struct {
	Runlevel         string        `default:"2" help:"The runlevel to boot."`
	ShutdownRunlevel string        `name:"shutdown-runlevel" default:"0" help:"The runlevel whose K links stop at the end, besides what the boot started."`
	Timeout          time.Duration `default:"60s" help:"Bound of each script's start or stop."`
	ShutdownTimeout  time.Duration `name:"shutdown-timeout" default:"10s" help:"Bound of the whole shutdown, the end of leftover processes included."`
	Cmd              []string      `arg:"" optional:"" passthrough:"" help:"-- CMD ARGS: the main process; its exit ends init with its exit code."`
}

func (c InitCmd) Run(env *adminEnv) error {
	lvl, err := runlevelArg(c.Runlevel)
	if err != nil {
		return err
	}
	slvl, err := runlevelArg(c.ShutdownRunlevel)
	if err != nil {
		return err
	}
	for name, d := range map[string]time.Duration{"--timeout": c.Timeout, "--shutdown-timeout": c.ShutdownTimeout} {
		if err := positive(name, d); err != nil {
			return err
		}
	}
	cmd := c.Cmd
	if len(cmd) > 0 && cmd[0] == "--" {
		cmd = cmd[1:]
	}
	code := boot.Init(boot.InitOptions{
		Options:          boot.Options{Paths: env.paths, Runlevel: lvl, Timeout: c.Timeout, Out: env.out, Env: scriptEnv()},
		ShutdownRunlevel: slvl, ShutdownTimeout: c.ShutdownTimeout, Cmd: cmd, Err: env.errw,
	})
	os.Stdout.Sync()
	if code != 0 {
		return &lsb.Error{Code: lsb.Exit(code), Err: errSilent}
	}
	return nil
}
