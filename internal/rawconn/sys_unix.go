//go:build darwin || freebsd || netbsd || openbsd || dragonfly || (linux && race)

package rawconn

import "syscall"

// The syscall package's calls where raw ones are not the platform's way,
// and under the race detector, which learns from the syscall package's
// reads and writes that a server's writes happen before the client's read
// (see the package doc).

func errnoOf(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}

func readFd(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Read(int(fd), p)
	return n, errnoOf(err)
}

func writeFd(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	return n, errnoOf(err)
}

func peekFd(fd uintptr, b []byte) (int, syscall.Errno) {
	n, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK)
	return n, errnoOf(err)
}
