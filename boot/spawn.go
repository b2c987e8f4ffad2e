package boot

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Spawner starts a process and tells its end. Boot and shutdown run every
// script through one: plainly (a goroutine waits for each child), or through
// a Reaper when svcwrap is init and must reap every orphan besides.
type Spawner interface {
	// Start runs argv with env; files are its fds 0, 1, 2. With pgrp it leads a
	// process group of its own (which a timeout kills whole). done yields its
	// wait status once.
	Start(argv, env []string, files []*os.File, pgrp bool) (pid int, done <-chan unix.WaitStatus, err error)
}

func forkExec(argv, env []string, files []*os.File, pgrp bool) (int, error) {
	fds := make([]uintptr, len(files))
	for i, f := range files {
		fds[i] = f.Fd()
	}
	return syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Dir: "/", Env: env, Files: fds,
		Sys: &syscall.SysProcAttr{Setpgid: pgrp}})
}

// Plain is the Spawner of a svcwrap that is not init: a goroutine waits for
// each child.
type Plain struct{}

func (Plain) Start(argv, env []string, files []*os.File, pgrp bool) (int, <-chan unix.WaitStatus, error) {
	pid, err := forkExec(argv, env, files, pgrp)
	if err != nil {
		return 0, nil, err
	}
	done := make(chan unix.WaitStatus, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
		done <- ws
	}()
	return pid, done, nil
}

// Reaper reaps every child of this process, its own and the orphans that the
// kernel hands to init (or to a child subreaper), on SIGCHLD. The children it
// started are registered under the same lock as their fork, so that an exit
// reaped at once still finds its waiter.
type Reaper struct {
	mu      sync.Mutex
	mine    map[int]chan unix.WaitStatus
	reaped  int           // orphans reaped (for the log)
	changed chan struct{} // closed and replaced after every batch of reaps
	none    bool          // the last wait4 said there are no children
	sigc    chan os.Signal
}

// NewReaper starts reaping.
func NewReaper() *Reaper {
	r := &Reaper{mine: map[int]chan unix.WaitStatus{}, changed: make(chan struct{}), sigc: make(chan os.Signal, 1)}
	signal.Notify(r.sigc, unix.SIGCHLD)
	go r.loop()
	return r
}

func (r *Reaper) loop() {
	for {
		r.reap()
		<-r.sigc
	}
}

// reap waits for every child that has exited, without blocking.
func (r *Reaper) reap() {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		r.mu.Lock()
		if pid > 0 {
			if ch, ok := r.mine[pid]; ok {
				delete(r.mine, pid)
				ch <- ws
			} else {
				r.reaped++
			}
			r.mu.Unlock()
			continue
		}
		r.none = err == unix.ECHILD
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
		return
	}
}

func (r *Reaper) Start(argv, env []string, files []*os.File, pgrp bool) (int, <-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pid, err := forkExec(argv, env, files, pgrp)
	if err != nil {
		return 0, nil, err
	}
	done := make(chan unix.WaitStatus, 1)
	r.mine[pid] = done
	r.none = false
	return pid, done, nil
}

// Orphans is how many processes that were not its own it has reaped.
func (r *Reaper) Orphans() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reaped
}

// WaitNoChildren waits until this process has no child left, or until the
// deadline; it reports whether none is left.
func (r *Reaper) WaitNoChildren(deadline time.Time) bool {
	for {
		r.reap()
		r.mu.Lock()
		none, ch := r.none, r.changed
		r.mu.Unlock()
		if none {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}
