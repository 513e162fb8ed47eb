package transport_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestRedirectToNonHTTPSchemeSaysSo: a hop to a scheme that is neither http
// nor https is refused as such, from an https and from an http page, not
// reported as an https to http downgrade or an unlisted origin.
func TestRedirectToNonHTTPSchemeSaysSo(t *testing.T) {
	p := &transport.RedirectPolicy{}
	for _, from := range []string{"https://api.example.com/a", "http://api.example.com/a"} {
		for _, to := range []string{"file:///etc/passwd", "ftp://api.example.com/x", "javascript:alert(1)", "gopher://api.example.com:70/x"} {
			prev, _ := http.NewRequest(http.MethodGet, from, nil)
			u, err := url.Parse(to)
			if err != nil {
				t.Fatal(err)
			}
			req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
			err = p.Check(req, []*http.Request{prev})
			var re *transport.RedirectError
			if !errors.As(err, &re) || !errors.Is(err, transport.ErrRedirectDenied) {
				t.Fatalf("%s -> %s: err = %v, want a *RedirectError", from, to, err)
			}
			if strings.Contains(re.Reason, "downgrade") || !strings.Contains(re.Reason, "scheme") {
				t.Errorf("%s -> %s: reason %q, want one naming the scheme", from, to, re.Reason)
			}
		}
	}
	// The downgrade itself is still reported as one.
	prev, _ := http.NewRequest(http.MethodGet, "https://api.example.com/a", nil)
	req, _ := http.NewRequest(http.MethodGet, "http://api.example.com/b", nil)
	var re *transport.RedirectError
	if err := p.Check(req, []*http.Request{prev}); !errors.As(err, &re) || re.Reason != "https to http downgrade" {
		t.Fatalf("downgrade: err = %v", err)
	}
}
