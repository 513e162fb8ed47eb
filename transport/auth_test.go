package transport_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// seqSource hands out "t1", "t2", ... (valid for an hour) and counts calls;
// fail, when set, makes calls fail.
type seqSource struct {
	n    atomic.Int32
	mu   sync.Mutex
	fail error
}

func (s *seqSource) Token(context.Context) (tokens.Token, error) {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail != nil {
		return tokens.Token{}, fail
	}
	n := s.n.Add(1)
	return tokens.NewToken("t"+strconv.Itoa(int(n)), "Bearer", time.Now().Add(time.Hour)), nil
}

func (s *seqSource) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func authCache(t testing.TB, src tokens.Source) *tokens.Cache {
	t.Helper()
	c, err := tokens.NewCache(src)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var apiOrigins = transport.Origins{{Scheme: "https", Host: "api.example.test", Port: "443"}}

func newAuth(t testing.TB, next http.RoundTripper, src tokens.Source) http.RoundTripper {
	t.Helper()
	l, err := transport.NewAuth(next, transport.AuthConfig{Source: src, Scope: apiOrigins})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func authReq(t testing.TB, method, rawURL, body string) *http.Request {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, r)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func roundTripOK(t *testing.T, rt http.RoundTripper, req *http.Request) *http.Response {
	t.Helper()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestAuthConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newAuth(t, next, authCache(t, &seqSource{}))
	})
}

func TestAuthConformanceStaticToken(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newAuth(t, next, tokens.Static(tokens.NewToken("static", "Bearer", time.Time{})))
	})
}

func TestAuthAttachesTokenOnlyInScopeOverHTTPS(t *testing.T) {
	next := transporttest.NewResponder()
	rt := newAuth(t, next, authCache(t, &seqSource{}))
	for _, u := range []string{
		"https://api.example.test/v1",
		"https://API.example.test:443/v1?x=1",
		"http://api.example.test/v1",      // same host, http: never
		"https://api.example.test:8443/v", // other port
		"https://evil.example.test/v1",    // other host (a redirect hop)
		"https://api.example.test.evil.example/v1",
	} {
		roundTripOK(t, rt, authReq(t, "GET", u, ""))
	}
	got := next.Requests()
	for i, want := range []bool{true, true, false, false, false, false} {
		if has := got[i].Header.Get("Authorization") != ""; has != want {
			t.Errorf("%s: Authorization present=%v, want %v", got[i].URL, has, want)
		}
	}
	if a := got[0].Header.Get("Authorization"); a != "Bearer t1" {
		t.Errorf("Authorization = %q", a)
	}

	// An explicit http origin (loopback tests) gets the token over http.
	local := transport.Origins{{Scheme: "http", Host: "127.0.0.1", Port: "8080"}}
	l, _ := transport.NewAuth(next, transport.AuthConfig{Source: tokens.Static(tokens.NewToken("x", "Bearer", time.Time{})), Scope: local})
	roundTripOK(t, l, authReq(t, "GET", "http://127.0.0.1:8080/v1", ""))
	if a := next.Requests()[6].Header.Get("Authorization"); a != "Bearer x" {
		t.Errorf("explicit http origin: %q", a)
	}
	// A custom Scope that allows anything still gets the token only over https.
	l, _ = transport.NewAuth(next, transport.AuthConfig{Source: tokens.Static(tokens.NewToken("x", "Bearer", time.Time{})), Scope: anyScope{}})
	roundTripOK(t, l, authReq(t, "GET", "http://api.example.test/v1", ""))
	roundTripOK(t, l, authReq(t, "GET", "https://api.example.test/v1", ""))
	reqs := next.Requests()
	if reqs[7].Header.Get("Authorization") != "" || reqs[8].Header.Get("Authorization") != "Bearer x" {
		t.Errorf("custom scope: http %q https %q", reqs[7].Header.Get("Authorization"), reqs[8].Header.Get("Authorization"))
	}
}

type anyScope struct{}

func (anyScope) Allows(*url.URL) bool { return true }

func TestAuthCustomHeaderAndOverridesCallerValue(t *testing.T) {
	next := transporttest.NewResponder()
	l, err := transport.NewAuth(next, transport.AuthConfig{Source: tokens.Static(tokens.NewToken("v", "Bearer", time.Time{})), Scope: apiOrigins, Header: "x-upstream-auth"})
	if err != nil {
		t.Fatal(err)
	}
	req := authReq(t, "GET", "https://api.example.test/", "")
	req.Header.Set("X-Upstream-Auth", "caller value")
	roundTripOK(t, l, req)
	if h := next.Requests()[0].Header.Values("X-Upstream-Auth"); len(h) != 1 || h[0] != "Bearer v" {
		t.Fatalf("header = %q", h)
	}
	if req.Header.Get("X-Upstream-Auth") != "caller value" {
		t.Fatal("caller's request modified")
	}
}

func TestAuth401InvalidatesAndReplaysOnce(t *testing.T) {
	for _, challenge := range []string{"", `Bearer error="invalid_token", error_description="expired"`, `Bearer realm="api"`, `Basic realm="x", Bearer error=invalid_token`} {
		t.Run(challenge, func(t *testing.T) {
			src := &seqSource{}
			next := transporttest.NewResponder(
				transporttest.Respond(401, "token rejected", "WWW-Authenticate", challenge),
				transporttest.Respond(200, "ok"),
			)
			rt := newAuth(t, next, authCache(t, src))
			req := authReq(t, "POST", "https://api.example.test/v1/items", `{"n":1}`)
			resp := roundTripOK(t, rt, req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			reqs := next.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2 (one replay)", len(reqs))
			}
			if a, b := reqs[0].Header.Get("Authorization"), reqs[1].Header.Get("Authorization"); a != "Bearer t1" || b != "Bearer t2" {
				t.Fatalf("tokens sent: %q then %q", a, b)
			}
			if string(reqs[1].Body) != `{"n":1}` || reqs[1].Method != "POST" {
				t.Fatalf("replay body %q", reqs[1].Body)
			}
			if b := next.Bodies()[0]; !b.Closed() || !b.Drained() {
				t.Fatal("discarded 401 body not drained and closed")
			}
			if n := src.n.Load(); n != 2 {
				t.Fatalf("%d token fetches, want 2", n)
			}
		})
	}
}

func TestAuth401NeverLoops(t *testing.T) {
	src := &seqSource{}
	next := transporttest.NewResponder(transporttest.Respond(401, "no", "WWW-Authenticate", `Bearer error="invalid_token"`))
	rt := newAuth(t, next, authCache(t, src))
	resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || string(body) != "no" {
		t.Fatalf("got %d %q, want the second 401 intact", resp.StatusCode, body)
	}
	if n := next.Calls(); n != 2 {
		t.Fatalf("%d sends, want 2", n)
	}
	if err := next.Unclosed(); err != nil {
		t.Fatal(err)
	}
}

func TestAuth401NotReplayed(t *testing.T) {
	cases := []struct {
		name       string
		challenge  string
		src        func() tokens.Source
		body       bool
		getBody    bool
		invalidate bool // the token must have been dropped
	}{
		{name: "insufficient_scope", challenge: `Bearer error="insufficient_scope", scope="admin"`, invalidate: false},
		{name: "invalid_request", challenge: `Bearer error="invalid_request"`, invalidate: false},
		{name: "body without GetBody", body: true, invalidate: true},
		{name: "static source", src: func() tokens.Source { return tokens.Static(tokens.NewToken("s", "Bearer", time.Time{})) }},
		{name: "source returns same token", src: func() tokens.Source { return sameCache{tokens.NewToken("s", "Bearer", time.Time{})} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seq := &seqSource{}
			var src tokens.Source = authCache(t, seq)
			if tc.src != nil {
				src = tc.src()
			}
			next := transporttest.NewResponder(transporttest.Respond(401, "denied", "WWW-Authenticate", tc.challenge), transporttest.Respond(200, "ok"))
			rt := newAuth(t, next, src)
			req := authReq(t, "GET", "https://api.example.test/", "")
			if tc.body {
				req = authReq(t, "PUT", "https://api.example.test/", "payload")
				req.GetBody = nil
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || string(body) != "denied" {
				t.Fatalf("got %d %q, want the 401 intact", resp.StatusCode, body)
			}
			if n := next.Calls(); n != 1 {
				t.Fatalf("%d sends, want 1", n)
			}
			if tc.src == nil {
				// The next request shows whether the token was dropped.
				roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/", ""))
				want := "Bearer t1"
				if tc.invalidate {
					want = "Bearer t2"
				}
				if got := next.Requests()[1].Header.Get("Authorization"); got != want {
					t.Fatalf("next request sent %q, want %q", got, want)
				}
			}
		})
	}
}

// sameCache is an Invalidator that keeps handing out the same token.
type sameCache struct{ t tokens.Token }

func (s sameCache) Token(context.Context) (tokens.Token, error) { return s.t, nil }
func (s sameCache) Invalidate(tokens.Token) bool                { return true }

func TestAuthNoTokenNoRequest(t *testing.T) {
	grant := &tokens.TokenError{StatusCode: 400, Code: "invalid_grant"}
	for _, tc := range []struct {
		err       error
		temporary bool
	}{
		{grant, false},
		{&tokens.TokenError{StatusCode: 401, Code: "invalid_client"}, false},
		{&tokens.TokenError{StatusCode: 400, Code: "invalid_scope"}, false},
		{&tokens.TokenError{StatusCode: 400, Code: "unauthorized_client"}, false},
		{&tokens.TokenError{StatusCode: 400, Code: "unsupported_grant_type"}, false},
		{&tokens.TokenError{StatusCode: 400, Code: "invalid_request"}, false},
		{&tokens.TokenError{StatusCode: 503, Code: "temporarily_unavailable"}, true},
		{fmt.Errorf("refused: %w", tokens.ErrUnsupportedTokenType), false},
		{&tokens.RefreshError{Err: errors.New("endpoint down"), Backoff: true}, true},
	} {
		src := &seqSource{}
		src.setFail(tc.err)
		next := transporttest.NewResponder()
		rt := newAuth(t, next, src)
		req := authReq(t, "PUT", "https://api.example.test/", "")
		body := transporttest.NewTrackedBody([]byte("payload"))
		req.Body = body
		resp, err := rt.RoundTrip(req)
		var ae *transport.AuthError
		if resp != nil || !errors.As(err, &ae) || !errors.Is(err, tc.err) || ae.Temporary() != tc.temporary {
			t.Fatalf("%v: resp=%v err=%v", tc.err, resp, err)
		}
		if !strings.HasPrefix(err.Error(), "transport: auth: ") {
			t.Fatalf("message %q", err)
		}
		if !body.Closed() || next.Calls() != 0 {
			t.Fatalf("%v: body closed=%v, sends=%d", tc.err, body.Closed(), next.Calls())
		}
	}
}

func TestAuthInvalidGrantAfter401IsNotRetried(t *testing.T) {
	src := &seqSource{}
	cache := authCache(t, src)
	next := transporttest.NewResponder(transporttest.Respond(401, "revoked", "WWW-Authenticate", `Bearer error="invalid_token"`))
	rt := newAuth(t, next, cache)
	// First a token; then the grant dies: the refresh after the 401 fails.
	roundTripOK(t, newAuth(t, transporttest.NewResponder(), cache), authReq(t, "GET", "https://api.example.test/", ""))
	src.setFail(&tokens.TokenError{StatusCode: 400, Code: "invalid_grant"})
	resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
	if resp != nil || !errors.Is(err, tokens.ErrInvalidGrant) {
		t.Fatalf("resp=%v err=%v", resp, err)
	}
	var ae *transport.AuthError
	if !errors.As(err, &ae) || ae.Temporary() {
		t.Fatalf("invalid_grant must not be Temporary: %v", err)
	}
	if next.Calls() != 1 {
		t.Fatalf("%d sends, want 1", next.Calls())
	}
	if err := next.Unclosed(); err != nil {
		t.Fatal(err)
	}
	// The cache backs off: the next request fails without a token request.
	before := src.n.Load()
	if _, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", "")); !errors.Is(err, tokens.ErrBackoff) {
		t.Fatalf("second request: %v", err)
	}
	if src.n.Load() != before {
		t.Fatal("token request during backoff")
	}
}

func TestAuthInStackUsesOwnedRequest(t *testing.T) {
	var seen []*http.Request
	var owned []bool
	next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r)
		owned = append(owned, transport.Own(r) == r)
		status := 200
		if len(seen) == 1 {
			status = 401
		}
		return &http.Response{StatusCode: status, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})
	rt := newAuth(t, next, authCache(t, &seqSource{}))
	req := authReq(t, "GET", "https://api.example.test/", "")
	attempt := transport.BeginAttempt(req, 0)
	resp, err := rt.RoundTrip(attempt)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if seen[0] != attempt {
		t.Fatal("the layer cloned the attempt's own request")
	}
	if !owned[0] || !owned[1] {
		t.Fatalf("inner layers do not own the request (first %v, replay %v): they would clone again", owned[0], owned[1])
	}
	if seen[1] == seen[0] || seen[0].Header.Get("Authorization") != "Bearer t1" || seen[1].Header.Get("Authorization") != "Bearer t2" {
		t.Fatal("the replay reused or rewrote the first request")
	}
	if req.Header.Get("Authorization") != "" {
		t.Fatal("caller's request modified")
	}
}

func TestNewAuthConfigErrors(t *testing.T) {
	src := tokens.Static(tokens.NewToken("x", "Bearer", time.Time{}))
	for field, cfg := range map[string]transport.AuthConfig{
		"AuthConfig.Source": {Scope: apiOrigins},
		"AuthConfig.Scope":  {Source: src},
		"AuthConfig.Header": {Source: src, Scope: apiOrigins, Header: "bad header"},
	} {
		var ce *transport.ConfigError
		if _, err := transport.NewAuth(nil, cfg); !errors.As(err, &ce) || ce.Option != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	var ce *transport.ConfigError
	if _, err := transport.NewAuth(nil, transport.AuthConfig{Source: src, Scope: transport.Origins{}}); !errors.As(err, &ce) {
		t.Errorf("empty origins: %v", err)
	}
}

// BenchmarkAuthCachedToken measures the layer inside a stack (the attempt's
// request is owned, so the layer does not clone) with a cached token; next
// returns a preallocated response so only the layer's cost shows.
func BenchmarkAuthCachedToken(b *testing.B) {
	ok := &http.Response{StatusCode: 200, Body: http.NoBody}
	next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return ok, nil })
	rt := newAuth(b, next, authCache(b, &seqSource{}))
	req := authReq(b, "GET", "https://api.example.test/v1", "")
	attempt := transport.BeginAttempt(req, 0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rt.RoundTrip(attempt); err != nil {
			b.Fatal(err)
		}
	}
}

// TestAuthConcurrent401sShareOneRefresh: many requests rejected with the
// same revoked token cause one refresh, not one per request, because each
// invalidates only the token it sent.
func TestAuthConcurrent401sShareOneRefresh(t *testing.T) {
	src := &seqSource{}
	cache := authCache(t, src)
	var sends atomic.Int32
	next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		sends.Add(1)
		if r.Header.Get("Authorization") == "Bearer t1" { // t1 was revoked
			return &http.Response{StatusCode: 401, Body: io.NopCloser(strings.NewReader("revoked")), Header: http.Header{}, Request: r}, nil
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})
	rt := newAuth(t, next, cache)
	if _, err := cache.Token(context.Background()); err != nil { // t1 cached
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			resp, err := rt.RoundTrip(authReq(t, "GET", "https://api.example.test/", ""))
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("%v %v", resp, err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := src.n.Load(); n != 2 {
		t.Fatalf("%d token fetches for 50 requests rejected with one revoked token, want 2", n)
	}
}

// When the token cache is backing off after a failed refresh, the retry
// layer waits for the cache's RetryAt (when it fits the deadline) instead
// of spending its attempts on sooner tries that fail at once with
// ErrBackoff; the wait sets no host cooldown and a deadline stop does not
// claim a rate limit.
func TestRetryWaitsForTheTokenCacheBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errDown := errors.New("token endpoint down")
		var fetches atomic.Int32
		src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
			if fetches.Add(1) == 1 {
				return tokens.Token{}, errDown
			}
			return tokens.NewToken("fresh", "Bearer", time.Now().Add(time.Hour)), nil
		})
		cache, err := tokens.NewCache(src, tokens.WithBackoff(2*time.Second, time.Minute), tokens.WithJitter(0))
		if err != nil {
			t.Fatal(err)
		}
		next := transporttest.NewResponder()
		rt, err := transport.NewRetry(newAuth(t, next, cache), transport.RetryConfig{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, ServerWaitJitter: -1})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req := authReq(t, http.MethodGet, "https://api.example.test/v1", "").WithContext(ctx)
		roundTripOK(t, rt, req)
		if n := fetches.Load(); n != 2 {
			t.Fatalf("%d token requests; want 2 (the failure, then one after the backoff)", n)
		}
		if waited := time.Since(start); waited != 2*time.Second {
			t.Fatalf("the retry came after %v; want the cache's 2s backoff", waited)
		}
		if got := next.Requests()[0].Header.Get("Authorization"); got != "Bearer fresh" {
			t.Fatalf("Authorization = %q", got)
		}

		// A backoff that does not fit the deadline stops the call at once
		// with the auth error, not a rate limit.
		fetches.Store(0)
		cache2, _ := tokens.NewCache(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
			fetches.Add(1)
			return tokens.Token{}, errDown
		}), tokens.WithBackoff(20*time.Second, time.Minute), tokens.WithJitter(0))
		rt2, _ := transport.NewRetry(newAuth(t, next, cache2), transport.RetryConfig{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond})
		ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel2()
		start = time.Now()
		_, err = rt2.RoundTrip(authReq(t, http.MethodGet, "https://api.example.test/v1", "").WithContext(ctx2))
		var re *transport.RetryError
		if !errors.As(err, &re) || re.Reason != transport.StopDeadline || errors.Is(err, transport.ErrRateLimited) || !errors.Is(err, errDown) {
			t.Fatalf("err = %v; want a deadline stop over the auth error", err)
		}
		if fetches.Load() != 1 || time.Since(start) != 0 {
			t.Fatalf("%d token requests, %v spent; want 1 and no wait", fetches.Load(), time.Since(start))
		}
	})
}
