package watchdog

import (
	"testing"
	"time"
)

func TestNextBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		base  time.Duration
		delay []time.Duration // successive quick deaths
	}{
		{100 * ms, []time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 12800 * ms, 25600 * ms, 30 * time.Second, 30 * time.Second}},
		{time.Minute, []time.Duration{time.Minute, time.Minute, time.Minute}},
	} {
		var prev time.Duration
		for i, want := range c.delay {
			var got time.Duration
			got, prev = nextBackoff(prev, c.base, 0)
			if got != want {
				t.Errorf("RESPAWN_DELAY=%v, quick death %d: delay %v, want %v", c.base, i+1, got, want)
			}
		}
	}
}

// RESPAWN_DELAY=0: at once, but never sooner than minBackoff after the last start,
// however many quick deaths came before.
func TestNextBackoffZeroDelay(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct{ ran, want time.Duration }{
		{0, 10 * ms}, {1 * ms, 9 * ms}, {10 * ms, 0}, {5 * time.Second, 0},
	} {
		for i := 0; i < 20; i++ {
			if got, next := nextBackoff(0, 0, c.ran); got != c.want || next != 0 {
				t.Fatalf("RESPAWN_DELAY=0, ran %v: delay %v (kept %v), want %v (kept 0)", c.ran, got, next, c.want)
			}
		}
	}
}
