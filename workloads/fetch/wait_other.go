//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fetch

// waitState is empty where MSG_PEEK is not at hand: an op waits for its
// response in its read, holding the read buffer, as fasthttp's own does.
type waitState struct{}

func (c *trackedConn) initWait() {}

func (c *trackedConn) waitReadable() error { return nil }
