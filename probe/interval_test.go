package probe

import (
	"testing"
	"time"
)

func TestInterval(t *testing.T) {
	for _, c := range []struct{ elapsed, want time.Duration }{
		{0, 250 * time.Microsecond},
		{time.Millisecond, 250 * time.Microsecond},
		{8 * time.Millisecond, time.Millisecond},
		{time.Second, 125 * time.Millisecond},
		{time.Hour, 500 * time.Millisecond},
	} {
		if got := Interval(c.elapsed); got != c.want {
			t.Errorf("Interval(%v) = %v, want %v", c.elapsed, got, c.want)
		}
	}
	// START_TIMEOUT's default of 30 s takes a bounded number of probes.
	n, at := 0, time.Duration(0)
	for at < 30*time.Second {
		at += Interval(at)
		n++
	}
	if n > 150 {
		t.Errorf("%d probes over 30 s", n)
	}
}
