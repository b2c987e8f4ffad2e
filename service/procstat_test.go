package service

import (
	"bytes"
	"os"
	"strconv"
	"testing"
)

// readStat (bare syscalls, no allocation for the fields) agrees with a plain
// bytes.Fields parse of the same file.
func TestReadStatMatchesFields(t *testing.T) {
	pid := os.Getpid()
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+2:])
	want := procStat{State: f[0][0]}
	want.PPID, _ = strconv.Atoi(string(f[1]))
	want.PGID, _ = strconv.Atoi(string(f[2]))
	want.Session, _ = strconv.Atoi(string(f[3]))
	want.Start, _ = strconv.ParseUint(string(f[19]), 10, 64)
	want.State = st.State // R or S depending on the moment
	if st != want {
		t.Fatalf("readStat = %+v, want %+v", st, want)
	}
	if _, err := readStat(1 << 30); !os.IsNotExist(err) {
		t.Fatalf("readStat of a missing pid: %v, want not-exist", err)
	}
	for _, c := range []struct {
		in   string
		want int
	}{{"0", 0}, {"42", 42}, {"-1", -1}, {"", 0}, {"4x", 0}, {"-", 0}} {
		if got := atoiBytes([]byte(c.in)); got != c.want {
			t.Errorf("atoiBytes(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
