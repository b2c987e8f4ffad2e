// Command benchd is the daemon of `make bench`: the same program under svcwrap and
// under every peer. Its first statement takes the wall-clock time, so the benchmark
// can tell when a respawned daemon began to run; it reports that time, and the time
// its TCP port accepts, as one text datagram each on the benchmark's unix socket
// ("start ID PID NANOS", "listen ID PID NANOS"). It exits 0 at once on SIGTERM or
// SIGINT and otherwise idles until killed.
//
// With -notify it is an sd_notify(3) daemon: once it listens (and has reported
// it), it sends READY=1 on $NOTIFY_SOCKET when that is set (svcwrap READY=notify,
// start-stop-daemon --notify-await). -delay D makes it wait D (a Go duration)
// between its start and listen(), like a daemon that reads its configuration
// first.
//
// -http answers every connection with a minimal HTTP response (after reading
// the request line) instead of closing it at once, and makes SIGTERM graceful:
// it closes its listener(s), answers what it accepted, then exits. -listen-fds
// serves on the sockets of LISTEN_FDS (fds 3 and up, checking LISTEN_PID), as
// under svcwrap LISTEN, instead of a socket of its own.
//
// -escapees N starts N processes that leave it, each in a session of its own:
// /bin/sh started with setsid, which forks a sleep and exits (the sleep is then an
// orphan in another session and process group). Each carries ESCAPEE_ENV=REPORT:ID
// in its environment, the benchmark's marker; once all are there, benchd reports
// "escaped ID PID NANOS".
//
// Usage: benchd -id N -report SOCKET [-listen 127.0.0.1:PORT | -listen-fds] [-http]
// [-delay D] [-notify] [-escapees N]
//
// containermaxprocs=0 keeps the runtime from holding cgroup files open.

//go:debug containermaxprocs=0
package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// escapeeEnv is the marker of an escapee (bench/escape.go has the same name).
const escapeeEnv = "SVCWRAP_BENCH_ESCAPEE"

func main() {
	t0 := time.Now().UnixNano()
	var id, report, listen string
	var delay time.Duration
	var notify, httpMode, listenFDs bool
	var escapees int
	for i := 1; i < len(os.Args); i++ {
		val := func() string {
			if i+1 < len(os.Args) {
				i++
				return os.Args[i]
			}
			return ""
		}
		switch os.Args[i] {
		case "-id":
			id = val()
		case "-report":
			report = val()
		case "-listen":
			listen = val()
		case "-delay":
			d, err := time.ParseDuration(val())
			if err != nil {
				os.Stderr.WriteString("benchd: -delay: " + err.Error() + "\n")
				os.Exit(2)
			}
			delay = d
		case "-notify":
			notify = true
		case "-http":
			httpMode = true
		case "-listen-fds":
			listenFDs = true
		case "-escapees":
			n, err := strconv.Atoi(val())
			if err != nil {
				os.Stderr.WriteString("benchd: -escapees: " + err.Error() + "\n")
				os.Exit(2)
			}
			escapees = n
		}
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	pid := strconv.Itoa(os.Getpid())
	send(report, "start "+id+" "+pid+" "+strconv.FormatInt(t0, 10))
	if delay > 0 {
		time.Sleep(delay)
	}
	var lns []net.Listener
	if listenFDs {
		n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
		if os.Getenv("LISTEN_PID") != pid || n < 1 {
			os.Stderr.WriteString("benchd: LISTEN_PID " + os.Getenv("LISTEN_PID") + " (pid " + pid + "), LISTEN_FDS " + os.Getenv("LISTEN_FDS") + "\n")
			os.Exit(1)
		}
		for fd := 3; fd < 3+n; fd++ {
			f := os.NewFile(uintptr(fd), "listen")
			ln, err := net.FileListener(f)
			if err != nil {
				os.Stderr.WriteString("benchd: fd " + strconv.Itoa(fd) + ": " + err.Error() + "\n")
				os.Exit(1)
			}
			f.Close() // FileListener holds a dup
			lns = append(lns, ln)
		}
	} else if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			os.Stderr.WriteString("benchd: " + err.Error() + "\n")
			os.Exit(1)
		}
		lns = append(lns, ln)
	}
	var inflight sync.WaitGroup
	if len(lns) > 0 {
		send(report, "listen "+id+" "+pid+" "+strconv.FormatInt(time.Now().UnixNano(), 10))
		for _, ln := range lns {
			go serve(ln, httpMode, &inflight)
		}
	}
	if escapees > 0 {
		if err := escape(escapees, report+":"+id); err != nil {
			os.Stderr.WriteString("benchd: -escapees: " + err.Error() + "\n")
			os.Exit(1)
		}
		send(report, "escaped "+id+" "+pid+" "+strconv.FormatInt(time.Now().UnixNano(), 10))
	}
	if notify {
		// A leading @ is an abstract socket: package syscall maps it to the NUL.
		send(os.Getenv("NOTIFY_SOCKET"), "READY=1")
	}
	<-sigc
	if httpMode {
		// Graceful, as a daemon that is restarted under load: accept no more,
		// answer what was accepted (bounded), then exit.
		for _, ln := range lns {
			ln.Close()
		}
		done := make(chan struct{})
		go func() { inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	os.Exit(0)
}

// serve accepts on ln until it is closed: with -http it answers each connection
// (one request line, a fixed response), otherwise it closes it at once.
func serve(ln net.Listener, httpMode bool, inflight *sync.WaitGroup) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		if !httpMode {
			c.Close()
			continue
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "GET ") {
				return
			}
			io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
		}()
	}
}

// escape starts n escapees with the marker mark and returns once each one's
// session leader has forked its sleep and exited.
func escape(n int, mark string) error {
	for i := 0; i < n; i++ {
		cmd := exec.Command("/bin/sh", "-c", "/bin/sleep 100000 &")
		cmd.Env = []string{"PATH=/usr/bin:/bin", escapeeEnv + "=" + mark}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := cmd.Run(); err != nil {
			return err
		}
	}
	return nil
}

// send writes one datagram, ignoring errors (the benchmark may be gone). The send
// blocks (up to 5 s) while the benchmark's queue is full: a unix datagram socket
// queues only net.unix.max_dgram_qlen (10) datagrams, and 200 daemons starting
// at once send more.
func send(sock, msg string) {
	if sock == "" {
		return
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return
	}
	tv := syscall.Timeval{Sec: 5}
	syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &tv)
	syscall.Sendto(fd, []byte(msg), 0, &syscall.SockaddrUnix{Name: sock})
	syscall.Close(fd)
}
