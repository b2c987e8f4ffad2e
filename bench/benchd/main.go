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
// Usage: benchd -id N -report SOCKET [-listen 127.0.0.1:PORT] [-delay D] [-notify]
//
// containermaxprocs=0 keeps the runtime from holding cgroup files open.

//go:debug containermaxprocs=0
package main

import (
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	t0 := time.Now().UnixNano()
	var id, report, listen string
	var delay time.Duration
	var notify bool
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
		}
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	pid := strconv.Itoa(os.Getpid())
	send(report, "start "+id+" "+pid+" "+strconv.FormatInt(t0, 10))
	if delay > 0 {
		time.Sleep(delay)
	}
	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			os.Stderr.WriteString("benchd: " + err.Error() + "\n")
			os.Exit(1)
		}
		send(report, "listen "+id+" "+pid+" "+strconv.FormatInt(time.Now().UnixNano(), 10))
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
	}
	if notify {
		// A leading @ is an abstract socket: package syscall maps it to the NUL.
		send(os.Getenv("NOTIFY_SOCKET"), "READY=1")
	}
	<-sigc
	os.Exit(0)
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
