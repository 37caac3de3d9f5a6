package pool

import (
	"os"
	"syscall"
	"time"
	"unsafe"
)

// holdTimer waits out a hold with the kernel's precision. The runtime's
// timers wake an idle program up to ~1 ms late (its poller sleeps in whole
// milliseconds), which would turn hold=200us into a hold of about 1 ms. A
// timerfd read through the runtime's poller wakes on time, and the waiting
// goroutine parks without holding a thread.
type holdTimer struct {
	f      *os.File
	rc     syscall.RawConn
	spec   itimerspec
	errno  syscall.Errno
	arm    func(fd uintptr) // bound once, so a hold allocates nothing
	result [8]byte
}

type itimerspec struct {
	interval syscall.Timespec
	value    syscall.Timespec
}

const clockMonotonic = 1

// newHoldTimer returns a timer, or nil where timerfd is unavailable (the
// runtime's timers are used then).
func newHoldTimer() *holdTimer {
	fd, _, errno := syscall.Syscall(syscall.SYS_TIMERFD_CREATE, clockMonotonic, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		return nil
	}
	f := os.NewFile(fd, "timerfd") // non-blocking: registered with the poller
	rc, err := f.SyscallConn()     // never f.Fd(), which would make it blocking
	if err != nil {
		f.Close()
		return nil
	}
	h := &holdTimer{f: f, rc: rc}
	h.arm = h.settime
	return h
}

func (h *holdTimer) settime(fd uintptr) {
	_, _, h.errno = syscall.Syscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&h.spec)), 0, 0, 0)
}

// sleep waits d.
func (h *holdTimer) sleep(d time.Duration) {
	if h == nil {
		time.Sleep(d)
		return
	}
	if d <= 0 {
		return
	}
	h.spec.value = syscall.NsecToTimespec(int64(d))
	if err := h.rc.Control(h.arm); err != nil || h.errno != 0 {
		time.Sleep(d)
		return
	}
	if _, err := h.f.Read(h.result[:]); err != nil {
		time.Sleep(d)
	}
}

func (h *holdTimer) close() {
	if h != nil {
		h.f.Close()
	}
}
