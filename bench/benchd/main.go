// Command benchd is the daemon of `make bench`: the same program under svcwrap and
// under every peer. Its first statement takes the wall-clock time, so the benchmark
// can tell when a respawned daemon began to run; it reports that time, and the time
// its TCP port accepts, as one text datagram each on the benchmark's unix socket
// ("start ID PID NANOS", "listen ID PID NANOS"). It exits 0 at once on SIGTERM or
// SIGINT and otherwise idles until killed.
//
// Usage: benchd -id N -report SOCKET [-listen 127.0.0.1:PORT]
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
	for i := 1; i+1 < len(os.Args); i += 2 {
		switch os.Args[i] {
		case "-id":
			id = os.Args[i+1]
		case "-report":
			report = os.Args[i+1]
		case "-listen":
			listen = os.Args[i+1]
		}
	}
	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	pid := strconv.Itoa(os.Getpid())
	send(report, "start "+id+" "+pid+" "+strconv.FormatInt(t0, 10))
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
