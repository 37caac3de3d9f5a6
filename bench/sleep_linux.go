package bench

import (
	"os"
	"sync/atomic"
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

	// The wait in progress, touched only by the worker that owns the
	// timer: kept here, with the poller's callback bound once, so a wait
	// allocates nothing (a closure over locals escaped: three allocations
	// per open-model op).
	d             time.Duration
	stop          *atomic.Bool
	armed, failed bool
	onReadable    func(fd uintptr) bool
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
	p := &preciseTimer{f: f, rc: rc}
	p.onReadable = p.readable
	return p
}

// sleep waits about d, or less once stop is set: stop is read after the
// timer is armed, so a wake() that follows setting it is never missed.
// One wait is one system call: the timer is armed inside the poller's read
// loop, after its readiness was reset, so the expiry cannot be lost; and
// the expiry count is never read, since arming resets it and each expiry
// signals the poller anew. A wake-up without expiry (none is known) only
// makes the caller, which compares the clock with its deadline, wait again.
func (p *preciseTimer) sleep(d time.Duration, stop *atomic.Bool) {
	p.d, p.stop, p.armed, p.failed = d, stop, false, false
	if err := p.rc.Read(p.onReadable); err != nil || p.failed {
		time.Sleep(d)
	}
}

// readable is the poller's read callback of sleep: the first call arms the
// timer (true ends the wait at once if stopped); the next one means expiry.
func (p *preciseTimer) readable(fd uintptr) bool {
	if p.armed {
		return true // the poller saw it expire
	}
	p.armed = true
	if !armFd(fd, p.d) {
		p.failed = true
		return true
	}
	return p.stop.Load()
}

// arm sets the timer to expire in d; false if it could not (then nothing
// waits on it).
func (p *preciseTimer) arm(d time.Duration) bool {
	// Control, not Fd: Fd would put the file in blocking mode, and each
	// sleeping worker would then hold an OS thread.
	ok := false
	err := p.rc.Control(func(fd uintptr) { ok = armFd(fd, d) })
	return err == nil && ok
}

func armFd(fd uintptr, d time.Duration) bool {
	if d <= 0 {
		d = 1 // zero would disarm it
	}
	spec := itimerspec{value: syscall.NsecToTimespec(int64(d))}
	// Raw: timerfd_settime never blocks, and a plain Syscall's entry and
	// exit wake the runtime's sysmon thread whenever the program was idle,
	// which in the open model is every op (see docs/design.md, "The per-op path").
	_, _, errno := syscall.RawSyscall6(syscall.SYS_TIMERFD_SETTIME, fd, 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	return errno == 0
}

// wake expires the timer now: a stop interrupts the worker waiting on it.
func (p *preciseTimer) wake() {
	if p != nil {
		p.arm(1)
	}
}

func (p *preciseTimer) close() {
	if p != nil {
		p.f.Close()
	}
}
