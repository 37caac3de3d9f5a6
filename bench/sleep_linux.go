package bench

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// preciseTimer waits short intervals with the kernel's precision. The Go
// runtime's timers wake an idle program up to ~1 ms late (its poller sleeps in
// whole milliseconds), which would show up as open-model schedule lag. A
// timerfd is read through the runtime's poller instead: its expiry wakes the
// poller at once, and the goroutine blocks without holding a thread.
type preciseTimer struct {
	f  *os.File
	rc syscall.RawConn
}

const (
	clockMonotonic = 1
	tfdNonblock    = syscall.O_NONBLOCK
	tfdCloexec     = syscall.O_CLOEXEC
)

type itimerspec struct {
	interval syscall.Timespec
	value    syscall.Timespec
}

// newPreciseTimer returns a timer, or nil where timerfd is unavailable (the
// runtime's timers are used then).
func newPreciseTimer() *preciseTimer {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, tfdNonblock|tfdCloexec, 0)
	if errno != 0 {
		return nil
	}
	f := os.NewFile(fd, "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil
	}
	return &preciseTimer{f: f, rc: rc}
}

// sleep waits d.
func (p *preciseTimer) sleep(d time.Duration) {
	if p == nil {
		time.Sleep(d)
		return
	}
	if d <= 0 {
		return
	}
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	// Control, not Fd: Fd would put the file in blocking mode, and each
	// sleeping worker would then hold an OS thread.
	var errno syscall.Errno
	if ctrl := p.rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	}); ctrl != nil || errno != 0 {
		time.Sleep(d)
		return
	}
	var buf [8]byte
	if _, err := p.f.Read(buf[:]); err != nil {
		time.Sleep(d)
	}
}

func (p *preciseTimer) close() {
	if p != nil {
		p.f.Close()
	}
}
