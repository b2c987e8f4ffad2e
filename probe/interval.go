package probe

import "time"

// Interval is the pause before the next READY probe, given how long the start
// has taken so far: an eighth of it, between 250µs and 500ms. A daemon that
// starts listening after T is then seen at most about T/8 late (a fixed 5 ms first
// pause made `start` return 5 ms after a daemon that listens in 1 ms), and a slow
// one costs a probe every 500ms: some 90 connects over a 30 s START_TIMEOUT.
func Interval(elapsed time.Duration) time.Duration {
	return min(max(elapsed/8, 250*time.Microsecond), 500*time.Millisecond)
}
