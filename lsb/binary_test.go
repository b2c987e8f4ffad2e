package lsb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// probeProgram uses everything in the package that touches the markers.
const probeProgram = `package main

import (
	"fmt"
	"io"
	"os"

	"svcwrap/lsb"
)

func main() {
	h := &lsb.Header{Provides: []string{"probe"}, DefaultStart: []string{"2", "3"}}
	text := h.Format()
	in, _ := io.ReadAll(os.Stdin)
	g, err := lsb.ParseHeader(in)
	fmt.Print(text)
	fmt.Println(lsb.BeginMarker(), lsb.EndMarker(), g.Provides, err)
	_, err = lsb.ParseHeader([]byte(lsb.BeginMarker()))
	fmt.Println(err)
	r := lsb.NewReporter(os.Stdout, os.Stderr)
	r.Begin("Starting", "probe", "probe")
	r.End(true)
}
`

// foldedProgram holds the marker as a folded constant: the check below
// must find it, which shows that the check works.
const foldedProgram = `package main

const marker = "### BEGIN " + "INIT INFO"

func main() { println(marker) }
`

// buildProbe compiles src inside this module into dir and returns the
// binary's path.
func buildProbe(t *testing.T, dir, name, src string) string {
	t.Helper()
	file := filepath.Join(dir, name+".go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", bin, file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	return bin
}

// TestBinaryHasNoMarker checks that a program built with this package
// does not contain the line that opens a header, which would make insserv
// take every symlink to svcwrap for a script providing a facility.
func TestBinaryHasNoMarker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	begin := []byte("### BEGIN INIT INFO")
	dir := t.TempDir()

	bin := buildProbe(t, dir, "probe", probeProgram)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.Index(data, begin); i >= 0 {
		t.Errorf("%s contains %q at offset %d", bin, begin, i)
	}
	// The markers are still made at run time.
	cmd := exec.Command(bin)
	cmd.Stdin = strings.NewReader("#!/bin/sh\n### BEGIN INIT INFO\n# Provides: in\n### END INIT INFO\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	want := "### BEGIN INIT INFO\n" +
		"# Provides:          probe\n" +
		"# Default-Start:     2 3\n" +
		"### END INIT INFO\n" +
		"### BEGIN INIT INFO ### END INIT INFO [in] <nil>\n" +
		`line 1: "### BEGIN INIT INFO" without "### END INIT INFO"` + "\n" +
		"Starting probe.\n"
	if string(out) != want {
		t.Errorf("probe printed\n%s\nwant\n%s", out, want)
	}

	folded := buildProbe(t, dir, "folded", foldedProgram)
	data, err = os.ReadFile(folded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, begin) {
		t.Errorf("the check is blind: %s lacks the folded constant", folded)
	}
}
