package signer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// failLookup is a KeyLookup whose backend is down.
type failLookup struct{}

func (failLookup) LookupKey(context.Context, string) (*Key, error) {
	return nil, errors.New("database down")
}

// A 401 from Middleware must say what it is about: RFC 9110 §15.5.2 asks
// for a WWW-Authenticate challenge on every 401, and without one a client
// that also sent a bearer token takes the 401 for a rejected token (and
// fetches a new one for nothing). It carries "WWW-Authenticate: Signature"
// and an RFC 9421 §5.1 Accept-Signature naming what a fresh signature must
// cover; a 503 (key lookup down) or a 413 carries neither.
func TestMiddleware401Challenge(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k), Tag: "app-1"})
	now := time.Now()
	serve := func(v *Verifier, r *http.Request) *httptest.ResponseRecorder {
		t.Helper()
		w := httptest.NewRecorder()
		v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		})).ServeHTTP(w, r)
		return w
	}
	signed := func(method, body string, at time.Time) *http.Request {
		t.Helper()
		var r *http.Request
		if body == "" {
			r = httptest.NewRequest(method, "https://api.example.test/v1?x=1", nil)
		} else {
			r = httptest.NewRequest(method, "https://api.example.test/v1?x=1", strings.NewReader(body))
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		}
		if err := s.Sign(context.Background(), r, at); err != nil {
			t.Fatal(err)
		}
		return r
	}
	const base = `("@method" "@authority" "@path" "@query"`
	for _, tc := range []struct {
		name      string
		opts      VerifierOptions
		req       *http.Request
		code      int
		challenge string // "": none
		accept    string // "": none
	}{
		{name: "unsigned", opts: VerifierOptions{Keys: StaticKey(k), Tag: "app-1"},
			req: httptest.NewRequest("GET", "https://api.example.test/v1?x=1", nil), code: 401,
			challenge: "Signature", accept: `sig1=` + base + `);created;tag="app-1"`},
		{name: "stale", opts: VerifierOptions{Keys: StaticKey(k)},
			req: signed("GET", "", now.Add(-time.Hour)), code: 401,
			challenge: "Signature", accept: `sig1=` + base + `);created`},
		{name: "body, own label", opts: VerifierOptions{Keys: StaticKey(k), Label: "mine"},
			req: signed("POST", `{"a":1}`, now), code: 401,
			challenge: "Signature", accept: `mine=` + base + ` "content-digest");created`},
		{name: "body allowed unsigned, no requirement", opts: VerifierOptions{Keys: StaticKey(k), Tag: "other", AllowUnsignedBody: true, Required: []Component{}},
			req: signed("POST", `{"a":1}`, now), code: 401,
			// No component to ask for: "sig1=();created" would ask for a
			// signature the verifier refuses (it covers none), so no field.
			challenge: "Signature", accept: ""},
		{name: "no requirement, no body", opts: VerifierOptions{Keys: StaticKey(k), Required: []Component{}},
			req: httptest.NewRequest("GET", "https://api.example.test/v1", nil), code: 401,
			challenge: "Signature", accept: ""},
		{name: "no requirement, body", opts: VerifierOptions{Keys: StaticKey(k), Required: []Component{}},
			req: httptest.NewRequest("POST", "https://api.example.test/v1", strings.NewReader(`{"a":1}`)), code: 401,
			challenge: "Signature", accept: `sig1=("content-digest");created`},
		{name: "key lookup down", opts: VerifierOptions{Keys: failLookup{}},
			req: signed("GET", "", now), code: 503},
		{name: "body too large", opts: VerifierOptions{Keys: StaticKey(k), MaxBodySize: 2},
			req: signed("POST", `{"a":1}`, now), code: 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := serve(newTestVerifier(t, tc.opts), tc.req)
			if w.Code != tc.code {
				t.Fatalf("status %d, want %d", w.Code, tc.code)
			}
			if got := w.Header().Values("WWW-Authenticate"); tc.challenge == "" && len(got) != 0 || tc.challenge != "" && (len(got) != 1 || got[0] != tc.challenge) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if got := w.Header().Values("Accept-Signature"); tc.accept == "" && len(got) != 0 || tc.accept != "" && (len(got) != 1 || got[0] != tc.accept) {
				t.Errorf("Accept-Signature %q, want %q", got, tc.accept)
			}
		})
	}
}

// The Accept-Signature a Verifier sends asks for what a Signer covering
// those components signs: a signature made as it asks is accepted.
func TestMiddlewareAcceptSignatureFulfilled(t *testing.T) {
	k := testKey(t, "k")
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Tag: "t", Required: []Component{Method, Path, Field("x-tenant")}})
	w := httptest.NewRecorder()
	v.Middleware(http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("GET", "https://api.example.test/v1", nil))
	want := `sig1=("@method" "@path" "x-tenant");created;tag="t"`
	if got := w.Header().Get("Accept-Signature"); got != want {
		t.Fatalf("Accept-Signature %q, want %q", got, want)
	}
	s := mustSigner(t, Options{Keys: StaticKey(k), Tag: "t", Components: []Component{Method, Path, Field("x-tenant")}})
	r := httptest.NewRequest("GET", "https://api.example.test/v1", nil)
	r.Header.Set("X-Tenant", "a")
	if err := s.Sign(context.Background(), r, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(r, time.Now()); err != nil {
		t.Fatal(err)
	}
}
