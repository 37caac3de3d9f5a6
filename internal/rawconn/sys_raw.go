//go:build linux && !race

package rawconn

import (
	"syscall"
	"unsafe"
)

// Raw system calls on a non-blocking socket, which return at once: see the
// package doc for why they bypass the runtime's entry and exit.

func readFd(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

func writeFd(fd uintptr, p []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno
}

// peekFd asks whether the socket has a byte (n 1), an EOF (n 0) or an error
// to read, consuming nothing: syscall.EAGAIN means not yet.
func peekFd(fd uintptr, b []byte) (int, syscall.Errno) {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MSG_PEEK, 0, 0)
	return int(n), errno
}
