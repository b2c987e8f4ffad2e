package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errNA marks a measurement a system has no equivalent for.
var errNA = errors.New("not applicable")

// system is one supervisor under test: svcwrap or a peer. Services are numbered
// 0..n-1; each runs benchd with its own id and port.
type system interface {
	Name() string
	Define(n int) error // create n stopped services and the supervisor(s)
	Start(i int) error
	Stop(i int) error
	Status(i int) error
	List() error             // over every defined service; errNA if none
	Supervisors(i int) []int // the process(es) supervising service i; nil if none
	Respawns() bool          // whether it restarts a killed daemon
	Close() error            // stop everything, leave no process
}

// run runs a command with a bound, capturing its output for the error.
func run(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func writeFile(path, content string, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), perm)
}

func baseEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
}

// ---- svcwrap ----

type svcwrapSys struct {
	b       *bench
	idx     int
	root    string
	env     []string
	n       int
	started set
	// ready is the value of READY (default: the tcp probe of the daemon's port);
	// extra, when set, gives benchd's further arguments for service i.
	ready string
	extra func(i int) string
	// listenFDs: LISTEN="tcp 127.0.0.1:PORT", benchd -listen-fds (the watchdog
	// holds the socket) instead of a socket of benchd's own.
	listenFDs bool
}

func (s *svcwrapSys) Name() string        { return "svcwrap" }
func (s *svcwrapSys) Respawns() bool      { return true }
func (s *svcwrapSys) svc(i int) string    { return fmt.Sprintf("bs%d", i) }
func (s *svcwrapSys) script(i int) string { return filepath.Join(s.root, "init.d", s.svc(i)) }

func (s *svcwrapSys) Define(n int) error {
	s.n = n
	s.env = baseEnv()
	for _, d := range []string{"init.d", "svcwrap", "run", "pid", "log", "default"} {
		if err := os.MkdirAll(filepath.Join(s.root, d), 0o755); err != nil {
			return err
		}
		key := map[string]string{"init.d": "INITDIR", "svcwrap": "CONFDIR", "run": "RUNDIR", "pid": "PIDDIR", "log": "LOGDIR", "default": "DEFAULTS"}[d]
		s.env = append(s.env, "SVCWRAP_"+key+"="+filepath.Join(s.root, d))
	}
	for i := 0; i < n; i++ {
		id, port := s.b.id(s.idx, i), s.b.port(s.idx, i)
		ready, extra := s.ready, ""
		if ready == "" {
			ready = fmt.Sprintf("tcp 127.0.0.1:%d", port)
		}
		if s.extra != nil {
			extra = " " + s.extra(i)
		}
		sock, more := fmt.Sprintf("-listen 127.0.0.1:%d", port), ""
		if s.listenFDs {
			sock, more = "-listen-fds", fmt.Sprintf("LISTEN=\"tcp 127.0.0.1:%d\"\n", port)
		}
		def := fmt.Sprintf(`#!%s
### BEGIN INIT INFO
# Provides:          %[2]s
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: benchmark service %[2]s
### END INIT INFO
DAEMON="%s -id %d -report %s %s%s"
START_WAIT=0
READY="%s"
RESPAWN_DELAY=0
RESPAWN_LIMIT=1000000/1s
STOP_SCHEDULE=TERM/10/KILL/5
LOG=none
%s`, s.b.svcwrap, s.svc(i), s.b.benchd, id, s.b.sock, sock, extra, ready, more)
		if err := writeFile(s.script(i), def, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (s *svcwrapSys) Start(i int) error {
	s.started.add(i)
	_, err := run(s.env, s.script(i), "start")
	return err
}

func (s *svcwrapSys) Stop(i int) error {
	_, err := run(s.env, s.script(i), "stop")
	if err == nil {
		s.started.del(i)
	}
	return err
}

func (s *svcwrapSys) Restart(i int) error {
	_, err := run(s.env, s.script(i), "restart")
	return err
}

func (s *svcwrapSys) Status(i int) error {
	_, err := run(s.env, s.script(i), "status")
	return err
}

func (s *svcwrapSys) List() error {
	_, err := run(s.env, s.b.svcwrap, "list")
	return err
}

// metricser is a system with a Prometheus exposition of every service (svcwrap
// only: its peers have none of their own).
type metricser interface{ Metrics() error }

func (s *svcwrapSys) Metrics() error {
	_, err := run(s.env, s.b.svcwrap, "metrics")
	return err
}

func (s *svcwrapSys) Supervisors(i int) []int {
	b, err := os.ReadFile(filepath.Join(s.root, "run", s.svc(i)+".state"))
	if err != nil {
		return nil
	}
	var st struct {
		Watchdog struct {
			PID int `json:"pid"`
		} `json:"watchdog"`
	}
	if json.Unmarshal(b, &st) != nil || st.Watchdog.PID == 0 {
		return nil
	}
	return []int{st.Watchdog.PID}
}

func (s *svcwrapSys) Close() error {
	var first error
	for _, i := range s.started.list() {
		if err := s.Stop(i); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ---- runit ----

type runitSys struct {
	b     *bench
	idx   int
	root  string
	extra func(i int) string // benchd's further arguments for service i
	n     int
	runsv []*exec.Cmd
}

func (s *runitSys) Name() string     { return "runit" }
func (s *runitSys) Respawns() bool   { return true }
func (s *runitSys) dir(i int) string { return filepath.Join(s.root, "sv", fmt.Sprintf("rs%d", i)) }

func (s *runitSys) Define(n int) error {
	s.n = n
	for i := 0; i < n; i++ {
		d := s.dir(i)
		run := fmt.Sprintf("#!/bin/sh\nexec %s -id %d -report %s -listen 127.0.0.1:%d%s\n", s.b.benchd, s.b.id(s.idx, i), s.b.sock, s.b.port(s.idx, i), extraArgs(s.extra, i))
		// ./check is runit's readiness probe, the equivalent of READY=tcp.
		check := fmt.Sprintf("#!/bin/bash\nexec 3<>/dev/tcp/127.0.0.1/%d\n", s.b.port(s.idx, i))
		if err := writeFile(filepath.Join(d, "run"), run, 0o755); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(d, "check"), check, 0o755); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(d, "down"), "", 0o644); err != nil {
			return err
		}
		cmd := exec.Command("runsv", d)
		cmd.Env = baseEnv()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return err
		}
		s.runsv = append(s.runsv, cmd)
	}
	// runsv has no readiness event: poll (bounded) for its control fifo.
	for i := 0; i < n; i++ {
		ok := filepath.Join(s.dir(i), "supervise", "ok")
		if err := poll(20*time.Second, "runsv "+s.dir(i)+" to create supervise/ok", func() bool {
			_, err := os.Stat(ok)
			return err == nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (s *runitSys) Start(i int) error {
	_, err := run(baseEnv(), "sv", "start", s.dir(i))
	return err
}

func (s *runitSys) Stop(i int) error {
	_, err := run(baseEnv(), "sv", "stop", s.dir(i))
	return err
}

// Restart is `sv restart`: TERM, then up, waiting (7 s at most) for ./check.
func (s *runitSys) Restart(i int) error {
	_, err := run(baseEnv(), "sv", "restart", s.dir(i))
	return err
}

func (s *runitSys) Status(i int) error {
	out, err := run(baseEnv(), "sv", "status", s.dir(i))
	if err == nil && !strings.HasPrefix(out, "run:") {
		return fmt.Errorf("sv status: %s", strings.TrimSpace(out))
	}
	return err
}

func (s *runitSys) List() error {
	args := []string{"status"}
	for i := 0; i < s.n; i++ {
		args = append(args, s.dir(i))
	}
	_, err := run(baseEnv(), "sv", args...)
	return err
}

func (s *runitSys) Supervisors(i int) []int {
	if i < len(s.runsv) {
		return []int{s.runsv[i].Process.Pid}
	}
	return nil
}

func (s *runitSys) Close() error {
	var first error
	for i, cmd := range s.runsv {
		if _, err := run(baseEnv(), "sv", "-w", "15", "force-stop", s.dir(i)); err != nil && first == nil {
			first = err
		}
		run(baseEnv(), "sv", "exit", s.dir(i))
		if err := waitCmd(cmd, 10*time.Second); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ---- supervisord ----

type supervisordSys struct {
	b     *bench
	idx   int
	root  string
	extra func(i int) string // benchd's further arguments for service i
	// progConf: further lines of every [program:] section (stopasgroup=true).
	progConf string
	conf     string
	n        int
	cmd      *exec.Cmd
}

func (s *supervisordSys) Name() string      { return "supervisord" }
func (s *supervisordSys) Respawns() bool    { return true }
func (s *supervisordSys) prog(i int) string { return fmt.Sprintf("sp%d", i) }

func (s *supervisordSys) Define(n int) error {
	s.n = n
	s.conf = filepath.Join(s.root, "supervisord.conf")
	var c strings.Builder
	fmt.Fprintf(&c, `[unix_http_server]
file=%[1]s/supervisor.sock
[supervisord]
logfile=%[1]s/supervisord.log
pidfile=%[1]s/supervisord.pid
childlogdir=%[1]s
nodaemon=true
user=root
loglevel=warn
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://%[1]s/supervisor.sock
`, s.root)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&c, `[program:%s]
command=%s -id %d -report %s -listen 127.0.0.1:%d%s
autostart=false
autorestart=true
startsecs=0
startretries=1000000
stopsignal=TERM
stopwaitsecs=10
stdout_logfile=NONE
stderr_logfile=NONE
%s`, s.prog(i), s.b.benchd, s.b.id(s.idx, i), s.b.sock, s.b.port(s.idx, i), extraArgs(s.extra, i), s.progConf)
	}
	if err := writeFile(s.conf, c.String(), 0o644); err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(s.root, "supervisord.out"))
	if err != nil {
		return err
	}
	defer out.Close()
	s.cmd = exec.Command("supervisord", "-n", "-c", s.conf)
	s.cmd.Env = baseEnv()
	s.cmd.Stdout, s.cmd.Stderr = out, out
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	// No readiness event from supervisord: poll (bounded) until it answers.
	return poll(30*time.Second, "supervisord to answer supervisorctl", func() bool {
		_, err := run(baseEnv(), "supervisorctl", "-c", s.conf, "pid")
		return err == nil
	})
}

func (s *supervisordSys) ctl(args ...string) (string, error) {
	return run(baseEnv(), "supervisorctl", append([]string{"-c", s.conf}, args...)...)
}

func (s *supervisordSys) Start(i int) error {
	out, err := s.ctl("start", s.prog(i))
	if err == nil && !strings.Contains(out, "started") {
		return fmt.Errorf("supervisorctl start: %s", strings.TrimSpace(out))
	}
	return err
}

func (s *supervisordSys) Stop(i int) error {
	_, err := s.ctl("stop", s.prog(i))
	return err
}

// Restart is `supervisorctl restart`: stop, then start.
func (s *supervisordSys) Restart(i int) error {
	out, err := s.ctl("restart", s.prog(i))
	if err == nil && !strings.Contains(out, "started") {
		return fmt.Errorf("supervisorctl restart: %s", strings.TrimSpace(out))
	}
	return err
}

func (s *supervisordSys) Status(i int) error {
	_, err := s.ctl("status", s.prog(i))
	return err
}

func (s *supervisordSys) List() error {
	_, err := s.ctl("status")
	if exitCode(err) == 3 { // some programs are not running: still a listing
		return nil
	}
	return err
}

func (s *supervisordSys) Supervisors(i int) []int {
	if s.cmd == nil {
		return nil
	}
	return []int{s.cmd.Process.Pid}
}

func (s *supervisordSys) Close() error {
	if s.cmd == nil {
		return nil
	}
	s.cmd.Process.Signal(syscall.SIGTERM) // stops every program, then exits
	return waitCmd(s.cmd, 30*time.Second)
}

// ---- Debian LSB init script (start-stop-daemon, /lib/lsb/init-functions) ----

type lsbSys struct {
	b       *bench
	idx     int
	root    string
	extra   func(i int) string // benchd's further arguments for service i
	n       int
	started set
}

func (s *lsbSys) Name() string        { return "lsb" }
func (s *lsbSys) Respawns() bool      { return false }
func (s *lsbSys) script(i int) string { return filepath.Join(s.root, "init.d", fmt.Sprintf("ls%d", i)) }

// lsbScript is a classic Debian init script, after /etc/init.d/skeleton.
const lsbScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          %[1]s
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: benchmark service %[1]s
### END INIT INFO
NAME=%[1]s
DAEMON=%[2]s
DAEMON_ARGS="-id %[3]d -report %[4]s -listen 127.0.0.1:%[5]d%[7]s"
PIDFILE=%[6]s/%[1]s.pid
[ -x "$DAEMON" ] || exit 5
. /lib/lsb/init-functions

case "$1" in
  start)
	log_daemon_msg "Starting benchmark service" "$NAME"
	start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE --exec $DAEMON -- $DAEMON_ARGS
	log_end_msg $?
	;;
  stop)
	log_daemon_msg "Stopping benchmark service" "$NAME"
	start-stop-daemon --stop --quiet --retry=TERM/10/KILL/5 --pidfile $PIDFILE --exec $DAEMON
	RETVAL=$?
	[ $RETVAL = 2 ] && { log_end_msg 1; exit 1; }
	rm -f $PIDFILE
	log_end_msg 0
	;;
  restart|force-reload)
	log_daemon_msg "Restarting benchmark service" "$NAME"
	start-stop-daemon --stop --quiet --retry=TERM/10/KILL/5 --pidfile $PIDFILE --exec $DAEMON
	case "$?" in
	  0|1)
		rm -f $PIDFILE
		start-stop-daemon --start --quiet --background --make-pidfile --pidfile $PIDFILE --exec $DAEMON -- $DAEMON_ARGS
		log_end_msg $?
		;;
	  *)
		log_end_msg 1
		exit 1
		;;
	esac
	;;
  status)
	status_of_proc -p $PIDFILE "$DAEMON" "$NAME" && exit 0 || exit $?
	;;
  *)
	echo "Usage: $0 {start|stop|restart|force-reload|status}" >&2
	exit 3
	;;
esac
`

func (s *lsbSys) Define(n int) error {
	s.n = n
	piddir := filepath.Join(s.root, "run")
	if err := os.MkdirAll(piddir, 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		body := fmt.Sprintf(lsbScript, fmt.Sprintf("ls%d", i), s.b.benchd, s.b.id(s.idx, i), s.b.sock, s.b.port(s.idx, i), piddir, extraArgs(s.extra, i))
		if err := writeFile(s.script(i), body, 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (s *lsbSys) env() []string {
	return append(baseEnv(), "_SYSTEMCTL_SKIP_REDIRECT=1")
}

func (s *lsbSys) Start(i int) error {
	s.started.add(i)
	_, err := run(s.env(), s.script(i), "start")
	return err
}

func (s *lsbSys) Stop(i int) error {
	_, err := run(s.env(), s.script(i), "stop")
	if err == nil {
		s.started.del(i)
	}
	return err
}

// Restart is the script's restart: stop, then start (which returns before the
// daemon listens).
func (s *lsbSys) Restart(i int) error {
	s.started.add(i)
	_, err := run(s.env(), s.script(i), "restart")
	return err
}

func (s *lsbSys) Status(i int) error {
	_, err := run(s.env(), s.script(i), "status")
	return err
}

func (s *lsbSys) List() error           { return errNA }
func (s *lsbSys) Supervisors(int) []int { return nil }

func (s *lsbSys) Close() error {
	var first error
	for _, i := range s.started.list() {
		if err := s.Stop(i); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ---- start-stop-daemon --notify-await (dpkg 1.21+), called directly ----

// ssdSys starts benchd with start-stop-daemon itself, no init script around it:
// --start --background --notify-await (start-stop-daemon binds a socket of its
// own, passes NOTIFY_SOCKET and returns at READY=1), --make-pidfile; stop is
// --stop --retry TERM/10/KILL/5, as the LSB script's. Only the start-to-ready rows
// use it.
type ssdSys struct {
	b       *bench
	idx     int
	root    string
	extra   func(i int) string
	started set
}

func (s *ssdSys) Name() string         { return "start-stop-daemon" }
func (s *ssdSys) pidfile(i int) string { return filepath.Join(s.root, fmt.Sprintf("sd%d.pid", i)) }

func (s *ssdSys) Define(n int) error { return os.MkdirAll(s.root, 0o755) }

func (s *ssdSys) Start(i int) error {
	s.started.add(i)
	args := []string{"--start", "--quiet", "--background", "--notify-await", "--notify-timeout", "10",
		"--make-pidfile", "--pidfile", s.pidfile(i), "--exec", s.b.benchd, "--",
		"-id", fmt.Sprint(s.b.id(s.idx, i)), "-report", s.b.sock, "-listen", fmt.Sprintf("127.0.0.1:%d", s.b.port(s.idx, i))}
	if s.extra != nil {
		args = append(args, strings.Fields(s.extra(i))...)
	}
	_, err := run(baseEnv(), "start-stop-daemon", args...)
	return err
}

func (s *ssdSys) Stop(i int) error {
	_, err := run(baseEnv(), "start-stop-daemon", "--stop", "--quiet", "--retry=TERM/10/KILL/5", "--pidfile", s.pidfile(i), "--exec", s.b.benchd)
	if err == nil {
		os.Remove(s.pidfile(i))
		s.started.del(i)
	}
	return err
}

func (s *ssdSys) Close() error {
	var first error
	for _, i := range s.started.list() {
		if err := s.Stop(i); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ---- helpers ----

// restarter is a system with a restart command (every one of the table).
type restarter interface{ Restart(i int) error }

// extraArgs is " " and extra(i), or "" when extra is nil.
func extraArgs(extra func(int) string, i int) string {
	if extra == nil {
		return ""
	}
	return " " + extra(i)
}

// set is a concurrency-safe set of service numbers (started services, for Close).
type set struct {
	mu sync.Mutex
	m  map[int]bool
}

func (s *set) add(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[int]bool{}
	}
	s.m[i] = true
}

func (s *set) del(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, i)
}

func (s *set) list() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []int
	for i := range s.m {
		out = append(out, i)
	}
	return out
}

// poll checks cond with a growing interval until it holds or bound passes. Only for
// conditions that have no event (a peer's socket appearing).
func poll(bound time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(bound)
	wait := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", bound, what)
		}
		t := time.NewTimer(wait)
		<-t.C
		wait = min(wait*2, 100*time.Millisecond)
	}
	return nil
}

// waitCmd waits for cmd with a bound; past it the process is killed.
func waitCmd(cmd *exec.Cmd, bound time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s did not exit within %v (killed)", strings.Join(cmd.Args, " "), bound)
	}
}
