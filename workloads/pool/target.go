package pool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/perfkit/perfkit/internal/rawconn"
)

// protocol is what one round trip on a connection is.
type protocol uint8

const (
	protoEcho  protocol = iota // write a payload, read it back
	protoRedis                 // PING, +PONG
)

// echoPayload is the echo round trip's message: small, like a request header
// or a query on a pooled database connection.
const echoPayload = "perfkit pool echo round trip 01\n"

const (
	redisPing = "PING\r\n"
	redisPong = "+PONG\r\n"
)

// Timeouts of a connection's life outside an op's own deadline.
const (
	dialTimeout = 5 * time.Second  // any dial, whatever the context allows
	ioTimeout   = 10 * time.Second // a round trip whose context has no deadline
	// probeTimeout bounds the reachability check of a target at start.
	probeTimeout = 2 * time.Second
)

// acceptedTargets is what the target param accepts, for error messages.
const acceptedTargets = "tcp://HOST:PORT (an echo service), redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], or empty for the embedded echo server"

// errProtocol marks a reply that is not what the round trip expects: the
// connection is out of step and is discarded.
var errProtocol = errors.New("unexpected reply")

// target is where the pool's connections go.
type target struct {
	proto protocol
	addr  string // host:port
	user  string // redis AUTH
	pass  string
	shown string // as written, password redacted: for messages
}

// parseTarget reads the target param. Errors name the target (redacted) and
// what is accepted.
func parseTarget(s string) (target, error) {
	s = strings.TrimSpace(s)
	shown := redactTarget(s)
	if !strings.Contains(s, "://") {
		return target{}, fmt.Errorf("target %q has no scheme (accepted: %s)", shown, acceptedTargets)
	}
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("target %q is not a URL (accepted: %s)", shown, acceptedTargets)
	}
	if err := bench.CheckURLPort(u); err != nil {
		return target{}, fmt.Errorf("target %q: %w", shown, err)
	}
	t := target{shown: shown}
	switch u.Scheme {
	case "tcp":
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return target{}, fmt.Errorf("target %q: want tcp://HOST:PORT and nothing else", shown)
		}
		if u.Port() == "" || u.Hostname() == "" {
			return target{}, fmt.Errorf("target %q: want tcp://HOST:PORT (the port is required)", shown)
		}
		t.proto, t.addr = protoEcho, u.Host
	case "redis":
		if u.Hostname() == "" {
			return target{}, fmt.Errorf("target %q: no host (want redis://HOST[:PORT])", shown)
		}
		port := u.Port()
		if port == "" {
			port = "6379"
		}
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if _, err := strconv.ParseUint(db, 10, 16); err != nil {
				return target{}, fmt.Errorf("target %q: database %q is not a number", shown, db)
			}
		}
		t.proto, t.addr = protoRedis, net.JoinHostPort(u.Hostname(), port)
		if u.User != nil {
			t.user = u.User.Username()
			t.pass, _ = u.User.Password()
			if t.pass == "" { // redis://PASSWORD@host, as some clients accept
				t.user, t.pass = "", t.user
			}
		}
	default:
		return target{}, fmt.Errorf("target %q: unknown scheme %q (accepted: %s)", shown, u.Scheme, acceptedTargets)
	}
	return t, nil
}

// redactTarget hides the password of a target URL (redis://:xxxxx@host).
func redactTarget(s string) string {
	i := strings.Index(s, "://")
	if i < 0 || !isScheme(s[:i]) {
		// No scheme (or what precedes :// is not one, as in
		// user:pass@redis://host): whatever comes before an @ may be the
		// password.
		if at := strings.LastIndexByte(s, '@'); at >= 0 {
			return "xxxxx" + s[at:]
		}
		return bench.RedactText(s)
	}
	rest := s[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return s
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		user = "" // a lone userinfo is the password (redis://PASSWORD@host)
	}
	return s[:i+3] + user + ":xxxxx" + rest[at:]
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, '+', '-' or '.'.
func isScheme(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}

// conn is one pooled TCP connection, read and written through its raw
// form (rawconn: a plain system call that finds the program idle wakes the
// runtime's sysmon, which under an open-model load is every op).
type conn struct {
	nc  net.Conn
	raw *rawconn.Conn // nc's raw form, for the health check's peek; nil if none
}

// dial opens a connection to t and, for Redis with a password, authenticates.
func (t *target) dial(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	nc, err := d.DialContext(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	c := &conn{nc: nc, raw: rawconn.New(nc)}
	if c.raw != nil {
		c.nc = c.raw
	}
	if t.proto == protoRedis && t.pass != "" {
		if err := c.auth(ctx, t.user, t.pass); err != nil {
			nc.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *conn) close() error { return c.nc.Close() }

// auth sends AUTH as a RESP array, so any byte in a password is safe.
func (c *conn) auth(ctx context.Context, user, pass string) error {
	args := []string{"AUTH", pass}
	if user != "" {
		args = []string{"AUTH", user, pass}
	}
	var cmd bytes.Buffer
	fmt.Fprintf(&cmd, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&cmd, "$%d\r\n%s\r\n", len(a), a)
	}
	if err := c.setDeadline(ctx); err != nil {
		return err
	}
	if _, err := c.nc.Write(cmd.Bytes()); err != nil {
		return err
	}
	line, err := c.readLine(make([]byte, 512))
	if err != nil {
		return fmt.Errorf("redis AUTH: %w", err)
	}
	if string(line) != "+OK\r\n" {
		return fmt.Errorf("redis AUTH refused: %s", bytes.TrimSpace(line))
	}
	return nil
}

// exchange is one round trip's request and expected reply, kept per worker
// so that the per-op path shares and allocates nothing.
type exchange struct {
	proto protocol
	req   []byte
	want  []byte
	buf   []byte // the reply is read into it
}

func newExchange(p protocol) *exchange {
	x := &exchange{proto: p, req: []byte(echoPayload), want: []byte(echoPayload)}
	if p == protoRedis {
		x.req, x.want = []byte(redisPing), []byte(redisPong)
	}
	x.buf = make([]byte, 512)
	return x
}

// roundTrip writes the request and reads the reply, within ctx's deadline
// (or ioTimeout without one). Any error leaves the connection unusable.
func (c *conn) roundTrip(ctx context.Context, x *exchange) error {
	if err := c.setDeadline(ctx); err != nil {
		return err
	}
	if _, err := c.nc.Write(x.req); err != nil {
		return err
	}
	var got []byte
	if x.proto == protoRedis {
		line, err := c.readLine(x.buf)
		if err != nil {
			return err
		}
		got = line
	} else {
		got = x.buf[:len(x.want)]
		if _, err := io.ReadFull(c.nc, got); err != nil {
			return err
		}
	}
	if !bytes.Equal(got, x.want) {
		return fmt.Errorf("%w: %q (want %q)", errProtocol, bytes.TrimSpace(got), bytes.TrimSpace(x.want))
	}
	return nil
}

func (c *conn) setDeadline(ctx context.Context) error {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(ioTimeout)
	}
	return c.nc.SetDeadline(dl)
}

// readLine reads one reply line into buf. Nothing is pipelined, so a reply
// running past its line means the connection is out of step.
func (c *conn) readLine(buf []byte) ([]byte, error) {
	n := 0
	for {
		m, err := c.nc.Read(buf[n:])
		n += m
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			if i != n-1 {
				return nil, fmt.Errorf("%w: more than one line", errProtocol)
			}
			return buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
		if n == len(buf) {
			return nil, fmt.Errorf("%w: a line longer than %d bytes", errProtocol, len(buf))
		}
	}
}

// probe dials t and makes one round trip, so that a target that is down or
// speaks another protocol is a one-line configuration error at start.
func probe(t target) error {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	c, err := t.dial(ctx)
	if err != nil {
		return fmt.Errorf("target %s is unreachable: %w", t.shown, err)
	}
	defer c.close()
	if err := c.roundTrip(ctx, newExchange(t.proto)); err != nil {
		what := "echo"
		if t.proto == protoRedis {
			what = "PING"
		}
		return fmt.Errorf("target %s: %s round trip failed: %w", t.shown, what, err)
	}
	return nil
}
