// Command demod is the demo daemon of `make demo`: it serves a greeting on a TCP
// port, says what it got on stdout (which svcwrap sends to the service log), and
// reopens nothing on SIGUSR1 but says so, like a daemon asked to rotate its logs.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:0", "TCP address to serve on")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demod: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("demod %d: serving on %s (GREETING=%q)\n", os.Getpid(), ln.Addr(), os.Getenv("GREETING"))
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s from demod %d\n", os.Getenv("GREETING"), os.Getpid())
			c.Close()
		}
	}()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	for s := range sigs {
		switch s {
		case syscall.SIGUSR1:
			fmt.Printf("demod %d: SIGUSR1: reopening logs\n", os.Getpid())
		case syscall.SIGHUP:
			fmt.Printf("demod %d: SIGHUP: reloading configuration\n", os.Getpid())
		default:
			fmt.Printf("demod %d: %v: exiting\n", os.Getpid(), s)
			return
		}
	}
}
