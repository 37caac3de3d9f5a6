package browsertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRecordsErrors: the harness sees what a broken page does, so a browser
// test that finds no error means something.
func TestRecordsErrors(t *testing.T) {
	b := Start(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<!doctype html><title>t</title><link rel="icon" href="data:,">
<script src="/missing.js"></script>
<script>console.error("broken on purpose"); setTimeout(() => { throw new Error("thrown on purpose") });</script>
<p id="ok">ok</p>`))
	}))
	defer srv.Close()
	if err := b.Do(20*time.Second, chromedp.Navigate(srv.URL), chromedp.WaitReady("#ok"), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(b.Errors(), "\n")
	for _, want := range []string{"broken on purpose", "thrown on purpose", "404"} {
		if !strings.Contains(all, want) {
			t.Errorf("errors lack %q:\n%s", want, all)
		}
	}
}
