package safefile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Lock is a command lock (flock) on a file that is never deleted, so two commands
// can never hold locks on two different inodes.
type Lock struct{ f *os.File }

func openLockFile(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), path), nil
}

// AcquireLock takes the lock at path, waiting at most timeout. While waiting, a
// blocking flock runs in a goroutine; the error names the PID of the holder, which
// the file holds.
func AcquireLock(path string, timeout time.Duration) (*Lock, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		done := make(chan error, 1)
		go func() { done <- flockRetry(int(f.Fd())) }()
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case err := <-done:
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("lock %s: %w", path, err)
			}
		case <-t.C:
			b, _ := os.ReadFile(path)
			holder := strings.TrimSpace(string(b))
			return nil, fmt.Errorf("another svcwrap command (pid %s) has held %s for %v; wait for it or stop it", holder, path, timeout)
		}
	}
	// Our PID, for the message of a command that times out waiting. Written over
	// the old one, then cut to its length: never truncated to 0, which on ext4
	// frees the block (a synchronous discard on a filesystem mounted with
	// -o discard: 80-370 us on a VM, more when idle) and makes close(2) start a
	// writeback (auto_da_alloc), in every locked command when RUNDIR is not a
	// tmpfs.
	line := []byte(strconv.Itoa(os.Getpid()) + "\n")
	f.WriteAt(line, 0)
	f.Truncate(int64(len(line)))
	return &Lock{f: f}, nil
}

func flockRetry(fd int) error {
	for {
		err := unix.Flock(fd, unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// Release drops the lock.
func (l *Lock) Release() {
	if l != nil && l.f != nil {
		l.f.Close()
	}
}

// HoldLock takes the lock at path for the caller's whole life as an
// open-file-description lock: it goes away with the process (the fd is CLOEXEC,
// so no child ever inherits it), and others can test it with Held without taking
// it, so a status check can never make the holder fail to get it.
//
// A holder that just exited may still be in the kernel's exit path: /proc already
// shows it without a command line, but its files (and so this lock) are released
// a moment later. HoldLock waits for that, up to wait, polling with a backoff: the
// kernel has no event for "lock released" that a bounded wait could use.
func HoldLock(path string, wait time.Duration) (*os.File, error) {
	f, err := openLockFile(path)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	pause := 500 * time.Microsecond
	for {
		lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
		err := unix.FcntlFlock(f.Fd(), unix.F_OFD_SETLK, &lk)
		if err == nil {
			return f, nil
		}
		if (err != unix.EAGAIN && err != unix.EACCES) || time.Now().After(deadline) {
			f.Close()
			return nil, err
		}
		time.Sleep(pause)
		pause = min(2*pause, 50*time.Millisecond)
	}
}

// Held reports whether some process holds the HoldLock lock at path.
func Held(path string) bool {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0}
	if err := unix.FcntlFlock(uintptr(fd), unix.F_OFD_GETLK, &lk); err != nil {
		return false
	}
	return lk.Type != unix.F_UNLCK
}

// SameFile reports whether the open file f is still the file at path (after a
// directory was removed and made again, a held lock is on an unlinked inode,
// invisible to others).
func SameFile(f *os.File, path string) bool {
	var held, cur unix.Stat_t
	return f != nil && unix.Fstat(int(f.Fd()), &held) == nil && unix.Stat(path, &cur) == nil &&
		held.Dev == cur.Dev && held.Ino == cur.Ino
}
