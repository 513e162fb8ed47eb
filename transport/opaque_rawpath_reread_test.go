package transport_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// recordingRT answers 200 and records the requests it was handed.
type recordingRT struct{ reqs []*http.Request }

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.reqs = append(r.reqs, req)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
}

// opaqueLayers returns an egress layer allowing api.example.com and an
// API-key layer scoped to https://api.example.com, each over a recorder.
func opaqueLayers(t *testing.T) (eg http.RoundTripper, next *recordingRT, key http.RoundTripper, keyNext *recordingRT) {
	t.Helper()
	next, keyNext = &recordingRT{}, &recordingRT{}
	eg, err := transport.NewEgress(next, transport.EgressConfig{Allow: []string{"api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	scope, err := transport.ParseOrigins("https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	key, err = transport.NewAPIKey(keyNext, transport.APIKeyConfig{Source: staticKey("k-1"), Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	return eg, next, key, keyNext
}

// TestOpaqueTargetPathNotAURL: URL.Opaque is the one way to send a
// request-target net/http must not re-encode, a path holding a literal
// '%' that starts no escape ("/100%") among them (Path would send it as
// "%25", RawPath cannot hold it). The absolute-form target check parsed
// the whole target as a URL, so "//api.example.com/100%" on a URL of that
// very host was refused by the egress check as "not a valid URL", and
// the credential layers withheld their credential, while the origin-form
// "/100%" went out with it. Only the scheme and authority name where the
// request goes: a path or query that does not parse is no reason to
// refuse; a target naming another host is still refused.
func TestOpaqueTargetPathNotAURL(t *testing.T) {
	eg, next, key, keyNext := opaqueLayers(t)
	for _, opaque := range []string{"//api.example.com/100%", "//api.example.com/a?q=50%", "https://api.example.com/%zz"} {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com", nil)
		req.URL.Opaque = opaque
		n := len(next.reqs)
		resp, err := eg.RoundTrip(req)
		if err != nil || len(next.reqs) != n+1 {
			t.Errorf("egress: Opaque %q: err = %v, sent %d, want nil and 1", opaque, err, len(next.reqs)-n)
		} else {
			resp.Body.Close()
		}

		req, _ = http.NewRequest(http.MethodGet, "https://api.example.com", nil)
		req.URL.Opaque = opaque
		n = len(keyNext.reqs)
		resp, err = key.RoundTrip(req)
		if err != nil || len(keyNext.reqs) != n+1 {
			t.Errorf("api key: Opaque %q: err = %v, sent %d, want nil and 1", opaque, err, len(keyNext.reqs)-n)
			continue
		}
		resp.Body.Close()
		if got := keyNext.reqs[n]; got.Header.Get("X-Api-Key") == "" {
			t.Errorf("api key: Opaque %q: no credential for a target naming the scope's origin", opaque)
		}
	}
	// Another host, with a path that does not parse either: refused.
	for _, opaque := range []string{"//evil.example/100%", "https://evil.example/%zz", "//api.example.com:bad/100%"} {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com", nil)
		req.URL.Opaque = opaque
		n := len(next.reqs)
		if _, err := eg.RoundTrip(req); !errors.Is(err, transport.ErrEgressDenied) || len(next.reqs) != n {
			t.Errorf("egress: Opaque %q: err = %v, want ErrEgressDenied, nothing sent", opaque, err)
		}
		req, _ = http.NewRequest(http.MethodGet, "https://api.example.com", nil)
		req.URL.Opaque = opaque
		n = len(keyNext.reqs)
		if resp, err := key.RoundTrip(req); err == nil {
			resp.Body.Close()
			if len(keyNext.reqs) == n+1 && keyNext.reqs[n].Header.Get("X-Api-Key") != "" {
				t.Errorf("api key: Opaque %q: credential sent to a target outside the scope", opaque)
			}
		}
	}
}

// TestOpaqueTargetWithFragmentRefused: a '#' cannot be sent in a
// request-target, and where an absolute-form target holds one, parsers
// disagree on the host: url.Parse reads "//api.example.com#@evil.example/x"
// as host api.example.com (the rest a fragment), a proxy or server
// splitting at the last '@' reads evil.example. Such a target was let out
// by the egress check with the credential on it; it is refused, and gets
// no credential.
func TestOpaqueTargetWithFragmentRefused(t *testing.T) {
	eg, next, key, keyNext := opaqueLayers(t)
	for _, opaque := range []string{"//api.example.com#@evil.example/x", "https://api.example.com#@evil.example/x", "//api.example.com/x#frag"} {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com", nil)
		req.URL.Opaque = opaque
		if _, err := eg.RoundTrip(req); !errors.Is(err, transport.ErrEgressDenied) || len(next.reqs) != 0 {
			t.Errorf("egress: Opaque %q: err = %v, sent %d, want ErrEgressDenied and nothing sent", opaque, err, len(next.reqs))
		}
		req, _ = http.NewRequest(http.MethodGet, "https://api.example.com", nil)
		req.URL.Opaque = opaque
		n := len(keyNext.reqs)
		if resp, err := key.RoundTrip(req); err == nil {
			resp.Body.Close()
			if len(keyNext.reqs) == n+1 && keyNext.reqs[n].Header.Get("X-Api-Key") != "" {
				t.Errorf("api key: Opaque %q: credential sent with a target whose host parsers disagree on", opaque)
			}
		}
	}
}
