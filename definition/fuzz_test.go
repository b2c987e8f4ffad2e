package definition

import (
	"reflect"
	"strconv"
	"svcwrap/proc"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The fuzz targets check that no parser panics and that whatever parses reads back
// unchanged from its canonical form. Seeds are in testdata/fuzz/<FuzzName>/.

func FuzzParseSchedule(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		sch, err := ParseSchedule(s)
		if err != nil {
			return
		}
		if len(sch.Steps) == 0 || sch.Total() > time.Hour && !sch.Forever() || sch.Steps[len(sch.Steps)-1].Timeout <= 0 {
			t.Fatalf("%q gave a schedule out of bounds: %+v", s, sch)
		}
		for _, st := range sch.Steps {
			if st.Signal < 1 || st.Signal > 64 || st.Timeout < 0 {
				t.Fatalf("%q gave a bad step: %+v", s, st)
			}
		}
		again, err := ParseSchedule(sch.String())
		if err != nil || !reflect.DeepEqual(again, sch) || again.String() != sch.String() {
			t.Fatalf("%q: %q reads back as %+v, %v; want %+v", s, sch.String(), again, err, sch)
		}
	})
}

func FuzzParseSignal(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		sig, err := ParseSignal(s)
		if err != nil {
			return
		}
		if sig < 1 || sig > 64 {
			t.Fatalf("%q gave signal %d", s, sig)
		}
		if again, err := ParseSignal(proc.SignalName(sig)); err != nil || again != sig {
			t.Fatalf("%q: %q reads back as %d, %v; want %d", s, proc.SignalName(sig), again, err, sig)
		}
	})
}

func FuzzParseSize(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("%q gave %d", s, n)
		}
		if again, err := ParseSize(strconv.FormatInt(n, 10)); err != nil || again != n {
			t.Fatalf("%q: %d reads back as %d, %v", s, n, again, err)
		}
	})
}

func FuzzParseWindow(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseWindow(s)
		if err != nil {
			return
		}
		if w.N < 1 || w.Within <= 0 {
			t.Fatalf("%q gave %+v", s, w)
		}
		if again, err := ParseWindow(w.String()); err != nil || again != w {
			t.Fatalf("%q: %q reads back as %+v, %v; want %+v", s, w.String(), again, err, w)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("%q gave %v", s, d)
		}
		for _, form := range []string{d.String(), shortDuration(d)} {
			if again, err := ParseDuration(form); err != nil || again != d {
				t.Fatalf("%q: %q reads back as %v, %v; want %v", s, form, again, err, d)
			}
		}
	})
}

func FuzzParseProbe(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseProbe(s)
		if err != nil {
			return
		}
		if p.Target == "" {
			t.Fatalf("%q gave an empty target: %+v", s, p)
		}
		if again, err := ParseProbe(p.String()); err != nil || again != p {
			t.Fatalf("%q: %q reads back as %+v, %v; want %+v", s, p.String(), again, err, p)
		}
	})
}

func FuzzParseLimit(f *testing.F) {
	format := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		l, err := ParseLimit(name, value)
		if err != nil {
			return
		}
		if l.Soft > l.Hard {
			t.Fatalf("%q=%q gave soft %d above hard %d", name, value, l.Soft, l.Hard)
		}
		text := format(l.Soft) + ":" + format(l.Hard)
		if l.BestEffort {
			text += "?"
		}
		if again, err := ParseLimit(l.Name, text); err != nil || again != l {
			t.Fatalf("%q=%q: %s=%s reads back as %+v, %v; want %+v", name, value, l.Name, text, again, err, l)
		}
	})
}
