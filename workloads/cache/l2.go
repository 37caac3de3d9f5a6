package cache

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/rawconn"
)

// DefaultL2Timeout bounds each Redis dial, read, write and wait for a pooled
// connection. A cache that waits seconds for a sick Redis is slower than no
// cache: past this, an L2 call fails and the read goes to the origin.
const DefaultL2Timeout = 200 * time.Millisecond

// ErrL2 marks every error that came from L2 (Redis), so callers can tell a
// degraded cache (errors.Is(err, ErrL2)) from a failed origin.
var ErrL2 = errors.New("l2")

// RedisConfig says how to reach the Redis that backs L2.
type RedisConfig struct {
	// URL is redis://[user:password@]host:port/db, rediss:// for TLS, or
	// unix:///path. Timeouts, pool size and retries given as URL query
	// parameters (dial_timeout=…, pool_size=…, max_retries=…) take precedence.
	URL string
	// Timeout bounds a dial, a read, a write and a wait for a connection from
	// the pool; 0 means DefaultL2Timeout.
	Timeout time.Duration
	// PoolSize is the least number of connections kept: at least the number
	// of goroutines that use the client at once, or they queue for one.
	PoolSize int
}

// OpenRedis connects to cfg.URL and checks that Redis answers a PING within
// the timeout. Commands fail fast rather than retry: a cache read that fails
// falls through to the origin, and a retry would only stack timeouts. The
// caller closes the client.
func OpenRedis(ctx context.Context, cfg RedisConfig) (*redis.Client, error) {
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("redis %s: bad URL: %w (want redis://[user:password@]host:port/db)", RedactURL(cfg.URL), err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultL2Timeout
	}
	q := queryKeys(cfg.URL)
	if !q["dial_timeout"] {
		opts.DialTimeout = timeout
	}
	if !q["read_timeout"] {
		opts.ReadTimeout = timeout
	}
	if !q["write_timeout"] {
		opts.WriteTimeout = timeout
	}
	if !q["pool_timeout"] {
		opts.PoolTimeout = timeout
	}
	if !q["max_retries"] {
		opts.MaxRetries = -1
	}
	opts.PoolSize = max(opts.PoolSize, cfg.PoolSize)
	opts.DialerRetries = 1
	opts.ContextTimeoutEnabled = true
	opts.DisableIdentity = true
	opts.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// Commands read and write through the connection's raw form (rawconn:
	// a plain system call that finds the program idle wakes the runtime's
	// sysmon, which under an open-model load is every op). go-redis's peek
	// at a pooled connection before each command, another such call, is
	// skipped with it: a connection Redis closed fails its next command
	// instead (one L2 error, then go-redis drops it).
	dial := redis.NewDialer(opts)
	opts.Dialer = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return rawconn.Wrap(c), nil
	}
	c := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 2*timeout)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("redis %s: unreachable: %w", RedactURL(cfg.URL), err)
	}
	return c, nil
}

// queryKeys lists the query parameters present in a URL.
func queryKeys(raw string) map[string]bool {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	m := map[string]bool{}
	for k := range u.Query() {
		m[k] = true
	}
	return m
}

// RedactURL hides the password of a Redis URL, for results and errors.
func RedactURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Opaque != "" || u.Host == "" { // unparseable, or no scheme://
		if i := strings.LastIndexByte(s, '@'); i >= 0 {
			if j := strings.Index(s, "://"); j >= 0 && j < i {
				return s[:j+3] + "xxxxx" + s[i:]
			}
			return "xxxxx" + s[i:]
		}
		return bench.RedactText(s)
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// L2 is the Redis level: every key it writes is its prefix plus the cache
// key, with a TTL, so one run's keys never collide with another's or with
// the user's own, and Clear can remove exactly them.
type L2 struct {
	c      *redis.Client
	prefix string
	ttl    time.Duration
}

// NewL2 uses c (which the caller keeps owning and closes) for keys under
// prefix, written with ttl (0: no expiry).
func NewL2(c *redis.Client, prefix string, ttl time.Duration) (*L2, error) {
	if prefix == "" {
		return nil, errors.New("L2 prefix is empty: keys must live under a prefix of their own")
	}
	if ttl < 0 {
		return nil, fmt.Errorf("L2 ttl %s: must not be negative", ttl)
	}
	return &L2{c: c, prefix: prefix, ttl: ttl}, nil
}

// Prefix is the string every key of this L2 starts with in Redis.
func (l *L2) Prefix() string { return l.prefix }

// Get returns the value under key, or ok=false when Redis has none.
func (l *L2) Get(ctx context.Context, key string) (val []byte, ok bool, err error) {
	val, err = l.c.Get(ctx, l.prefix+key).Bytes()
	switch {
	case err == nil:
		return val, true, nil
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("%w: get %s: %w", ErrL2, key, err)
}

// Set writes val under key with the L2's TTL.
func (l *L2) Set(ctx context.Context, key string, val []byte) error {
	if err := l.c.Set(ctx, l.prefix+key, val, l.ttl).Err(); err != nil {
		return fmt.Errorf("%w: set %s: %w", ErrL2, key, err)
	}
	return nil
}

// Delete removes keys with UNLINK (the memory is freed off Redis's main
// thread), in one round trip.
func (l *L2) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	full := make([]string, len(keys))
	for i, k := range keys {
		full[i] = l.prefix + k
	}
	if err := l.c.Unlink(ctx, full...).Err(); err != nil {
		return fmt.Errorf("%w: unlink %d keys: %w", ErrL2, len(keys), err)
	}
	return nil
}

// scanCount is the COUNT hint of Clear's SCAN: keys examined per round trip.
const scanCount = 1000

// Clear removes every key under the prefix with SCAN and UNLINK, batch by
// batch, and returns how many it removed. It never uses FLUSHDB or
// FLUSHALL: the database may hold the user's own data.
func (l *L2) Clear(ctx context.Context) (int64, error) {
	pattern := globEscape(l.prefix) + "*"
	var cursor uint64
	var removed int64
	for {
		keys, next, err := l.c.Scan(ctx, cursor, pattern, scanCount).Result()
		if err != nil {
			return removed, fmt.Errorf("%w: scan %s: %w", ErrL2, pattern, err)
		}
		if len(keys) > 0 {
			n, err := l.c.Unlink(ctx, keys...).Result()
			removed += n
			if err != nil {
				return removed, fmt.Errorf("%w: unlink under %s: %w", ErrL2, l.prefix, err)
			}
		}
		if cursor = next; cursor == 0 {
			return removed, nil
		}
	}
}

// globEscape quotes the characters SCAN MATCH treats specially, so a prefix
// matches only itself.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
