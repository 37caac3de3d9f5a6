package bench

import (
	"net/url"
	"testing"
)

func TestCheckURLPort(t *testing.T) {
	for in, ok := range map[string]bool{
		"http://h/": true, "http://h:1/": true, "http://h:65535/": true, "redis://[::1]:6379": true,
		"http://h:0/": false, "http://h:65536/": false, "tcp://h:99999999999": false, "http://[::1]:0/": false,
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckURLPort(u); (err == nil) != ok {
			t.Errorf("%s: %v", in, err)
		}
	}
}
