package service

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
		{0, []time.Duration{0, 10 * ms, 20 * ms, 40 * ms}},
		{time.Minute, []time.Duration{time.Minute, time.Minute, time.Minute}},
	} {
		var prev time.Duration
		for i, want := range c.delay {
			var got time.Duration
			got, prev = nextBackoff(prev, c.base)
			if got != want {
				t.Errorf("RESPAWN_DELAY=%v, quick death %d: delay %v, want %v", c.base, i+1, got, want)
			}
		}
	}
}
