package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

var signSecret = []byte("sign-layer-test-secret-32-bytes!")

func signKey(t testing.TB) *signer.Key {
	t.Helper()
	k, err := signer.NewHMACKey("client-1", signSecret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newSignLayer(t testing.TB, next http.RoundTripper, scope transport.Scope, clock func() time.Time) http.RoundTripper {
	t.Helper()
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := transport.NewSign(next, transport.SignConfig{Signer: s, Scope: scope, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func mustOrigins(t testing.TB, ss ...string) transport.Origins {
	t.Helper()
	o, err := transport.ParseOrigins(ss...)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestSignConformance(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newSignLayer(t, next, scope, nil)
	})
}

func TestNewSignConfigErrors(t *testing.T) {
	s, _ := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
	noNonce, _ := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Params: []signer.Param{signer.ParamCreated, signer.ParamKeyID}})
	scope := mustOrigins(t, "https://api.example.test")
	for _, tc := range []struct {
		option string
		cfg    transport.SignConfig
	}{
		{"SignConfig.Signer", transport.SignConfig{Scope: scope}},
		{"SignConfig.Signer", transport.SignConfig{Signer: noNonce, Scope: scope}},
		{"SignConfig.Scope", transport.SignConfig{Signer: s}},
		{"SignConfig.Scope", transport.SignConfig{Signer: s, Scope: transport.Origins{}}},
	} {
		_, err := transport.NewSign(nil, tc.cfg)
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("%+v: err = %v, want ConfigError for %s", tc.cfg, err, tc.option)
		}
	}
}

// recorder is a next transport that keeps the requests it receives.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
}

func signatureInput(t *testing.T, h http.Header) signer.SignatureInput {
	t.Helper()
	ins, err := signer.ParseSignatureInput(h.Values("Signature-Input")...)
	if err != nil || len(ins) != 1 {
		t.Fatalf("Signature-Input %q: %v", h.Values("Signature-Input"), err)
	}
	return ins[0]
}

// TestSignEachAttemptFresh: two attempts over the same caller request (as
// the retry layer makes them with BeginAttempt) carry different nonces and
// their own created time, and the caller's request is never touched.
func TestSignEachAttemptFresh(t *testing.T) {
	rec := &recorder{}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { now = now.Add(2 * time.Second); return now }
	layer := newSignLayer(t, rec, mustOrigins(t, "https://api.example.test"), clock)

	body := `{"order":1}`
	req, _ := http.NewRequest("POST", "https://api.example.test/v1/orders", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for n := 0; n < 2; n++ {
		attempt := transport.BeginAttempt(req, n)
		attempt.Body, _ = req.GetBody()
		resp, err := layer.RoundTrip(attempt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if len(req.Header) != 1 || req.Header.Get("Signature") != "" || req.Header.Get("Content-Digest") != "" {
		t.Fatalf("caller's request modified: %v", req.Header)
	}
	a, b := signatureInput(t, rec.reqs[0].Header), signatureInput(t, rec.reqs[1].Header)
	if a.Nonce == "" || a.Nonce == b.Nonce {
		t.Errorf("attempts share nonce %q", a.Nonce)
	}
	if !b.Created.After(a.Created) {
		t.Errorf("created %v then %v", a.Created, b.Created)
	}
	if rec.reqs[0].Header.Get("Signature") == rec.reqs[1].Header.Get("Signature") {
		t.Error("attempts share a signature")
	}
	want := `"@method" "@authority" "@path" "@query" "content-digest" "content-type"`
	var got []string
	for _, c := range a.Components {
		got = append(got, c.String())
	}
	if strings.Join(got, " ") != want {
		t.Errorf("components %s, want %s", strings.Join(got, " "), want)
	}
}

// TestSignOutOfScope: a request to an origin outside the scope goes to next
// as it is: same request, no signature.
func TestSignOutOfScope(t *testing.T) {
	rec := &recorder{}
	layer := newSignLayer(t, rec, mustOrigins(t, "https://api.example.test"), nil)
	for _, u := range []string{"https://other.example.test/", "http://api.example.test/", "https://api.example.test:8443/"} {
		req, _ := http.NewRequest("GET", u, nil)
		resp, err := layer.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := rec.reqs[len(rec.reqs)-1]
		if got != req || got.Header.Get("Signature") != "" || got.Header.Get("Signature-Input") != "" {
			t.Errorf("%s: signed or replaced (same request: %v)", u, got == req)
		}
	}
}

func TestSignFailureClosesBodyAndSendsNothing(t *testing.T) {
	next := transporttest.NewResponder()
	layer := newSignLayer(t, next, mustOrigins(t, "https://api.example.test"), nil)
	body := transporttest.NewTrackedBody([]byte(`{"a":1}`))
	req, _ := http.NewRequest("POST", "https://api.example.test/v1", nil)
	req.Body = body // no GetBody: Content-Digest cannot be computed without consuming it
	req.ContentLength = body.Len()
	resp, err := layer.RoundTrip(req)
	if resp != nil || !errors.Is(err, signer.ErrBodyNotReplayable) {
		t.Fatalf("resp %v, err %v", resp, err)
	}
	if !body.Closed() || body.BytesRead() != 0 {
		t.Errorf("body closed %v, read %d bytes", body.Closed(), body.BytesRead())
	}
	if next.Calls() != 0 {
		t.Errorf("next called %d times", next.Calls())
	}
}

// TestSignHeadersAddedLaterAreNotCovered: headers set after signing (trace
// context, by a layer closer to the wire) are not covered, so they cannot
// break the signature; headers present at signing are covered only if
// listed.
func TestSignHeadersAddedLaterAreNotCovered(t *testing.T) {
	var seen http.Header
	wire := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		r.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		seen = r.Header.Clone()
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	layer := newSignLayer(t, wire, mustOrigins(t, "https://api.example.test"), nil)
	req, _ := http.NewRequest("GET", "https://api.example.test/v1?x=1", nil)
	req.Header.Set("X-Request-Id", "abc")
	req.Header.Set("Authorization", "Bearer tok")
	if _, err := layer.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	in := signer.SignatureInput{}
	if ins, err := signer.ParseSignatureInput(seen.Values("Signature-Input")...); err == nil {
		in = ins[0]
	}
	var names []string
	for _, c := range in.Components {
		names = append(names, c.Name())
	}
	if got := strings.Join(names, " "); got != "@method @authority @path @query authorization" {
		t.Errorf("covered %q", got)
	}
}

// signingServer verifies signatures with a real Verifier (default policy,
// in-memory replay store) and records what each request carried.
type signingServer struct {
	*httptest.Server
	mu       sync.Mutex
	verified []string // nonces accepted
	rejected []error
	unsigned int
}

func newVerifyingServer(t *testing.T, handler http.HandlerFunc) *signingServer {
	t.Helper()
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(signKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	s := &signingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Signature") == "" && r.Header.Get("Signature-Input") == "" {
			s.mu.Lock()
			s.unsigned++
			s.mu.Unlock()
			handler(w, r)
			return
		}
		res, err := v.Verify(r, time.Now())
		s.mu.Lock()
		if err != nil {
			s.rejected = append(s.rejected, err)
		} else {
			s.verified = append(s.verified, res.Nonce)
		}
		s.mu.Unlock()
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// snapshot returns what the server recorded so far.
func (s *signingServer) snapshot() (verified []string, rejected []error, unsigned int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.verified...), append([]error(nil), s.rejected...), s.unsigned
}

// TestSignRedirects: through a real http.Client, a same-origin redirect hop
// is signed afresh (the server's replay store accepts it), and a hop to
// another origin carries no signature at all.
func TestSignRedirects(t *testing.T) {
	other := newVerifyingServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	api := newVerifyingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/moved", http.StatusTemporaryRedirect)
		case "/moved":
			http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
		}
	})
	layer := newSignLayer(t, nil, mustOrigins(t, api.URL), nil)
	client := &http.Client{Transport: layer}
	req, _ := http.NewRequest("POST", api.URL+"/start", strings.NewReader(`{"x":1}`))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("final status %d", resp.StatusCode)
	}
	verified, rejected, unsigned := api.snapshot()
	if len(verified) != 2 || len(rejected) != 0 || unsigned != 0 {
		t.Errorf("api: verified %d, rejected %v, unsigned %d", len(verified), rejected, unsigned)
	}
	if len(verified) == 2 && verified[0] == verified[1] {
		t.Error("both hops used the same nonce")
	}
	ov, or, ou := other.snapshot()
	if ou != 1 || len(ov)+len(or) != 0 {
		t.Errorf("other origin: unsigned %d, signed %d", ou, len(ov)+len(or))
	}
}

// TestSignRetryAgainstReplayRejectingServer: a request retried after a 503
// is accepted on the retry by a server that rejects reused nonces, because
// every attempt is signed afresh. The loop stands in for the retry layer:
// one BeginAttempt per attempt, the body replayed from GetBody.
func TestSignRetryAgainstReplayRejectingServer(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	var bodies []string
	srv := newVerifyingServer(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		bodies = append(bodies, string(b))
		if calls == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	layer := newSignLayer(t, nil, mustOrigins(t, srv.URL), nil)
	req, _ := http.NewRequest("POST", srv.URL+"/v1/payments", bytes.NewReader([]byte(`{"amount":5}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "k-1")
	var status []int
	for n := 0; n < 3; n++ {
		attempt := transport.BeginAttempt(req, n)
		attempt.Body, _ = req.GetBody()
		resp, err := layer.RoundTrip(attempt)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		status = append(status, resp.StatusCode)
		if resp.StatusCode != http.StatusServiceUnavailable {
			break
		}
	}
	verified, rejected, _ := srv.snapshot()
	if len(status) != 2 || status[1] != http.StatusCreated {
		t.Fatalf("statuses %v, rejected %v", status, rejected)
	}
	if len(verified) != 2 || verified[0] == verified[1] || len(rejected) != 0 {
		t.Errorf("verified nonces %v, rejected %v", verified, rejected)
	}
	mu.Lock()
	if len(bodies) != 2 || bodies[0] != `{"amount":5}` || bodies[1] != bodies[0] {
		t.Errorf("bodies %q", bodies)
	}
	mu.Unlock()

	// The same attempt sent twice (a naive resend without re-signing) is
	// what the server refuses.
	attempt := transport.BeginAttempt(req, 0)
	attempt.Body, _ = req.GetBody()
	s, _ := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
	if err := s.Sign(context.Background(), attempt, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{http.StatusCreated, http.StatusUnauthorized} {
		again := attempt.Clone(context.Background())
		again.Body, _ = req.GetBody()
		resp, err := http.DefaultTransport.RoundTrip(again)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("send %d of one signature: %d, want %d", i, resp.StatusCode, want)
		}
	}
	if _, rejected, _ := srv.snapshot(); len(rejected) != 1 || !errors.Is(rejected[0], signer.ErrReplay) {
		t.Errorf("rejections %v, want one ErrReplay", rejected)
	}
}

func BenchmarkSignLayer(b *testing.B) {
	next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})
	layer := newSignLayer(b, next, mustOrigins(b, "https://api.example.test"), nil)
	u, _ := url.Parse("https://api.example.test/v1/items?limit=10")
	req := &http.Request{Method: "GET", URL: u, Header: http.Header{}, Host: u.Host}
	req = req.WithContext(context.Background())
	b.ReportAllocs()
	for b.Loop() {
		// Inside a stack the attempt clone is made once by the retry layer
		// and shared; BeginAttempt is that clone.
		if _, err := layer.RoundTrip(transport.BeginAttempt(req, 0)); err != nil {
			b.Fatal(err)
		}
	}
}
