package proc

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// GroupAlive reports whether any live (non-zombie) process is left in process
// group pgid. The kernel gives no event when a group becomes empty, so callers
// poll this with a bound; kill(-pgid, 0) answers the common case without a /proc
// scan.
func GroupAlive(pgid int) bool {
	if pgid <= 1 {
		return false
	}
	if err := unix.Kill(-pgid, 0); errors.Is(err, unix.ESRCH) {
		return false
	}
	// Members exist, but zombies count as dead.
	alive := false
	Each(func(pid int) bool {
		if st, err := ReadStat(pid); err == nil && st.PGID == pgid && !st.Dead() {
			alive = true
		}
		return !alive
	})
	return alive
}

// WaitGroupEmpty polls, with a backoff from 0.2 ms to 50 ms, until no live process
// is left in the group, or the deadline; it reports whether the group is empty.
func WaitGroupEmpty(pgid int, deadline time.Time) bool {
	wait := 200 * time.Microsecond
	for {
		if !GroupAlive(pgid) {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		t := time.NewTimer(min(wait, left))
		<-t.C
		wait = min(wait*2, 50*time.Millisecond)
	}
}

// GroupRSS is the resident memory of a process: the sum over its process group
// when it leads one (workers count: a leaking worker is the daemon leaking), else
// of the process alone. As with summing ps's RSS column, a page shared by several
// processes counts once per process.
func GroupRSS(pid int) (int64, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return 0, err
	}
	page := int64(os.Getpagesize())
	rss := st.RSS
	if st.PGID == pid {
		Each(func(other int) bool {
			if other != pid {
				if o, err := ReadStat(other); err == nil && o.PGID == pid {
					rss += o.RSS
				}
			}
			return true
		})
	}
	return rss * page, nil
}
