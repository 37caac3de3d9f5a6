package bench

import (
	"fmt"
	"net/url"
	"strconv"
)

// CheckURLPort refuses a URL whose explicit port is outside 1..65535: no
// connection can reach port 0 or 70000, so such a URL is an input error found
// before anything runs, not a failed measurement. No port is fine (the
// scheme's default applies). The error names the port only: callers add the
// URL, redacted.
func CheckURLPort(u *url.URL) error {
	p := u.Port()
	if p == "" {
		return nil
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s is not a port number from 1 to 65535", p)
	}
	return nil
}
