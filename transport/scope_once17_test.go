package transport_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// scopeSeen is what a request carried when it left the stack.
type scopeSeen struct {
	url, host, auth, key, query, sig string
}

// scopeWire records every request it gets and answers 503 to the first
// fail of them, 200 after.
type scopeWire struct {
	mu   sync.Mutex
	fail int
	got  []scopeSeen
}

func (w *scopeWire) RoundTrip(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, scopeSeen{r.URL.String(), r.Host, r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.URL.Query().Get("api_key"), r.Header.Get("Signature")})
	status := http.StatusOK
	if len(w.got) <= w.fail {
		status = http.StatusServiceUnavailable
	}
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
}

func (w *scopeWire) last(t *testing.T) scopeSeen {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.got) == 0 {
		t.Fatal("nothing sent")
	}
	return w.got[len(w.got)-1]
}

// rewriter is a caller's layer that sends a request (on its own copy)
// to host instead, URL and Host, when when says so.
type rewriter struct {
	next http.RoundTripper
	host string
	when func(r *http.Request) bool
}

func (l rewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	if l.when != nil && !l.when(r) {
		return l.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context())
	r2.URL.Host, r2.Host = l.host, l.host
	return l.next.RoundTrip(r2)
}

// TestScopeCheckedOncePerDestination: a credential layer right above a sign
// layer with the same origin list hands the request it found in scope to
// the sign layer without the sign layer's own check (one scope check a
// send instead of two). The signature must still go only to the sign
// layer's scope, through every stack shape: the two layers alone or
// together, with the same or other origins, a caller's layer between them
// that sends elsewhere, a retry whose new attempt goes elsewhere, and a
// redirect hop out of scope; an out-of-scope URL, Host or absolute-form
// target gets neither credential nor signature.
func TestScopeCheckedOncePerDestination(t *testing.T) {
	const in, out = "api.example.test", "evil.example.test"
	apiOnly := func() transport.Origins { return mustOrigins(t, "https://"+in) }
	both := func() transport.Origins { return mustOrigins(t, "https://"+in, "https://"+out) }
	token := tokens.Static(tokens.NewToken("tok-1", "Bearer", time.Time{}))
	auth := func(next http.RoundTripper, scope transport.Origins) http.RoundTripper {
		rt, err := transport.NewAuth(next, transport.AuthConfig{Source: token, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	apiKey := func(next http.RoundTripper, scope transport.Origins) http.RoundTripper {
		rt, err := transport.NewAPIKey(next, transport.APIKeyConfig{Source: staticKey("key-1"), Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	apiKeyQuery := func(next http.RoundTripper, scope transport.Origins) http.RoundTripper {
		rt, err := transport.NewAPIKey(next, transport.APIKeyConfig{Source: staticKey("key-1"), QueryParam: "api_key", Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	sign := func(next http.RoundTripper, scope transport.Origins) http.RoundTripper {
		return newSignLayer(t, next, scope, nil)
	}
	// cred reports whether s carries any of the credentials.
	cred := func(s scopeSeen) bool { return s.auth != "" || s.key != "" || s.query != "" }

	type request struct {
		url, host  string
		cred, sign bool // wanted on the wire
	}
	inScope := request{"https://" + in + "/v1", "", true, true}
	outURL := request{"https://" + out + "/v1", "", false, false}
	outHost := request{"https://" + in + "/v1", out, false, false}
	for _, tc := range []struct {
		name  string
		build func(w http.RoundTripper) http.RoundTripper
		reqs  []request
	}{
		{"auth/sign", func(w http.RoundTripper) http.RoundTripper { return auth(sign(w, apiOnly()), apiOnly()) },
			[]request{inScope, outURL, outHost}},
		{"apikey/sign", func(w http.RoundTripper) http.RoundTripper { return apiKey(sign(w, apiOnly()), apiOnly()) },
			[]request{inScope, outURL, outHost}},
		{"apikey-query/sign", func(w http.RoundTripper) http.RoundTripper { return apiKeyQuery(sign(w, apiOnly()), apiOnly()) },
			[]request{inScope, outURL, outHost}},
		{"apikey/auth/sign", func(w http.RoundTripper) http.RoundTripper {
			return apiKey(auth(sign(w, apiOnly()), apiOnly()), apiOnly())
		}, []request{inScope, outURL, outHost}},
		{"auth-wider/sign", func(w http.RoundTripper) http.RoundTripper { return auth(sign(w, apiOnly()), both()) },
			[]request{inScope, {"https://" + out + "/v1", "", true, false}, {"https://" + in + "/v1", out, true, false}}},
		{"auth/sign-wider", func(w http.RoundTripper) http.RoundTripper { return auth(sign(w, both()), apiOnly()) },
			[]request{inScope, {"https://" + out + "/v1", "", false, true}, {"https://" + in + "/v1", out, false, true}}},
		{"sign alone", func(w http.RoundTripper) http.RoundTripper { return sign(w, apiOnly()) },
			[]request{{inScope.url, "", false, true}, outURL, outHost}},
		{"auth alone", func(w http.RoundTripper) http.RoundTripper { return auth(w, apiOnly()) },
			[]request{{inScope.url, "", true, false}, outURL, outHost}},
		{"auth/rewriter/sign", func(w http.RoundTripper) http.RoundTripper {
			return auth(rewriter{next: sign(w, apiOnly()), host: out}, apiOnly())
		}, []request{{inScope.url, "", true, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &scopeWire{}
			rt := tc.build(w)
			for _, r := range tc.reqs {
				req, _ := http.NewRequest("GET", r.url, nil)
				req.Host = r.host
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatalf("%s (Host %q): %v", r.url, r.host, err)
				}
				resp.Body.Close()
				got := w.last(t)
				if cred(got) != r.cred || (got.sig != "") != r.sign {
					t.Errorf("%s (Host %q), sent to %s (Host %q): credential %v, signature %v; want %v, %v",
						r.url, r.host, got.url, got.host, cred(got), got.sig != "", r.cred, r.sign)
				}
			}
		})
	}

	// An absolute-form target (URL.Opaque) out of scope: neither.
	t.Run("opaque target", func(t *testing.T) {
		w := &scopeWire{}
		rt := auth(sign(w, apiOnly()), apiOnly())
		req, _ := http.NewRequest("GET", "https://"+in+"/v1", nil)
		req.URL.Opaque = "//" + out + "/v1"
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := w.last(t); cred(got) || got.sig != "" {
			t.Errorf("sent to %s: credential %v, signature %v; want neither", got.url, cred(got), got.sig != "")
		}
	})

	// A retry whose second attempt a caller's layer above the credential
	// layer sends elsewhere: the new attempt is checked anew.
	t.Run("retry elsewhere", func(t *testing.T) {
		w := &scopeWire{fail: 1}
		stack := rewriter{next: auth(sign(w, apiOnly()), apiOnly()), host: out, when: func(r *http.Request) bool {
			a, ok := transport.AttemptFrom(r.Context())
			return ok && a.Number == 1
		}}
		rt, err := transport.NewRetry(stack, transport.RetryConfig{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", "https://"+in+"/v1", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.got) != 2 {
			t.Fatalf("%d sends, want 2", len(w.got))
		}
		if first := w.got[0]; !cred(first) || first.sig == "" {
			t.Errorf("first attempt to %s: credential %v, signature %v; want both", first.url, cred(first), first.sig != "")
		}
		if second := w.got[1]; !strings.Contains(second.url, out) || cred(second) || second.sig != "" {
			t.Errorf("second attempt to %s: credential %v, signature %v; want neither", second.url, cred(second), second.sig != "")
		}
	})

	// A redirect hop out of scope, through http.Client: neither.
	t.Run("redirect out of scope", func(t *testing.T) {
		w := &scopeWire{}
		redirecting := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := w.RoundTrip(r)
			if err == nil && r.URL.Host == in {
				resp.StatusCode = http.StatusFound
				resp.Header.Set("Location", "https://"+out+"/elsewhere")
			}
			return resp, err
		})
		c := &http.Client{Transport: auth(sign(redirecting, apiOnly()), apiOnly())}
		resp, err := c.Get("https://" + in + "/v1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.got) != 2 {
			t.Fatalf("%d sends, want 2", len(w.got))
		}
		if first := w.got[0]; !cred(first) || first.sig == "" {
			t.Errorf("first hop: credential %v, signature %v; want both", cred(first), first.sig != "")
		}
		if hop := w.got[1]; cred(hop) || hop.sig != "" {
			t.Errorf("hop to %s: credential %v, signature %v; want neither", hop.url, cred(hop), hop.sig != "")
		}
	})
}
