package service

import "time"

// nextBackoff is the respawn delay after a quick death and the backoff kept for the
// next one. prev is the kept backoff (0 after a stable run), base RESPAWN_DELAY.
// The first quick death waits base; each further one doubles the wait, at least
// minBackoff (so RESPAWN_DELAY=0 never becomes a busy loop) and at most maxBackoff,
// or base when that is longer (a longer RESPAWN_DELAY never shrinks).
func nextBackoff(prev, base time.Duration) (delay, next time.Duration) {
	delay = prev
	if delay == 0 {
		delay = base
	}
	next = min(max(delay*2, minBackoff), max(maxBackoff, base))
	return delay, next
}
