package watchdog

import (
	"strconv"
	"time"
)

// quickDeath is how long a daemon must run for its death to respawn at once and
// reset the backoff (RESPAWN_DELAY in svcwrap(5)).
const quickDeath = 10 * time.Second

// minBackoff is the least time between two starts with RESPAWN_DELAY=0.
const minBackoff = 10 * time.Millisecond

// maxBackoff caps the doubling of RESPAWN_DELAY.
const maxBackoff = 30 * time.Second

// nextBackoff is the respawn delay after a quick death of a daemon that ran for
// ran, and the backoff kept for the next one. prev is the kept backoff (0 after a
// stable run), base RESPAWN_DELAY.
//
// With a RESPAWN_DELAY, the first quick death waits base and each further one
// doubles the wait, up to maxBackoff, or base when that is longer (a longer
// RESPAWN_DELAY never shrinks).
//
// RESPAWN_DELAY=0 asks for no delay, and doubling nothing leaves nothing: the
// daemon is respawned at once, but never sooner than minBackoff after it was
// started. That is a rate limit (at most 100 spawns a second, and RESPAWN_LIMIT
// ends the loop), never a busy loop, and a daemon killed after it ran 10 ms or
// more is respawned at once however often it happens.
func nextBackoff(prev, base, ran time.Duration) (delay, next time.Duration) {
	if base == 0 {
		return max(0, minBackoff-ran), 0
	}
	delay = prev
	if delay == 0 {
		delay = base
	}
	next = min(delay*2, max(maxBackoff, base))
	return delay, next
}

// formatSize prints a byte count the way MAX_RSS is written: 64M, 1.5M, 512K, 1G.
func formatSize(n int64) string {
	units := []struct {
		s string
		v int64
	}{{"T", 1 << 40}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}}
	for _, u := range units {
		switch {
		case n >= u.v && n%u.v == 0:
			return strconv.FormatInt(n/u.v, 10) + u.s
		case n >= 10*u.v:
			return strconv.FormatInt(n/u.v, 10) + u.s
		case n >= u.v:
			return strconv.FormatFloat(float64(n)/float64(u.v), 'f', 1, 64) + u.s
		}
	}
	return strconv.FormatInt(n, 10)
}
