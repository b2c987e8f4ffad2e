package proc

import (
	"bytes"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// ReadStat (bare syscalls, no allocation for the fields) agrees with a plain
// bytes.Fields parse of the same file.
func TestReadStatMatchesFields(t *testing.T) {
	// A sleeping child, read until two reads agree (bounded): its RSS may move
	// while it execs and loads, the test process's own with the runtime's work.
	cmd := exec.Command("/bin/sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := cmd.Process.Pid
	var st, want Stat
	for try := 0; ; try++ {
		var err error
		st, err = ReadStat(pid)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		f := bytes.Fields(b[bytes.LastIndexByte(b, ')')+2:])
		want = Stat{State: f[0][0]}
		want.PPID, _ = strconv.Atoi(string(f[1]))
		want.PGID, _ = strconv.Atoi(string(f[2]))
		want.Session, _ = strconv.Atoi(string(f[3]))
		want.Start, _ = strconv.ParseUint(string(f[19]), 10, 64)
		want.RSS, _ = strconv.ParseInt(string(f[21]), 10, 64)
		want.State = st.State // R or S depending on the moment
		if st == want || try == 100 {
			break
		}
	}
	if st != want {
		t.Fatalf("ReadStat = %+v, want %+v", st, want)
	}
	if _, err := ReadStat(1 << 30); !os.IsNotExist(err) {
		t.Fatalf("ReadStat of a missing pid: %v, want not-exist", err)
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
