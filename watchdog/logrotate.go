package watchdog

// Size rotation of LOG: the daemon writes its log itself, through an O_APPEND file
// descriptor it got as stdout and stderr; the watchdog only watches the file
// (inotify IN_MODIFY, no timer) and, once it reaches LOG_MAX_SIZE, moves its
// beginning to NAME.log.1.
//
// Lossless rotation (ext4, xfs): copy the first N bytes (N a multiple of the
// filesystem block size, less than the size) to NAME.log.1, fsync it, then remove
// exactly those bytes from the live file with fallocate(FALLOC_FL_COLLAPSE_RANGE).
// The daemon's appends land at the end whatever happens at the start, so the kept
// files and the live file, concatenated oldest first, hold every byte once. The
// tail (less than a block, plus what arrived meanwhile) stays in the live file.
//
// Fallback (tmpfs, btrfs, ext2/3, NFS...: EOPNOTSUPP): copy-truncate. The copy is
// repeated up to the current size until the size stops changing, then the file is
// truncated to 0. Bytes the daemon writes between that last size check and the
// truncate (a window of two system calls) are lost; nothing is ever duplicated.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

type logRotator struct {
	path     string
	max      int64
	keep     int
	live     *os.File // the watchdog's own O_APPEND descriptor of the live file
	inotify  *os.File
	fallback bool // COLLAPSE_RANGE is not supported here: copy-truncate
	moved    bool // the path no longer names our file (said once)
	wake     chan struct{}
}

// watchLog starts watching the live log for writes. Nothing is armed when
// rotation is off (LOG_MAX_SIZE=0) or inotify is unavailable (then: no rotation,
// said in the service log).
func (w *world) watchLog() {
	d := w.def
	if d.LogMaxSize <= 0 || w.log == nil {
		return
	}
	r := &logRotator{path: d.Log, max: d.LogMaxSize, keep: d.LogKeep, live: w.log, wake: make(chan struct{}, 1)}
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err == nil {
		_, err = unix.InotifyAddWatch(fd, d.Log, unix.IN_MODIFY)
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		w.logEvent(fmt.Sprintf("LOG_MAX_SIZE: cannot watch %s (%v): the log will not be rotated", d.Log, err))
		return
	}
	// A non-blocking descriptor wrapped by os.NewFile is waited on by the netpoller:
	// the reader goroutine costs no thread and no wake-up until the file is written.
	r.inotify = os.NewFile(uintptr(fd), "inotify")
	w.rot = r
	go func() {
		buf := make([]byte, 4096)
		for {
			if _, err := r.inotify.Read(buf); err != nil {
				return
			}
			select { // coalesce: one pending wake-up is enough, the loop checks the size
			case r.wake <- struct{}{}:
			default:
			}
		}
	}()
}

// logWake is the channel the loop selects on (nil, never ready, without rotation).
func (w *world) logWake() <-chan struct{} {
	if w.rot == nil {
		return nil
	}
	return w.rot.wake
}

// logFull: the live log was written; it is due for rotation once it reaches
// LOG_MAX_SIZE (and is still the file the daemon writes).
func (w *world) logFull() bool {
	r := w.rot
	var st unix.Stat_t
	if r == nil || unix.Fstat(int(r.live.Fd()), &st) != nil || st.Size < r.max {
		return false
	}
	var cur unix.Stat_t
	if err := unix.Stat(r.path, &cur); err != nil || cur.Dev != st.Dev || cur.Ino != st.Ino {
		if !r.moved {
			r.moved = true
			w.logEvent("LOG " + r.path + " was moved or replaced by something else: not rotating it")
		}
		return false
	}
	r.moved = false
	return true
}

// rotate rotates the log off the loop: the copy and its fsync take a while.
func (w *world) rotate() {
	r := w.rot
	go func() {
		msg, err := r.rotate()
		if err != nil {
			err = fmt.Errorf("cannot rotate %s: %v", r.path, err)
		}
		w.events <- evRotated{msg, err}
	}()
}

// rotate moves the start of the live file to PATH.1, shifting the kept files.
func (r *logRotator) rotate() (string, error) {
	fd, err := unix.Open(r.path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	rw := os.NewFile(uintptr(fd), r.path)
	defer rw.Close()
	var st unix.Stat_t
	var fs unix.Statfs_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", err
	}
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return "", err
	}
	bs := fs.Bsize
	if bs <= 0 {
		bs = 4096
	}
	// N < size (COLLAPSE_RANGE may not reach the end of the file), whole blocks only.
	n := (st.Size - 1) / bs * bs
	if !r.fallback && n <= 0 {
		return "", nil // less than a block: nothing to move yet
	}
	if r.fallback {
		n = 0
	}
	dst, err := r.shift()
	if err != nil {
		return "", err
	}
	if dst != nil {
		defer dst.Close()
	}
	if err := copyRange(dst, rw, 0, n); err != nil {
		return "", err
	}
	note := ""
	if !r.fallback {
		if dst != nil {
			if err := dst.Sync(); err != nil {
				return "", fmt.Errorf("fsync %s: %w", dst.Name(), err)
			}
		}
		// The collapse writes back the file's dirty pages while it holds the inode
		// lock, which the daemon's writes wait for: write them back first, without it.
		unix.Fdatasync(fd)
		err := unix.Fallocate(fd, unix.FALLOC_FL_COLLAPSE_RANGE, 0, n)
		if err == nil {
			return fmt.Sprintf("rotated %s: %d bytes moved to %s", r.path, n, r.kept(1)), nil
		}
		if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.EINVAL) {
			return "", fmt.Errorf("fallocate(COLLAPSE_RANGE): %w", err)
		}
		// Not supported by this filesystem: finish this rotation (and do the next
		// ones) by copy-truncate; the n bytes copied already are kept.
		r.fallback = errors.Is(err, unix.EOPNOTSUPP)
		note = fmt.Sprintf(" (copy-truncate: this filesystem cannot collapse a file range: %v; bytes written during the truncate may be lost)", err)
	}
	off := n
	for range 16 {
		if err := unix.Fstat(fd, &st); err != nil {
			return "", err
		}
		if st.Size <= off {
			break
		}
		if err := copyRange(dst, rw, off, st.Size-off); err != nil {
			return "", err
		}
		off = st.Size
	}
	if dst != nil {
		if err := dst.Sync(); err != nil {
			return "", fmt.Errorf("fsync %s: %w", dst.Name(), err)
		}
	}
	if err := unix.Ftruncate(fd, 0); err != nil {
		return "", fmt.Errorf("truncate: %w", err)
	}
	if note == "" {
		note = " (copy-truncate)"
	}
	return fmt.Sprintf("rotated %s: %d bytes moved to %s%s", r.path, off, r.kept(1), note), nil
}

func (r *logRotator) kept(i int) string {
	if r.keep == 0 {
		return "nowhere (LOG_KEEP=0)"
	}
	return r.path + "." + strconv.Itoa(i)
}

// shift drops PATH.KEEP, renames PATH.i to PATH.i+1 and creates PATH.1 (nil when
// LOG_KEEP=0: the moved bytes are dropped).
func (r *logRotator) shift() (*os.File, error) {
	if r.keep == 0 {
		return nil, nil
	}
	if err := os.Remove(r.kept(r.keep)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for i := r.keep - 1; i >= 1; i-- {
		if err := os.Rename(r.kept(i), r.kept(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	first := r.kept(1)
	os.Remove(first) // only there if a rename above failed half-way (keep = 1)
	fd, err := unix.Open(first, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o640)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), first), nil
}

// copyRange appends n bytes of src from off to dst (nil: discard).
func copyRange(dst, src *os.File, off, n int64) error {
	if dst == nil || n <= 0 {
		return nil
	}
	got, err := io.Copy(dst, io.NewSectionReader(src, off, n))
	if err == nil && got < n {
		err = fmt.Errorf("%s shrank while being rotated", src.Name())
	}
	return err
}
