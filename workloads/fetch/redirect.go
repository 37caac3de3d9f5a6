package fetch

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/perfkit/perfkit/bench"
	"github.com/valyala/fasthttp"
)

// Redirects (redirects=N): an op follows up to N of them and counts the last
// response; a longer chain, or a Location that is not an http(s) URL, fails
// as kind redirect. With N = 0 nothing is followed and a 3xx is the answer.
// Methods change as browsers and net/http change them: 303 (and 301 or 302
// after a POST) continue with a GET without the body; 307 and 308 repeat
// the request. Credentials (Authorization, Cookie) are not sent to another
// host.
//
// HTTP/1.1 requests are written once at Setup (h1Client.prepare); a
// redirect's request is written the first time an op meets its Location and
// kept (redirectHop), so following a redirect op after op allocates nothing.

// redirectHop is where a target's redirect leads: the request sent next,
// for one Location and status, and the hops after it.
type redirectHop struct {
	location string
	code     int
	t        preparedTarget
	hc       *fasthttp.HostClient
	next     atomic.Pointer[redirectHop]
}

func isRedirect(code int) bool {
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// tooManyRedirects is the error of a chain longer than n.
func tooManyRedirects(n int) *bench.KindError {
	return &bench.KindError{Kind: KindRedirect, Err: fmt.Errorf("more than %d redirects (param redirects)", n)}
}

// send sends target i (t) as raw (t.raw, or its filled template) and, with
// redirects, follows them; with phases it records the last response's ttfb
// and body. A redirect's request is written from the target as declared
// (a templated target's Location is resolved against its URL template).
func (c *h1Client) send(i int, t *preparedTarget, raw []byte, deadline time.Time, pc *phaseClock) (*fasthttp.Response, error) {
	resp, err := c.do(c.hosts[t.host], t, raw, deadline, pc)
	if err == nil && c.redirects > 0 {
		resp, err = c.follow(&c.hops[i], t, resp, deadline, pc)
	}
	if err == nil && pc != nil {
		pc.record()
	}
	return resp, err
}

// follow follows resp's redirects from t, up to c.redirects.
func (c *h1Client) follow(slot *atomic.Pointer[redirectHop], t *preparedTarget, resp *fasthttp.Response, deadline time.Time, pc *phaseClock) (*fasthttp.Response, error) {
	for n := 0; ; n++ {
		code := resp.StatusCode()
		if !isRedirect(code) {
			return resp, nil
		}
		loc := resp.Header.Peek("Location")
		if len(loc) == 0 {
			return resp, nil // nowhere to go: this is the answer
		}
		if n == c.redirects {
			fasthttp.ReleaseResponse(resp)
			return nil, c.tooMany
		}
		h := slot.Load()
		if h == nil || h.code != code || h.location != string(loc) {
			var err error
			if h, err = c.newHop(t, string(loc), code); err != nil {
				fasthttp.ReleaseResponse(resp)
				return nil, err
			}
			slot.Store(h)
		}
		fasthttp.ReleaseResponse(resp)
		var err error
		if resp, err = c.do(h.hc, &h.t, h.t.raw, deadline, pc); err != nil {
			return nil, err
		}
		t, slot = &h.t, &h.next
	}
}

// newHop prepares the request that follows from's redirect to loc.
func (c *h1Client) newHop(from *preparedTarget, loc string, code int) (*redirectHop, error) {
	next, err := redirectTarget(from.target, loc, code)
	if err != nil {
		return nil, err
	}
	h := &redirectHop{location: loc, code: code, t: preparedTarget{target: next, uri: next.url.String()}}
	if h.hc, err = c.hostFor(next.url); err != nil {
		return nil, &bench.KindError{Kind: KindRedirect, Err: err}
	}
	if err := c.prepare(&h.t); err != nil {
		return nil, &bench.KindError{Kind: KindRedirect, Err: fmt.Errorf("redirect to %s: %w", redactURL(h.t.uri), err)}
	}
	return h, nil
}

// redirectTarget is the request that follows from's redirect (status code)
// to loc.
func redirectTarget(from target, loc string, code int) (target, error) {
	u, err := from.url.Parse(loc)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return target{}, &bench.KindError{Kind: KindRedirect, Err: fmt.Errorf("redirect to %q: not an http or https URL", bench.RedactText(loc))}
	}
	if u.Path == "" {
		u.Path = "/"
	}
	next := target{method: from.method, url: u, body: from.body}
	if code == http.StatusSeeOther && from.method != "HEAD" ||
		(code == http.StatusMovedPermanently || code == http.StatusFound) && from.method == "POST" {
		next.method, next.body = "GET", nil
	}
	sameHost := strings.EqualFold(u.Host, from.url.Host)
	for _, h := range from.headers {
		switch {
		case strings.EqualFold(h.name, "Host") && !sameHost,
			!sameHost && isCredentialHeader(h.name),
			next.body == nil && from.body != nil && strings.EqualFold(h.name, "Content-Type"):
			continue
		}
		next.headers = append(next.headers, h)
	}
	return next, nil
}

// isCredentialHeader names the headers net/http drops on a redirect to
// another host.
func isCredentialHeader(name string) bool {
	for _, n := range [...]string{"Authorization", "Www-Authenticate", "Cookie", "Cookie2", "Proxy-Authorization"} {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	return false
}

// followRedirects makes c follow up to n redirects through an http.Client.
func (c *h2Client) followRedirects(n int) {
	c.tooMany = tooManyRedirects(n)
	c.client = &http.Client{
		Transport: c.tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &bench.KindError{Kind: KindRedirect, Err: fmt.Errorf("redirect to %q: not an http or https URL", redactURL(req.URL.String()))}
			}
			if len(via) > n {
				return http.ErrUseLastResponse // the 3xx, which roundTrip fails
			}
			if !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
				// net/http keeps them for the same host name on another
				// port; HTTP/1.1 (redirectTarget) and curl do not.
				for name := range req.Header {
					if isCredentialHeader(name) {
						req.Header.Del(name)
					}
				}
			}
			return nil
		},
	}
}

// roundTrip sends req, following redirects when asked to.
func (c *h2Client) roundTrip(req *http.Request) (*http.Response, error) {
	if c.client == nil {
		return c.tr.RoundTrip(req)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		var ke *bench.KindError
		if errors.As(err, &ke) {
			return nil, ke
		}
		return nil, err
	}
	if isRedirect(resp.StatusCode) && resp.Header.Get("Location") != "" {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // so the connection is reused
		_ = resp.Body.Close()
		return nil, c.tooMany
	}
	return resp, nil
}

// hostFor returns the HostClient for u's scheme and host: one of the
// targets', or one made for a redirect's host.
func (c *h1Client) hostFor(u *url.URL) (*fasthttp.HostClient, error) {
	isTLS := u.Scheme == "https"
	addr := fasthttp.AddMissingPort(u.Host, isTLS)
	key := u.Scheme + "://" + addr
	if i, ok := c.index[key]; ok {
		return c.hosts[i], nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc, ok := c.extra[key]; ok {
		return hc, nil
	}
	if len(c.extra) >= maxRedirectHosts {
		return nil, fmt.Errorf("redirect to %s: more than %d hosts reached by redirects", redactURL(u.String()), maxRedirectHosts)
	}
	hc := c.newHost(addr, isTLS)
	if c.extra == nil {
		c.extra = map[string]*fasthttp.HostClient{}
	}
	c.extra[key] = hc
	return hc, nil
}

// maxRedirectHosts bounds the hosts redirects may lead to: each holds a
// connection pool for the rest of the run.
const maxRedirectHosts = 64
