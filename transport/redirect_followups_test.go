package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestRedirectPolicyDefaultFollowsTenHops: DefaultMaxRedirects is the
// number of hops followed (docs/configuration.md: "10 hops"), one more than
// net/http's own default, which refuses the 10th redirect. The doc comment
// said it was the same as net/http's limit.
func TestRedirectPolicyDefaultFollowsTenHops(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		hits.Add(1)
		http.Redirect(w, r, "/?n="+strconv.Itoa(n+1), http.StatusFound)
	}))
	defer srv.Close()

	p := &transport.RedirectPolicy{}
	c := &http.Client{Transport: srv.Client().Transport, CheckRedirect: p.Check}
	_, err := c.Get(srv.URL + "/?n=0")
	if !errors.Is(err, transport.ErrRedirectDenied) {
		t.Fatalf("Get = %v; want ErrRedirectDenied", err)
	}
	if got := hits.Load() - 1; got != transport.DefaultMaxRedirects {
		t.Errorf("RedirectPolicy followed %d hops; want DefaultMaxRedirects = %d", got, transport.DefaultMaxRedirects)
	}

	hits.Store(0)
	_, err = (&http.Client{Transport: srv.Client().Transport}).Get(srv.URL + "/?n=0")
	if err == nil {
		t.Fatal("net/http followed an endless redirect chain")
	}
	if got := hits.Load() - 1; got != transport.DefaultMaxRedirects-1 {
		t.Errorf("net/http's default followed %d hops; this test assumed %d", got, transport.DefaultMaxRedirects-1)
	}
}
