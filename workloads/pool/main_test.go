package pool

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: the pool's maintainer, the echo
// server's accept loop and connection handlers, and every waiter.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
