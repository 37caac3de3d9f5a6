package cache

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// go-redis logs failed dials to stderr; the Redis-killed tests make many
	// on purpose.
	redis.SetLogger(&logging.VoidLogger{})
	goleak.VerifyTestMain(m,
		// After a run of failed dials, a closed go-redis pool's probe goroutine
		// sleeps up to 1s before it sees the pool closed and exits.
		goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"),
	)
}
