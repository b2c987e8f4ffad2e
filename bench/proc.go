package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

type pstat struct {
	state        byte
	ppid         int
	utime, stime uint64
}

// readStat parses /proc/PID/stat (fields counted from the last ')').
func readStat(pid int) (pstat, error) {
	var st pstat
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return st, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return st, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return st, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	st.state = f[0][0]
	st.ppid, _ = strconv.Atoi(f[1])
	st.utime, _ = strconv.ParseUint(f[11], 10, 64)
	st.stime, _ = strconv.ParseUint(f[12], 10, 64)
	return st, nil
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	st, err := readStat(pid)
	return err == nil && st.state != 'Z' && st.state != 'X'
}

// procKB reads "Key:   N kB" lines of /proc/PID/FILE.
func procKB(pid int, file string) (map[string]float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + file)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		if n, err := strconv.ParseFloat(f[0], 64); err == nil {
			out[strings.TrimSpace(k)] = n
		}
	}
	return out, nil
}

// footprint is a process's private memory: RssAnon (/proc/PID/status) and Pss
// (/proc/PID/smaps_rollup), in kB.
func footprint(pid int) (anon, pss float64, err error) {
	s, err := procKB(pid, "status")
	if err != nil {
		return 0, 0, err
	}
	r, err := procKB(pid, "smaps_rollup")
	if err != nil {
		return 0, 0, err
	}
	return s["RssAnon"], r["Pss"], nil
}

// idleSample is the CPU ticks and context switches a process has used so far.
type idleSample struct{ ticks, ctxsw float64 }

func idleNow(pid int) (idleSample, error) {
	st, err := readStat(pid)
	if err != nil {
		return idleSample{}, err
	}
	s, err := procKB(pid, "status")
	if err != nil {
		return idleSample{}, err
	}
	return idleSample{float64(st.utime + st.stime), s["voluntary_ctxt_switches"] + s["nonvoluntary_ctxt_switches"]}, nil
}

// threadsIdle sums idleNow over every thread of pid (context switches are per
// thread in /proc/PID/task/TID/status; /proc/PID/status has the main thread only).
func threadsIdle(pid int) (idleSample, error) {
	total, err := idleNow(pid)
	if err != nil {
		return total, err
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return total, nil
	}
	total.ctxsw = 0
	for _, e := range ents {
		s, err := procKB(pid, "task/"+e.Name()+"/status")
		if err != nil {
			continue
		}
		total.ctxsw += s["voluntary_ctxt_switches"] + s["nonvoluntary_ctxt_switches"]
	}
	return total, nil
}
