package service

import (
	"os"

	"golang.org/x/sys/unix"
)

// readAllFd reads the open file fd (size bytes by fstat) to its end, at most
// limit bytes, with bare read(2) calls. It replaces os.NewFile + io.ReadAll on the
// hot paths of status and list: os.NewFile of a non-blocking descriptor first tries
// to register it with the runtime poller (fcntl, epoll_ctl refused for a regular
// file, fcntl again), five syscalls per file for nothing. Errors read like the
// os.File ones ("read PATH: ...").
func readAllFd(fd int, path string, size, limit int64) ([]byte, error) {
	n := min(max(size+1, 512), limit) // size+1: room to see the end
	buf := make([]byte, 0, n)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(int64(cap(buf)), limit)
		m, err := unix.Read(fd, buf[len(buf):end])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			break
		}
		buf = buf[:len(buf)+m]
		if int64(m) < end-int64(len(buf)-m) && int64(len(buf)) >= size {
			// A short read of a regular file that gave all fstat saw is its end:
			// the read that would return 0 is not needed.
			break
		}
	}
	return buf, nil
}
