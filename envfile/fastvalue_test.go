package envfile

import (
	"reflect"
	"testing"
)

// The shortcut for values without $ or \ gives exactly what godotenv gives, for
// every value of up to four characters from an alphabet of the tricky ones.
func TestValueShortcutMatchesGodotenv(t *testing.T) {
	alphabet := []string{" ", "\t", "a", "#", `"`, "'", "é", "\u00a0", "\u0085", "=", "\n", "$"}
	var values []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		values = append(values, prefix)
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(prefix+c, n-1)
		}
	}
	gen("", 4)
	defer func() { fastValues = true }()
	for _, v := range values {
		for _, line := range []string{"K=" + v + "\nL=x\n", "K=" + v, "K='" + v + "'\n", `K="` + v + `"` + "\n", "K= " + v + " # c\n"} {
			fastValues = true
			f1, err1 := Parse("f", []byte(line), map[string]string{"A": "1"})
			fastValues = false
			f2, err2 := Parse("f", []byte(line), map[string]string{"A": "1"})
			if !reflect.DeepEqual(f1, f2) || !reflect.DeepEqual(err1, err2) {
				t.Fatalf("%q: shortcut %+v, %v; godotenv %+v, %v", line, f1, err1, f2, err2)
			}
		}
	}
}
