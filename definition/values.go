package definition

// Parsers for the values of definition keys. Each parser returns a plain error that
// says what is wrong with the value and what is accepted; the caller prefixes it with
// "file:line: KEY: ". No parser panics, whatever its input.

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/sys/unix"

	"svcwrap/probe"
	"svcwrap/proc"
)

// badValue builds the error for a rejected value: `"5x": not a duration (use ...)`.
func badValue(s, problem, hint string) error {
	if s == "" {
		return fmt.Errorf("empty value (%s)", hint)
	}
	return fmt.Errorf("%s: %s (%s)", quoteValue(s), problem, hint)
}

// quoteValue quotes a value for a message, cut short when it is long.
func quoteValue(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// upperASCII upper-cases ASCII letters only, so that no exotic Unicode letter folds
// into a valid keyword.
func upperASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'a' <= r && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}

// isDigits reports whether s is a non-empty run of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// shortDuration is time.Duration.String without zero trailing units: "1m", "1h", "1h30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

const durationHint = "use Go syntax like 500ms or 10s, or plain seconds"

// digitsEnd is the index after the run of ASCII digits that starts at i.
func digitsEnd(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// isPlainSeconds matches [0-9]+(\.[0-9]+)?
func isPlainSeconds(s string) bool {
	i := digitsEnd(s, 0)
	if i == 0 || i == len(s) {
		return i > 0
	}
	j := digitsEnd(s, i+1)
	return s[i] == '.' && j > i+1 && j == len(s)
}

// durationUnits are the units of Go's duration syntax; "ms" before "m".
var durationUnits = []string{"ns", "us", "µs", "μs", "ms", "s", "m", "h"}

// isGoDuration matches Go's duration syntax without a sign:
// (([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+
func isGoDuration(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); {
		j := digitsEnd(s, i)
		switch {
		case j > i && j < len(s) && s[j] == '.':
			j = digitsEnd(s, j+1)
		case j == i && s[i] == '.':
			if j = digitsEnd(s, i+1); j == i+1 {
				return false
			}
		case j == i:
			return false
		}
		unit := 0
		for _, u := range durationUnits {
			if strings.HasPrefix(s[j:], u) {
				unit = len(u)
				break
			}
		}
		if unit == 0 {
			return false
		}
		i = j + unit
	}
	return true
}

// ParseDuration parses a duration in Go syntax ("500ms", "1m30s") or in plain,
// possibly fractional, seconds ("5", "1.5"). Zero is allowed; negative values and
// values beyond time.Duration's range are rejected.
func ParseDuration(s string) (time.Duration, error) {
	t := s
	if isPlainSeconds(t) {
		t += "s"
	}
	switch {
	case strings.HasPrefix(s, "-"):
		return 0, badValue(s, "negative durations are not allowed", durationHint)
	case !isGoDuration(t):
		return 0, badValue(s, "not a duration", durationHint)
	}
	d, err := time.ParseDuration(t)
	if err != nil { // the syntax is right, so the value is out of range
		return 0, badValue(s, "too long", "at most about 2562047h")
	}
	return d, nil
}

const sizeHint = "use bytes, or a whole number with K, M, G or T, like 512K or 10M"

var sizeUnits = map[string]int64{
	"": 1, "B": 1,
	"K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10,
	"M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
	"G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30,
	"T": 1 << 40, "TB": 1 << 40, "TIB": 1 << 40,
}

// ParseSize parses a byte count: "1048576", "512K", "10M", "1G", "2T". A unit may be
// written K, KB or KiB in any case; all units are powers of 1024. Zero is allowed.
func ParseSize(s string) (int64, error) {
	return parseSize(s, sizeHint)
}

// parseSize is ParseSize with the hint of its messages about syntax.
func parseSize(s, hint string) (int64, error) {
	// [0-9]+[A-Za-z]*
	i := digitsEnd(s, 0)
	m := []string{s, s[:i], s[i:]}
	if i == 0 || strings.IndexFunc(m[2], func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) >= 0 {
		if strings.HasPrefix(s, "-") {
			return 0, badValue(s, "negative sizes are not allowed", hint)
		}
		return 0, badValue(s, "not a size", hint)
	}
	mult, ok := sizeUnits[upperASCII(m[2])]
	if !ok {
		return 0, badValue(s, "unknown unit "+strconv.Quote(m[2]), "use K, M, G or T, optionally followed by B or iB")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, badValue(s, "too large", "at most 9223372036854775807 bytes")
	}
	return n * mult, nil
}

const signalHint = "use a name like HUP, INT, QUIT, KILL, USR1, USR2, TERM or RTMIN+N, or a number 1-64"

// signalNumbers maps names without "SIG" (HUP) to numbers, for this architecture.
var signalNumbers = func() map[string]unix.Signal {
	m := map[string]unix.Signal{}
	for n := unix.Signal(1); n < proc.SigRTMin; n++ {
		if name := unix.SignalName(n); name != "" {
			m[strings.TrimPrefix(name, "SIG")] = n
		}
	}
	for alias, name := range map[string]string{"IOT": "ABRT", "POLL": "IO", "CLD": "CHLD"} {
		if n, ok := m[name]; ok {
			m[alias] = n
		}
	}
	return m
}()

// ParseSignal parses a signal name ("HUP", "SIGHUP", "hup"), a real-time signal
// ("RTMIN", "RTMIN+3", "RTMAX-2") or a number from 1 to 64.
func ParseSignal(s string) (unix.Signal, error) {
	if isDigits(s) {
		n, err := strconv.Atoi(s)
		switch {
		case err == nil && n == 0:
			return 0, badValue(s, "signal 0 sends nothing", signalHint)
		case err != nil || n > proc.SigRTMax:
			return 0, badValue(s, "no such signal", signalHint)
		}
		return unix.Signal(n), nil
	}
	name := upperASCII(s)
	name = strings.TrimPrefix(name, "SIG")
	if sig, ok := signalNumbers[name]; ok {
		return sig, nil
	}
	var base, sign int
	var off string
	switch {
	case name == "RTMIN":
		return proc.SigRTMin, nil
	case name == "RTMAX":
		return proc.SigRTMax, nil
	case strings.HasPrefix(name, "RTMIN+"):
		base, sign, off = proc.SigRTMin, 1, name[len("RTMIN+"):]
	case strings.HasPrefix(name, "RTMAX-"):
		base, sign, off = proc.SigRTMax, -1, name[len("RTMAX-"):]
	}
	if !isDigits(off) {
		return 0, badValue(s, "unknown signal", signalHint)
	}
	n, err := strconv.Atoi(off)
	if err != nil || n > proc.SigRTMax-proc.SigRTMin {
		return 0, badValue(s, "out of range", "RTMIN+N and RTMAX-N take N from 0 to 30")
	}
	return unix.Signal(base + sign*n), nil
}

// Schedule is a stop schedule: its steps are run in order until the process is gone.
type Schedule struct {
	Steps []proc.Step
}

// maxScheduleWait bounds the total wait of a stop schedule.
const maxScheduleWait = time.Hour

const scheduleHint = "use start-stop-daemon --retry syntax like TERM/10/KILL/5, or a timeout alone"

// ParseSchedule parses a stop schedule in the grammar of start-stop-daemon --retry:
// items separated by "/", each a signal ("TERM", "-TERM", "-15"), or a timeout in
// seconds or Go syntax ("10", "500ms"). A bare number is a timeout, never a signal. A
// timeout alone, "T", means TERM/T/KILL/T. A timeout applies to the signal before it
// (signals in a row get timeout 0; timeouts in a row add up). The schedule must start
// with a signal and end with a timeout greater than 0, and may wait at most 1h in
// total, or end with "forever" after its last signal (start-stop-daemon's: wait
// without a bound; a definition must also say STOP_FOREVER=yes).
func ParseSchedule(s string) (Schedule, error) {
	if s == "" {
		return Schedule{}, badValue(s, "", scheduleHint)
	}
	items := strings.Split(s, "/")
	forever := false
	for i, it := range items {
		if strings.EqualFold(it, "forever") {
			if i != len(items)-1 || i == 0 || isTimeoutItem(items[i-1]) {
				return Schedule{}, badValue(s, `"forever" may only follow the last signal`, "like TERM/10/KILL/forever: wait for ever after KILL")
			}
			forever, items = true, items[:i]
		}
	}
	if forever {
		sch, err := ParseSchedule(strings.Join(items, "/") + "/1")
		if err != nil {
			return Schedule{}, err
		}
		sch.Steps[len(sch.Steps)-1].Timeout = proc.Forever
		return sch, nil
	}
	if len(items) == 1 {
		if !isTimeoutItem(s) {
			return Schedule{}, badValue(s, "a schedule of one item must be a timeout", "10 alone means TERM/10/KILL/10; to send one signal give its timeout, like TERM/10")
		}
		if _, err := ParseDuration(s); err != nil {
			return Schedule{}, err
		}
		items = []string{"TERM", s, "KILL", s}
	}
	var sch Schedule
	var total time.Duration
	for _, it := range items {
		switch {
		case it == "":
			return Schedule{}, badValue(s, "empty item between slashes", scheduleHint)
		case isTimeoutItem(it):
			d, err := ParseDuration(it)
			if err != nil {
				return Schedule{}, fmt.Errorf("%s: %w", quoteValue(s), err)
			}
			if len(sch.Steps) == 0 {
				return Schedule{}, badValue(s, "starts with a timeout", "begin with the signal to send, like TERM/10")
			}
			if d > maxScheduleWait-total {
				return Schedule{}, badValue(s, "waits more than 1h in total", "shorten the timeouts")
			}
			total += d
			sch.Steps[len(sch.Steps)-1].Timeout += d
		default:
			sig, err := ParseSignal(strings.TrimPrefix(it, "-"))
			if err != nil {
				return Schedule{}, fmt.Errorf("%s: %w", quoteValue(s), err)
			}
			sch.Steps = append(sch.Steps, proc.Step{Signal: sig})
		}
	}
	last := sch.Steps[len(sch.Steps)-1]
	switch {
	case !isTimeoutItem(items[len(items)-1]):
		return Schedule{}, badValue(s, "ends with a signal", "end with a timeout that bounds the wait after it, like TERM/10/KILL/5")
	case last.Timeout == 0:
		return Schedule{}, badValue(s, "the last timeout is 0", "it bounds the wait after the last signal and must be more than 0")
	}
	return sch, nil
}

// isTimeoutItem reports whether a schedule item is a timeout rather than a signal.
func isTimeoutItem(it string) bool {
	return it != "" && (it[0] >= '0' && it[0] <= '9' || it[0] == '.')
}

// String gives the schedule in canonical form, "TERM/10s/KILL/5s"; ParseSchedule
// reads it back to the same schedule. Steps with timeout 0 are written without one.
func (s Schedule) String() string {
	var parts []string
	for _, st := range s.Steps {
		name := proc.SignalName(st.Signal)
		if isTimeoutItem(name) {
			name = "-" + name // a bare number would read as a timeout
		}
		parts = append(parts, name)
		switch {
		case st.Timeout == proc.Forever:
			parts = append(parts, "forever")
		case st.Timeout != 0:
			parts = append(parts, shortDuration(st.Timeout))
		}
	}
	return strings.Join(parts, "/")
}

// Total is the longest time the schedule waits: the sum of its timeouts
// (proc.Forever when it ends with "forever").
func (s Schedule) Total() time.Duration {
	var t time.Duration
	for _, st := range s.Steps {
		if st.Timeout == proc.Forever {
			return proc.Forever
		}
		t += st.Timeout
	}
	return t
}

// Forever reports whether the schedule ends with "forever".
func (s Schedule) Forever() bool {
	return len(s.Steps) > 0 && s.Steps[len(s.Steps)-1].Timeout == proc.Forever
}

// Window is a respawn limit: at most N respawns within any period of length Within.
type Window struct {
	N      int
	Within time.Duration
}

const windowHint = "use N/WINDOW like 10/60s: at most N respawns within WINDOW"

// ParseWindow parses "N/WINDOW": "10/60s", "5/1m", "3/30" (plain seconds). N must be
// at least 1 and WINDOW more than 0.
func ParseWindow(s string) (Window, error) {
	n, win, ok := strings.Cut(s, "/")
	if !ok {
		return Window{}, badValue(s, "not N/WINDOW", windowHint)
	}
	if !isDigits(n) {
		return Window{}, badValue(s, "N is not a whole number", windowHint)
	}
	count, err := strconv.Atoi(n)
	switch {
	case err != nil:
		return Window{}, badValue(s, "N is too large", windowHint)
	case count < 1:
		return Window{}, badValue(s, "N must be at least 1", windowHint)
	}
	d, err := ParseDuration(win)
	switch {
	case err != nil:
		return Window{}, fmt.Errorf("%s: %w", quoteValue(s), err)
	case d == 0:
		return Window{}, badValue(s, "the window must be longer than 0", windowHint)
	}
	return Window{N: count, Within: d}, nil
}

// String gives the window as "10/1m"; ParseWindow reads it back.
func (w Window) String() string {
	return strconv.Itoa(w.N) + "/" + shortDuration(w.Within)
}

// ExitSet is the set of exits that count as normal: exit codes, and signals that
// killed the process.
type ExitSet struct {
	Codes   []int
	Signals []unix.Signal
}

const exitSetHint = `list exit codes 0-255 and signal names separated by spaces, like "0 2 TERM"`

// ParseExitSet parses a space-separated list of exit codes (0-255) and signal names:
// "0 2 TERM". A number is always an exit code. Duplicates are dropped.
func ParseExitSet(s string) (ExitSet, error) {
	var e ExitSet
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return e, badValue("", "", exitSetHint)
	}
	for _, f := range fields {
		if isDigits(f) {
			code, err := strconv.Atoi(f)
			if err != nil || code > 255 {
				return ExitSet{}, badValue(s, f+" is not an exit code", "exit codes are 0-255")
			}
			if !slices.Contains(e.Codes, code) {
				e.Codes = append(e.Codes, code)
			}
			continue
		}
		sig, err := ParseSignal(f)
		if err != nil {
			return ExitSet{}, badValue(s, quoteValue(f)+" is neither an exit code nor a signal name", exitSetHint)
		}
		if !slices.Contains(e.Signals, sig) {
			e.Signals = append(e.Signals, sig)
		}
	}
	return e, nil
}

// Contains reports whether an exit is in the set: a process killed by sig when sig is
// not 0, else a process that exited with code.
func (e ExitSet) Contains(code int, sig unix.Signal) bool {
	if sig != 0 {
		return slices.Contains(e.Signals, sig)
	}
	return slices.Contains(e.Codes, code)
}

// String gives the set as "0 2 TERM"; ParseExitSet reads it back.
func (e ExitSet) String() string {
	var parts []string
	for _, c := range e.Codes {
		parts = append(parts, strconv.Itoa(c))
	}
	for _, sig := range e.Signals {
		parts = append(parts, proc.SignalName(sig))
	}
	return strings.Join(parts, " ")
}

// Limit is one resource limit, set with setrlimit(2).
type Limit struct {
	Name       string // upper case, without LIMIT_: "NOFILE"
	Resource   int    // unix.RLIMIT_*
	Soft, Hard uint64 // unix.RLIM_INFINITY for unlimited
	// BestEffort (a value ending in "?", like sh's `ulimit -n N || true`): a limit
	// above what the host allows is lowered to it, with a warning, instead of
	// failing the start.
	BestEffort bool
}

// limitResources maps resource names to their RLIMIT_ number and whether the limit
// is in bytes (and so takes sizes like 64M).
var limitResources = map[string]struct {
	resource int
	bytes    bool
}{
	"AS": {unix.RLIMIT_AS, true}, "CORE": {unix.RLIMIT_CORE, true},
	"CPU": {unix.RLIMIT_CPU, false}, "DATA": {unix.RLIMIT_DATA, true},
	"FSIZE": {unix.RLIMIT_FSIZE, true}, "LOCKS": {unix.RLIMIT_LOCKS, false},
	"MEMLOCK": {unix.RLIMIT_MEMLOCK, true}, "MSGQUEUE": {unix.RLIMIT_MSGQUEUE, true},
	"NICE": {unix.RLIMIT_NICE, false}, "NOFILE": {unix.RLIMIT_NOFILE, false},
	"NPROC": {unix.RLIMIT_NPROC, false}, "RSS": {unix.RLIMIT_RSS, true},
	"RTPRIO": {unix.RLIMIT_RTPRIO, false}, "RTTIME": {unix.RLIMIT_RTTIME, false},
	"SIGPENDING": {unix.RLIMIT_SIGPENDING, false}, "STACK": {unix.RLIMIT_STACK, true},
}

const limitHint = "use a number, SOFT:HARD like 1024:65536, or unlimited; end it with ? to lower it to what the host allows"

// ParseLimit parses the resource limit LIMIT_<name>=<value>. name is the part after
// LIMIT_ in any case (NOFILE, CORE, ...). value is one limit for both soft and hard
// ("65536"), or "SOFT:HARD" ("1024:65536"); each is a whole number, "unlimited" or
// "infinity", and for limits in bytes (AS, CORE, DATA, FSIZE, MEMLOCK, MSGQUEUE, RSS,
// STACK) also a size like 64M. A soft limit above the hard one is rejected.
func ParseLimit(name, value string) (Limit, error) {
	key := upperASCII(name)
	res, ok := limitResources[key]
	if !ok {
		var names []string
		for n := range limitResources {
			names = append(names, n)
		}
		sort.Strings(names)
		return Limit{}, fmt.Errorf("unknown resource %s (use one of %s)", quoteValue(name), strings.Join(names, ", "))
	}
	one := func(v string) (uint64, error) {
		switch {
		case strings.EqualFold(v, "unlimited") || strings.EqualFold(v, "infinity"):
			return unix.RLIM_INFINITY, nil
		case res.bytes:
			n, err := parseSize(v, "use bytes, a size like 64M, or unlimited")
			return uint64(n), err
		case !isDigits(v):
			return 0, badValue(v, "not a whole number", "this limit takes no unit: "+limitHint)
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, badValue(v, "too large", "use unlimited for no limit")
		}
		return n, nil
	}
	l := Limit{Name: key, Resource: res.resource}
	value, l.BestEffort = strings.CutSuffix(value, "?")
	if value == "" {
		return Limit{}, badValue(value, "", limitHint)
	}
	soft, hard, pair := strings.Cut(value, ":")
	if !pair {
		hard = soft
	}
	var err error
	if l.Soft, err = one(soft); err == nil {
		l.Hard, err = one(hard)
	}
	switch {
	case err != nil && pair:
		return Limit{}, fmt.Errorf("%s: %w", quoteValue(value), err)
	case err != nil:
		return Limit{}, err
	case l.Soft > l.Hard:
		return Limit{}, badValue(value, "the soft limit is above the hard limit", "write SOFT:HARD with SOFT at most HARD")
	}
	return l, nil
}

// ParseUmask parses an octal umask: "022", "0027", "27"; at most 0777.
func ParseUmask(s string) (uint32, error) {
	const hint = "use octal digits like 022 or 027"
	if s == "" || strings.Trim(s, "01234567") != "" {
		return 0, badValue(s, "not an octal umask", hint)
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return 0, badValue(s, "too large", "a umask is at most 0777")
	}
	return uint32(n), nil
}

// ParseNice parses a nice value from -20 (highest priority) to 19.
func ParseNice(s string) (int, error) {
	const hint = "nice is a whole number from -20 to 19"
	digits := s
	if s != "" && (s[0] == '-' || s[0] == '+') {
		digits = s[1:]
	}
	if !isDigits(digits) {
		return 0, badValue(s, "not a number", hint)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -20 || n > 19 {
		return 0, badValue(s, "out of range", hint)
	}
	return n, nil
}

// ParseWhole parses a whole number from lo to hi; hint says what is accepted.
func ParseWhole(s string, lo, hi int, hint string) (int, error) {
	if !isDigits(s) {
		if strings.HasPrefix(s, "-") && isDigits(s[1:]) {
			return 0, badValue(s, "out of range", hint)
		}
		return 0, badValue(s, "not a whole number", hint)
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badValue(s, "out of range", hint)
	}
	return n, nil
}

const cpuHint = "a whole percent of one CPU from 1% to 100000%, like 10% or 150%"

// ParseCPUPercent parses CPU_MAX: a share of one CPU in whole percent, "10%" or
// "150%" (one and a half CPUs). The % is required: a bare number could be read as
// a count of CPUs.
func ParseCPUPercent(s string) (int, error) {
	digits, ok := strings.CutSuffix(s, "%")
	if !ok {
		if isDigits(s) {
			return 0, badValue(s, "no % sign", cpuHint)
		}
		return 0, badValue(s, "not a percent", cpuHint)
	}
	if !isDigits(digits) {
		return 0, badValue(s, "not a percent", cpuHint)
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || n > 100000 {
		return 0, badValue(s, "out of range", cpuHint)
	}
	return n, nil
}

// parseCgroupSize parses MEMORY_MAX and MEMORY_HIGH: a size of at least one page.
func parseCgroupSize(s string) (int64, error) {
	n, err := ParseSize(s)
	if err == nil && n < 4096 {
		return 0, badValue(s, "too small", "at least 4K: the daemon could not even start; leave the key out for no limit")
	}
	return n, err
}

// Policy says when a daemon that exited is respawned.
type Policy int

const (
	RespawnAlways    Policy = iota // after every exit
	RespawnOnFailure               // after an exit not in NORMAL_EXIT
	RespawnNo                      // never
)

var policyNames = []string{RespawnAlways: "always", RespawnOnFailure: "on-failure", RespawnNo: "no"}

// String gives the policy as written in a definition: "always", "on-failure", "no".
func (p Policy) String() string {
	if p >= 0 && int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "Policy(" + strconv.Itoa(int(p)) + ")"
}

// ParsePolicy parses "always", "on-failure" or "no", in any case.
func ParsePolicy(s string) (Policy, error) {
	for i, name := range policyNames {
		if upperASCII(s) == upperASCII(name) {
			return Policy(i), nil
		}
	}
	return 0, badValue(s, "unknown policy", "use always, on-failure or no")
}

// ParseBool parses yes/no, true/false, on/off or 1/0, in any case.
func ParseBool(s string) (bool, error) {
	switch upperASCII(s) {
	case "YES", "TRUE", "ON", "1":
		return true, nil
	case "NO", "FALSE", "OFF", "0":
		return false, nil
	}
	return false, badValue(s, "not a yes/no value", "use yes or no; true/false, on/off and 1/0 work too")
}

const probeHint = "use tcp HOST:PORT, unix PATH, http URL, exec COMMAND, or for READY notify or fd:N"

// maxSocketPath is the longest path a unix socket address can hold (sun_path less its NUL).
const maxSocketPath = 107

// ParseProbe parses "KIND TARGET": "tcp 127.0.0.1:8080" (numeric port 1-65535),
// "unix /run/x.sock" (absolute path), "http http://127.0.0.1:8080/health" (plain
// http URL with a host; https is refused: the probe speaks plain http only) or "exec CMD ARGS..."
// (kept as one string, split by the caller). The kind may be in any case; space
// around the target is dropped.
func ParseProbe(s string) (probe.Probe, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return probe.Probe{}, badValue(s, "", probeHint)
	}
	kind, target := s, ""
	if i := strings.IndexFunc(s, unicode.IsSpace); i >= 0 {
		kind, target = s[:i], strings.TrimSpace(s[i:])
	}
	p := probe.Probe{Kind: strings.ToLower(kind), Target: target}
	var problem, hint string
	if n, ok := strings.CutPrefix(p.Kind, "fd:"); ok {
		// s6's notification-fd: the daemon writes a newline on fd N when ready.
		p = probe.Probe{Kind: "fd", Target: n}
		if fd, err := strconv.Atoi(n); err != nil || !isDigits(n) || fd < 3 || fd > 255 {
			return probe.Probe{}, badValue(s, "fd:"+n+" is not a descriptor from 3 to 255", "0, 1 and 2 are stdin, stdout and stderr; use fd:3")
		}
		if target != "" {
			return probe.Probe{}, badValue(s, "fd:"+n+" takes nothing after it", "use READY=fd:"+n)
		}
		return p, nil
	}
	switch upperASCII(kind) {
	case "NOTIFY":
		if target != "" {
			problem, hint = "notify takes nothing after it", "use READY=notify"
		}
	case "TCP":
		problem, hint = checkTCPTarget(target), "use tcp HOST:PORT, like tcp 127.0.0.1:8080"
	case "UNIX":
		problem, hint = checkUnixTarget(target), "use unix PATH with an absolute PATH, like unix /run/app.sock"
	case "HTTP":
		problem, hint = checkHTTPTarget(target), "use http URL, like http http://127.0.0.1:8080/health"
	case "EXEC":
		if target == "" {
			problem, hint = "missing command", "use exec COMMAND, like exec /usr/bin/app --ping"
		}
	default:
		problem, hint = "unknown probe kind "+quoteValue(kind), probeHint
	}
	if problem != "" {
		return probe.Probe{}, badValue(s, problem, hint)
	}
	return p, nil
}

// checkTCPTarget returns what is wrong with a HOST:PORT, or "".
func checkTCPTarget(t string) string {
	if t == "" {
		return "missing HOST:PORT"
	}
	if strings.IndexFunc(t, unicode.IsSpace) >= 0 {
		return "space in HOST:PORT"
	}
	host, port, err := net.SplitHostPort(t)
	if err != nil {
		return quoteValue(t) + " is not HOST:PORT"
	}
	if host == "" {
		return "missing host"
	}
	return checkPort(port)
}

// checkPort returns what is wrong with a port number, or "".
func checkPort(port string) string {
	if n, err := strconv.Atoi(port); !isDigits(port) || err != nil || n < 1 || n > 65535 {
		return "port " + quoteValue(port) + " is not a number from 1 to 65535"
	}
	return ""
}

// checkUnixTarget returns what is wrong with a socket path, or "".
func checkUnixTarget(t string) string {
	switch {
	case t == "":
		return "missing socket path"
	case !strings.HasPrefix(t, "/"):
		return "the socket path is not absolute"
	case strings.ContainsRune(t, 0):
		return "NUL byte in the socket path"
	case len(t) > maxSocketPath:
		return "the socket path is longer than " + strconv.Itoa(maxSocketPath) + " bytes"
	}
	return ""
}

// checkHTTPTarget returns what is wrong with an http URL, or "".
func checkHTTPTarget(t string) string {
	if t == "" {
		return "missing URL"
	}
	u, err := url.Parse(t)
	switch {
	case err != nil || strings.IndexFunc(t, unicode.IsSpace) >= 0:
		return "not a URL"
	case u.Scheme == "https":
		return "https is not probed (the watchdog speaks plain http only); probe TLS with exec, like exec /usr/bin/curl -fsS " + t
	case u.Scheme != "http":
		return "the URL does not start with http://"
	case u.Hostname() == "":
		return "the URL has no host"
	case u.Port() != "":
		return checkPort(u.Port())
	}
	return ""
}
