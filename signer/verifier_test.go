package signer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// serverView returns req as a server receives it: written to the wire and
// parsed back (header casing, Host, Content-Length, RequestURI), with TLS
// set for https. req's body comes from GetBody and is not consumed.
func serverView(t testing.TB, req *http.Request) *http.Request {
	t.Helper()
	out := req.Clone(context.Background())
	if req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			t.Fatal(err)
		}
		out.Body = b
	}
	var wire bytes.Buffer
	if err := out.Write(&wire); err != nil {
		t.Fatal(err)
	}
	in, err := http.ReadRequest(bufio.NewReader(&wire))
	if err != nil {
		t.Fatal(err)
	}
	if req.URL.Scheme == "https" {
		in.TLS = &tls.ConnectionState{}
	}
	return in
}

func newTestVerifier(t testing.TB, opts VerifierOptions) *Verifier {
	t.Helper()
	if opts.Keys == nil {
		opts.Keys = StaticKey(testKey(t, "k"))
	}
	v, err := NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func signed(t testing.TB, s *Signer, method, url, body string, at time.Time) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := s.Sign(context.Background(), req, at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestNewVerifierValidates(t *testing.T) {
	ks := StaticKey(testKey(t, "k"))
	for _, o := range []VerifierOptions{
		{},
		{Keys: ks, Label: "Bad"},
		{Keys: ks, Required: []Component{{}}},
		{Keys: ks, MaxAge: -1},
		{Keys: ks, ClockSkew: -1},
		{Keys: ks, MaxBodySize: -1},
		{Keys: ks, Scheme: "ftp"},
	} {
		var ce *ConfigError
		if _, err := NewVerifier(o); !errors.As(err, &ce) {
			t.Errorf("%+v: err = %v", o, err)
		}
	}
}

func TestVerifyRoundTripAndPolicy(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k), Expires: 30 * time.Second, Tag: "orders-api"})
	base := VerifierOptions{Keys: StaticKey(k), Tag: "orders-api"}

	tests := []struct {
		name   string
		opts   func(*VerifierOptions)
		req    func() *http.Request
		now    time.Time
		want   error
		detail string
	}{
		{name: "get ok", req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/v1/x?y=1", "", t0) }},
		{name: "post ok", req: func() *http.Request { return signed(t, s, "POST", "https://api.example.com/v1/x", `{"a":1}`, t0) }},
		{name: "skew tolerated", now: t0.Add(-DefaultClockSkew), req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
		{name: "future", now: t0.Add(-DefaultClockSkew - time.Second), want: ErrFuture,
			req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
		{name: "expired", now: t0.Add(30*time.Second + DefaultClockSkew + time.Second), want: ErrExpired,
			req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
		{name: "stale", opts: func(o *VerifierOptions) { o.MaxAge = 5 * time.Second; o.ClockSkew = time.Second }, now: t0.Add(7 * time.Second), want: ErrStale,
			req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
		{name: "wrong tag", opts: func(o *VerifierOptions) { o.Tag = "billing-api" }, want: ErrTagMismatch,
			req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
		{name: "wrong key", opts: func(o *VerifierOptions) { o.Keys = StaticKey(mustHMAC(t, "k", bytes.Repeat([]byte{7}, 32))) }, want: ErrInvalidSignature,
			req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
		{name: "tampered path", want: ErrInvalidSignature, req: func() *http.Request {
			r := signed(t, s, "GET", "https://api.example.com/v1/a", "", t0)
			r.URL.Path = "/v1/b"
			return r
		}},
		{name: "tampered query", want: ErrInvalidSignature, req: func() *http.Request {
			r := signed(t, s, "GET", "https://api.example.com/v1/a?amount=1", "", t0)
			r.URL.RawQuery = "amount=1000"
			return r
		}},
		{name: "tampered method", want: ErrInvalidSignature, req: func() *http.Request {
			r := signed(t, s, "GET", "https://api.example.com/v1/a", "", t0)
			r.Method = "DELETE"
			return r
		}},
		{name: "http instead of https", want: ErrInvalidSignature, opts: func(o *VerifierOptions) { o.Required = append(DefaultRequired(), Scheme) },
			req: func() *http.Request {
				s2 := mustSigner(t, Options{Keys: StaticKey(k), Tag: "orders-api", Components: append(DefaultComponents(), Scheme)})
				r := signed(t, s2, "GET", "https://api.example.com/v1/a", "", t0)
				r.URL.Scheme = "http"
				return r
			}},
		{name: "tampered body", want: ErrDigestMismatch, req: func() *http.Request {
			r := signed(t, s, "POST", "https://api.example.com/v1/x", `{"amount":1}`, t0)
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(`{"amount":9}`)), nil }
			r.ContentLength = 12
			return r
		}},
		{name: "body too large", opts: func(o *VerifierOptions) { o.MaxBodySize = 4 }, want: ErrBodyTooLarge,
			req: func() *http.Request { return signed(t, s, "POST", "https://api.example.com/v1/x", `{"a":1}`, t0) }},
		{name: "body not covered", want: ErrMissingComponent, req: func() *http.Request {
			s2 := mustSigner(t, Options{Keys: StaticKey(k), Tag: "orders-api", Components: []Component{Method, Authority, Path, Query}})
			return signed(t, s2, "POST", "https://api.example.com/v1/x", `{"a":1}`, t0)
		}},
		{name: "body not covered but allowed", opts: func(o *VerifierOptions) { o.AllowUnsignedBody = true }, req: func() *http.Request {
			s2 := mustSigner(t, Options{Keys: StaticKey(k), Tag: "orders-api", Components: []Component{Method, Authority, Path, Query}})
			return signed(t, s2, "POST", "https://api.example.com/v1/x", `{"a":1}`, t0)
		}},
		{name: "required component missing", opts: func(o *VerifierOptions) { o.Required = []Component{Method, Field("date")} }, want: ErrMissingComponent, detail: `"date"`,
			req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
		{name: "no nonce", want: ErrMissingParameter, detail: "nonce", req: func() *http.Request {
			s2 := mustSigner(t, Options{Keys: StaticKey(k), Tag: "orders-api", Params: []Param{ParamCreated, ParamKeyID, ParamTag}})
			return signed(t, s2, "GET", "https://api.example.com/", "", t0)
		}},
		{name: "no created", want: ErrMissingParameter, detail: "created", req: func() *http.Request {
			s2 := unvalidatedSigner(t, Options{Keys: StaticKey(k), Tag: "orders-api"}, ParamNonce, ParamKeyID, ParamTag)
			return signed(t, s2, "GET", "https://api.example.com/", "", t0)
		}},
		{name: "no keyid", want: ErrUnknownKey, req: func() *http.Request {
			s2 := unvalidatedSigner(t, Options{Keys: StaticKey(k), Tag: "orders-api"}, ParamCreated, ParamNonce, ParamTag)
			return signed(t, s2, "GET", "https://api.example.com/", "", t0)
		}},
		{name: "no signature", want: ErrMissingSignature, req: func() *http.Request {
			r, _ := http.NewRequest("GET", "https://api.example.com/", nil)
			return r
		}},
		{name: "alg mismatch", opts: func(o *VerifierOptions) { o.Keys = StaticKey(mustEdPublic(t, "k")) }, want: ErrAlgorithmMismatch,
			req: func() *http.Request { return signed(t, s, "GET", "https://api.example.com/", "", t0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := base
			if tt.opts != nil {
				tt.opts(&opts)
			}
			v := newTestVerifier(t, opts)
			now := t0.Add(time.Second)
			if !tt.now.IsZero() {
				now = tt.now
			}
			req := serverView(t, tt.req())
			res, err := v.Verify(req, now)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				if res.KeyID != "k" || res.Tag != "orders-api" || res.Algorithm != HMACSHA256 {
					t.Errorf("result %+v", res)
				}
				if req.Body != nil && req.ContentLength > 0 {
					b, _ := io.ReadAll(req.Body)
					if string(b) != `{"a":1}` {
						t.Errorf("body after verify: %q", b)
					}
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.detail != "" && !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("err %q lacks %q", err, tt.detail)
			}
		})
	}
}

func mustHMAC(t testing.TB, id string, secret []byte) *Key {
	k, err := NewHMACKey(id, secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustEdPublic(t testing.TB, id string) *Key { return testEdKey(t, id).Public() }

func TestVerifyRejectsReplay(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	store := NewMemoryNonceStore(10)
	v := newTestVerifier(t, VerifierOptions{Nonces: store})
	req := signed(t, s, "POST", "https://api.example.com/pay", `{"amount":5}`, t0)
	if _, err := v.Verify(serverView(t, req), t0); err != nil {
		t.Fatal(err)
	}
	_, err := v.Verify(serverView(t, req), t0.Add(2*time.Second))
	if !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: err = %v", err)
	}
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.KeyID != "k" || ve.Label != "sig1" {
		t.Errorf("VerifyError %+v", ve)
	}
	// A fresh signature of the same request is accepted.
	if _, err := v.Verify(serverView(t, signed(t, s, "POST", "https://api.example.com/pay", `{"amount":5}`, t0)), t0); err != nil {
		t.Fatal(err)
	}
	// The replay is still refused right up to the end of the window, and
	// after it the signature is stale anyway.
	if _, err := v.Verify(serverView(t, req), t0.Add(DefaultMaxAge+DefaultClockSkew)); !errors.Is(err, ErrReplay) {
		t.Errorf("at the window's edge: %v", err)
	}
	if _, err := v.Verify(serverView(t, req), t0.Add(DefaultMaxAge+DefaultClockSkew+time.Second)); !errors.Is(err, ErrStale) {
		t.Errorf("after the window: %v", err)
	}
	// Failed verifications never reach the store.
	before := store.Len()
	bad := serverView(t, signed(t, s, "GET", "https://api.example.com/", "", t0))
	bad.Header.Set("Signature", "sig1=:AAAA:")
	_, _ = v.Verify(bad, t0)
	if store.Len() != before {
		t.Errorf("an invalid signature consumed a nonce slot")
	}
}

func TestVerifyNonceStoreFullFailsClosed(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	v := newTestVerifier(t, VerifierOptions{Nonces: NewMemoryNonceStore(2)})
	for i := 0; i < 2; i++ {
		if _, err := v.Verify(serverView(t, signed(t, s, "GET", "https://a.example/", "", t0)), t0); err != nil {
			t.Fatal(err)
		}
	}
	_, err := v.Verify(serverView(t, signed(t, s, "GET", "https://a.example/", "", t0)), t0)
	if !errors.Is(err, ErrNonceStoreFull) {
		t.Fatalf("err = %v, want ErrNonceStoreFull", err)
	}
	rec := httptest.NewRecorder()
	DefaultErrorHandler(rec, nil, err)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("DefaultErrorHandler: %d %v", rec.Code, rec.Header())
	}
	// Once the first entries expire there is room again.
	later := t0.Add(DefaultMaxAge + DefaultClockSkew + time.Second)
	if _, err := v.Verify(serverView(t, signed(t, s, "GET", "https://a.example/", "", later)), later); err != nil {
		t.Fatal(err)
	}
}

// TestMiddleware runs a real client and server: the client signs with the
// default components, the server verifies, the handler still reads the
// body, and a captured request replayed verbatim is refused.
func TestMiddleware(t *testing.T) {
	k := testKey(t, "k")
	var captured *http.Request
	var bodies []string
	v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
	srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, ok := ResultFromContext(r.Context())
		if !ok || res.KeyID != "k" {
			t.Errorf("ResultFromContext: %+v %v", res, ok)
		}
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, string(b))
		w.WriteHeader(http.StatusNoContent)
	})))
	defer srv.Close()

	s := mustSigner(t, Options{Keys: StaticKey(k)})
	send := func(req *http.Request) int {
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	req, _ := http.NewRequest("POST", srv.URL+"/orders?dry=1", strings.NewReader(`{"item":42}`))
	req.Header.Set("Content-Type", "application/json")
	if err := s.Sign(context.Background(), req, time.Now()); err != nil {
		t.Fatal(err)
	}
	captured = req.Clone(context.Background())
	captured.Body, _ = req.GetBody()
	if code := send(req); code != http.StatusNoContent {
		t.Fatalf("signed request: %d", code)
	}
	if code := send(captured); code != http.StatusUnauthorized {
		t.Errorf("replayed request: %d, want 401", code)
	}
	unsigned, _ := http.NewRequest("GET", srv.URL+"/orders", nil)
	if code := send(unsigned); code != http.StatusUnauthorized {
		t.Errorf("unsigned request: %d", code)
	}
	if len(bodies) != 1 || bodies[0] != `{"item":42}` {
		t.Errorf("handler saw bodies %q", bodies)
	}
}

var tlsState = &tls.ConnectionState{}

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

// TestMiddlewareWindowVirtualTime drives Middleware's own clock (time.Now)
// in a synctest bubble: a captured request is refused as a replay inside
// the window and as stale after it, with no real waiting.
func TestMiddlewareWindowVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := testKey(t, "k")
		s := mustSigner(t, Options{Keys: StaticKey(k)})
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k)})
		var lastErr error
		v.onError = func(w http.ResponseWriter, r *http.Request, err error) {
			lastErr = err
			DefaultErrorHandler(w, r, err)
		}
		h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		req := httptest.NewRequest("GET", "https://api.example.com/v1", nil)
		if err := s.Sign(context.Background(), req, time.Now()); err != nil {
			t.Fatal(err)
		}
		serve := func() int {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req.Clone(context.Background()))
			return rec.Code
		}
		if code := serve(); code != http.StatusOK {
			t.Fatalf("first: %d (%v)", code, lastErr)
		}
		time.Sleep(DefaultMaxAge)
		if code := serve(); code != http.StatusUnauthorized || !errors.Is(lastErr, ErrReplay) {
			t.Errorf("inside the window: %d, %v", code, lastErr)
		}
		time.Sleep(DefaultClockSkew + time.Second)
		if code := serve(); code != http.StatusUnauthorized || !errors.Is(lastErr, ErrStale) {
			t.Errorf("after the window: %d, %v", code, lastErr)
		}
	})
}

// failingLookup is a KeyLookup whose backend is down.
type failingLookup struct{ err error }

func (f failingLookup) LookupKey(context.Context, string) (*Key, error) { return nil, f.err }

// failingNonces is a NonceStore whose backend is down.
type failingNonces struct{ err error }

func (f failingNonces) Claim(context.Context, string, string, time.Time, time.Time) error {
	return f.err
}

// A key lookup or nonce store that fails for another reason than an
// unknown key or a replay refuses the request (fail closed) with
// ErrUnavailable, which DefaultErrorHandler answers with 503 and
// Retry-After: the caller is not at fault and may try again. An unknown
// key and a replay stay 401.
func TestVerifyBackendFailureIsUnavailable(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	down := errors.New("database down")
	for _, tc := range []struct {
		name   string
		opts   VerifierOptions
		is     error
		status int
	}{
		{"key lookup down", VerifierOptions{Keys: failingLookup{down}}, ErrUnavailable, http.StatusServiceUnavailable},
		{"nonce store down", VerifierOptions{Keys: StaticKey(k), Nonces: failingNonces{down}}, ErrUnavailable, http.StatusServiceUnavailable},
		{"unknown key", VerifierOptions{Keys: failingLookup{fmt.Errorf("no such key: %w", ErrUnknownKey)}}, ErrUnknownKey, http.StatusUnauthorized},
		{"replay", VerifierOptions{Keys: StaticKey(k), Nonces: failingNonces{fmt.Errorf("seen: %w", ErrReplay)}}, ErrReplay, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(t, tc.opts)
			req := signed(t, s, "GET", "https://api.example.com/v1", "", time.Now())
			_, err := v.Verify(serverView(t, req), time.Now())
			if !errors.Is(err, tc.is) {
				t.Fatalf("err = %v; want %v", err, tc.is)
			}
			if tc.is == ErrUnavailable && !errors.Is(err, down) {
				t.Fatalf("err = %v; the backend's error is lost", err)
			}
			w := httptest.NewRecorder()
			DefaultErrorHandler(w, req, err)
			if w.Code != tc.status || (tc.status == http.StatusServiceUnavailable) != (w.Header().Get("Retry-After") != "") {
				t.Fatalf("status %d, Retry-After %q; want %d", w.Code, w.Header().Get("Retry-After"), tc.status)
			}
		})
	}
}
