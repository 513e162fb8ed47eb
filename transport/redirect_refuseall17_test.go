package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestRedirectPolicyNegativeMaxRedirectsSaysRefused: a negative
// MaxRedirects (client.WithMaxRedirects(-1)) refuses every redirect, as
// docs/configuration.md says; the refusal said "more than -1 redirects",
// a limit the caller never set, rather than that redirects are refused.
func TestRedirectPolicyNegativeMaxRedirectsSaysRefused(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Redirect(w, r, "/next", http.StatusFound)
	}))
	defer srv.Close()

	for _, max := range []int{-1, -5} {
		hits.Store(0)
		p := &transport.RedirectPolicy{MaxRedirects: max}
		c := &http.Client{Transport: srv.Client().Transport, CheckRedirect: p.Check}
		_, err := c.Get(srv.URL + "/")
		re, ok := errors.AsType[*transport.RedirectError](err)
		if !ok || !errors.Is(err, transport.ErrRedirectDenied) {
			t.Fatalf("MaxRedirects %d: Get = %v; want a *RedirectError (ErrRedirectDenied)", max, err)
		}
		if got := hits.Load(); got != 1 {
			t.Errorf("MaxRedirects %d: %d requests reached the server; want 1 (no hop followed)", max, got)
		}
		if strings.Contains(re.Reason, "-") || !strings.Contains(re.Reason, "refused") {
			t.Errorf("MaxRedirects %d: Reason %q; want one saying redirects are refused, naming no negative limit", max, re.Reason)
		}
	}
}
