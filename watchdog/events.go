package watchdog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"svcwrap/proc"
	"svcwrap/safefile"
)

// eventHook runs ON_EVENT: at most once per ON_EVENT_INTERVAL, events that come
// meanwhile counted into the next run (SVCWRAP_COUNT), the give-up never held
// back (it runs at once, and before the watchdog exits). A run is bounded,
// outside the daemon's cgroup, and its failure is logged: it never touches the
// service. It keeps only counters, whatever the number of events.
type eventHook struct {
	w *world

	mu      sync.Mutex
	count   int
	kind    string // the latest event's
	reason  string
	exit    string
	urgent  bool // a give-up is pending
	last    time.Time
	running bool
	timer   *time.Timer
	idle    chan struct{} // closed when no run is in progress
}

func (w *world) event(kind, reason, exit string) {
	if w.def.Hook("ON_EVENT") == nil {
		return
	}
	if w.hook == nil {
		w.hook = &eventHook{w: w}
	}
	h := w.hook
	h.mu.Lock()
	defer h.mu.Unlock()
	h.count++
	h.kind, h.reason, h.exit = kind, reason, exit
	h.urgent = h.urgent || kind == "failed"
	h.schedule()
}

// schedule starts a run now or arms the timer for the interval's end. h.mu is held.
func (h *eventHook) schedule() {
	if h.count == 0 || h.running {
		return // a run in progress schedules the next when it ends
	}
	wait := time.Until(h.last.Add(h.w.def.EventInterval))
	if h.urgent || wait <= 0 {
		h.start()
		return
	}
	if h.timer == nil {
		h.timer = time.AfterFunc(wait, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.timer = nil
			h.schedule()
		})
	}
}

// start runs the hook with what is pending. h.mu is held.
func (h *eventHook) start() {
	env := []string{"SVCWRAP_SERVICE=" + h.w.def.Name, "SVCWRAP_EVENT=" + h.kind, "SVCWRAP_COUNT=" + strconv.Itoa(h.count),
		"SVCWRAP_EXIT=" + h.exit, "SVCWRAP_REASON=" + h.reason}
	h.count, h.urgent, h.running, h.last = 0, false, true, time.Now()
	h.idle = make(chan struct{})
	if h.timer != nil {
		h.timer.Stop()
		h.timer = nil
	}
	go func() {
		err := h.run(env)
		if err != nil {
			h.w.logEvent("ON_EVENT: " + err.Error() + " (the service is not affected)")
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.running = false
		close(h.idle)
		h.schedule()
	}()
}

func (h *eventHook) run(env []string) error {
	d := h.w.def
	hk := d.Hook("ON_EVENT")
	cmd, err := d.HookCommand(hk)
	if err != nil {
		return err
	}
	if tail := h.logTail(); tail != "" {
		env = append(env, "SVCWRAP_LOG_TAIL_FILE="+tail)
	}
	cmd.Env = append(slices.Clip(cmd.Env), env...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	ctx, cancel := context.WithTimeout(context.Background(), d.HookBound("ON_EVENT"))
	defer cancel()
	err = proc.Run(ctx, cmd, d.Umask, true)
	if errors.Is(err, proc.ErrTimeout) {
		return fmt.Errorf("%s did not finish within %v and was killed", hk.Argv[0], d.HookBound("ON_EVENT"))
	}
	return err
}

// logTail writes the service log's last 8 KiB to RUNDIR/NAME.event-log for the
// hook (SVCWRAP_LOG_TAIL_FILE); "" when there is no log file.
func (h *eventHook) logTail() string {
	d := h.w.def
	f, err := os.Open(d.Log)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	off := max(fi.Size()-8<<10, 0)
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	path := h.w.files.Dir + "/" + d.Name + ".event-log"
	if safefile.Write(path, b[:n], 0o644) != nil {
		return ""
	}
	return path
}

// flush runs what is pending before the watchdog exits (a give-up above all),
// waiting for a run in progress first; bounded by bound.
func (h *eventHook) flush(bound time.Duration) {
	deadline := time.Now().Add(bound)
	for {
		h.mu.Lock()
		if h.timer != nil {
			h.timer.Stop()
			h.timer = nil
		}
		if !h.running && h.count > 0 {
			h.start()
		}
		running, idle := h.running, h.idle
		h.mu.Unlock()
		if !running {
			return
		}
		t := time.NewTimer(time.Until(deadline))
		select {
		case <-idle:
			t.Stop()
		case <-t.C:
			return
		}
	}
}
