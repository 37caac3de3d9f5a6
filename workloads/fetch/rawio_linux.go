//go:build linux && !race

package fetch

import (
	"syscall"
	"unsafe"
)

// Raw system calls on a non-blocking socket, which return at once: see
// waitState for why they bypass the runtime's entry and exit.

func readFd(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

func writeFd(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

// peekFd asks whether the socket has a byte (or an EOF or error) to read,
// consuming nothing: syscall.EAGAIN means not yet.
func peekFd(fd uintptr, b []byte) syscall.Errno {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MSG_PEEK, 0, 0)
	return errno
}
