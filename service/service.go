// Package service is what a verb does, on the command line's side: it inspects a
// service (status, list), starts its watchdog and waits for its report, stops it,
// signals and reloads the daemon, and runs custom commands and GUARD. It talks to
// the watchdog only through package protocol (the readiness line, the control
// signals, the state file), and never imports package watchdog.
package service

import (
	"time"

	"svcwrap/definition"
	"svcwrap/lsb"
	"svcwrap/protocol"
	"svcwrap/safefile"
)

// Service is a definition together with the paths it runs under.
type Service struct {
	Def   *definition.Definition
	Paths definition.Paths

	guarded bool // GUARD passed in this invocation (restart runs it once, not twice)
}

func (s *Service) files() protocol.Files { return protocol.FilesOf(s.Paths) }

// watchdogStopTimeout bounds the wait for a watchdog to leave on SigDetach.
const watchdogStopTimeout = 5 * time.Second

// lockTimeout bounds how long a command waits for another one on the same service:
// long enough for the slowest start or stop the definition allows.
func (s *Service) lockTimeout() time.Duration {
	d := s.Def
	t := d.StartTimeout + d.StopBound() + watchdogStopTimeout + 10*time.Second
	if h := d.Hook("PRE_START"); h != nil {
		t += d.HookBound("PRE_START")
	}
	if h := d.Hook("POST_START"); h != nil {
		t += d.HookBound("POST_START")
	}
	return t
}

// Locked runs fn holding the service's command lock.
func (s *Service) Locked(fn func() error) error {
	f := s.files()
	if err := f.Ensure(); err != nil {
		return err
	}
	l, err := safefile.AcquireLock(f.Lock(s.Def.Name), s.lockTimeout())
	if err != nil {
		return lsb.Errorf(lsb.Failed, "%v", err)
	}
	defer l.Release()
	return fn()
}
