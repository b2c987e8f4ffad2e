package service

import "time"

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
