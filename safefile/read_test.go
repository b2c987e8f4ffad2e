package safefile

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Read (readAllFd) returns every byte of files around its buffer sizes,
// and refuses one over the limit.
func TestReadSizes(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 1, 511, 512, 513, 4096, 70000} {
		want := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(p, 1<<20)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: got %d bytes, %v", n, len(got), err)
		}
		if n > 0 {
			if _, err := Read(p, int64(n-1)); err == nil {
				t.Fatalf("%d bytes read with a limit of %d", n, n-1)
			}
		}
	}
}
