package probe

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"svcwrap/proc"
)

// Exec is how an exec probe runs: its command line (split by the definition), the
// service's way of making a command (definition.Command), its umask, and the name
// and length of the bound on one run, for messages.
type Exec struct {
	Argv      []string
	Command   func(argv []string) (*exec.Cmd, error)
	Umask     uint32
	Bound     time.Duration
	BoundName string // START_TIMEOUT, CHECK_TIMEOUT
}

// Run runs the probe once within ctx: Check for tcp, unix and http; for exec, the
// command x describes, in its own process group, which is killed when the command
// exits and when ctx ends (proc.Run): a probe never leaves a process behind and
// never outlives ctx by more than a second, whatever the command starts. The
// command dies with the watchdog too (parent-death signal). A failure reads
// "exec /bin/false: exit status 1: LAST LINE OF ITS OUTPUT".
func (p Probe) Run(ctx context.Context, x *Exec) error {
	if p.Kind != "exec" {
		return p.Check(ctx)
	}
	cmd, err := x.Command(x.Argv)
	if err != nil {
		return fmt.Errorf("exec %s: %v", x.Argv[0], err)
	}
	cmd.SysProcAttr.Pdeathsig = unix.SIGKILL
	out := &Tail{Max: 4 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	err = proc.Run(ctx, cmd, x.Umask, true)
	if errors.Is(err, proc.ErrTimeout) {
		return fmt.Errorf("exec %s: timed out after %v (%s)", x.Argv[0], x.Bound, x.BoundName)
	}
	if err != nil {
		if l := out.LastLine(); l != "" {
			return fmt.Errorf("exec %s: %v: %s", x.Argv[0], err, l)
		}
		return fmt.Errorf("exec %s: %v", x.Argv[0], err)
	}
	return nil
}

// Tail is an io.Writer that keeps the last Max bytes written to it.
type Tail struct {
	Max  int
	mu   sync.Mutex
	b    []byte
	lost bool
}

func (t *Tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.Max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
		t.lost = true
	}
	return len(p), nil
}

// String is what was kept, trimmed, after "...\n" when the start was lost.
func (t *Tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if t.lost {
		s = "...\n" + s
	}
	return s
}

// LastLine is the last non-empty line kept.
func (t *Tail) LastLine() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
