package transport_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func staticKey(k string) tokens.Source { return tokens.Static(tokens.NewToken(k, "", time.Time{})) }

func newAPIKey(t testing.TB, next http.RoundTripper, cfg transport.APIKeyConfig) http.RoundTripper {
	t.Helper()
	if cfg.Scope == nil {
		cfg.Scope = apiOrigins
	}
	l, err := transport.NewAPIKey(next, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAPIKeyConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("k-123")})
	})
}

func TestAPIKeyQueryConformance(t *testing.T) {
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("k-123"), QueryParam: "api_key"})
	})
}

func TestAPIKeyHeader(t *testing.T) {
	next := transporttest.NewResponder()
	rt := newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("k-123")})
	roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1", ""))
	roundTripOK(t, rt, authReq(t, "GET", "https://other.example.test/v1", ""))
	roundTripOK(t, rt, authReq(t, "GET", "http://api.example.test/v1", ""))
	reqs := next.Requests()
	if got := reqs[0].Header.Get(transport.DefaultAPIKeyHeader); got != "k-123" {
		t.Fatalf("X-Api-Key = %q", got)
	}
	if reqs[1].Header.Get("X-Api-Key") != "" || reqs[2].Header.Get("X-Api-Key") != "" {
		t.Fatal("key sent out of scope or over http")
	}
	if reqs[0].Header.Get("Authorization") != "" || reqs[0].URL.RawQuery != "" {
		t.Fatal("key leaked elsewhere")
	}

	// A custom header, with a scheme: "Authorization: ApiKey k".
	rt = newAPIKey(t, next, transport.APIKeyConfig{Source: tokens.Static(tokens.NewToken("k", "ApiKey", time.Time{})), Header: "authorization"})
	roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1", ""))
	if got := next.Requests()[3].Header.Get("Authorization"); got != "ApiKey k" {
		t.Fatalf("Authorization = %q", got)
	}
}

func TestAPIKeyQueryParam(t *testing.T) {
	next := transporttest.NewResponder()
	rt := newAPIKey(t, next, transport.APIKeyConfig{Source: staticKey("k/+&="), QueryParam: "api_key"})
	req := authReq(t, "GET", "https://api.example.test/v1?b=2&api_key=caller&a=1", "")
	roundTripOK(t, rt, req)
	got := next.Requests()[0].URL.Query()
	if got.Get("api_key") != "k/+&=" || len(got["api_key"]) != 1 || got.Get("a") != "1" || got.Get("b") != "2" {
		t.Fatalf("query = %v", got)
	}
	if req.URL.RawQuery != "b=2&api_key=caller&a=1" {
		t.Fatalf("caller's URL modified: %q", req.URL.RawQuery)
	}
	// The caller's other parameters keep their order and escaping (a
	// pre-signed URL's signature may cover the exact query); every
	// parameter named like the key, however escaped, is replaced.
	for raw, want := range map[string]string{
		"z=1&X-Sig=a%2Fb&y=~":            "z=1&X-Sig=a%2Fb&y=~&api_key=k%2F%2B%26%3D",
		"api%5Fkey=old&b=2&api_key=old2": "b=2&api_key=k%2F%2B%26%3D",
		"a=1&&b":                         "a=1&&b&api_key=k%2F%2B%26%3D",
		"":                               "api_key=k%2F%2B%26%3D",
	} {
		u := "https://api.example.test/v1"
		if raw != "" {
			u += "?" + raw
		}
		roundTripOK(t, rt, authReq(t, "GET", u, ""))
		reqs := next.Requests()
		if got := reqs[len(reqs)-1].URL.RawQuery; got != want {
			t.Errorf("query %q sent as %q, want %q", raw, got, want)
		}
	}
	if next.Requests()[0].Header.Get("X-Api-Key") != "" {
		t.Fatal("header set as well")
	}
	roundTripOK(t, rt, authReq(t, "GET", "https://evil.example.test/v1", ""))
	if reqs := next.Requests(); reqs[len(reqs)-1].URL.RawQuery != "" {
		t.Fatal("key sent out of scope")
	}
}

func TestAPIKeyRotationOn401(t *testing.T) {
	ctx := context.Background()
	store := tokens.NewMemoryStore()
	for _, query := range []string{"", "key"} {
		// A cache of its own: invalidating the new key to start again
		// would count as a second rejection in a row, whose replacement
		// the cache keeps for a backoff step (see
		// TestAuthServerRejectingEveryTokenDoesNotHammer).
		store.Set(ctx, "api-key", []byte("old-key"))
		cache, err := tokens.NewCache(tokens.StoreSource(store, "api-key", ""))
		if err != nil {
			t.Fatal(err)
		}
		// (Accepted: a 401 here, with the store still holding the old key,
		// would put the cache in backoff, keeping the old key until the
		// step is over; see TestAuthRejectedTokenHandedBackDoesNotHammer.)
		next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		rt := newAPIKey(t, next, transport.APIKeyConfig{Source: cache, QueryParam: query})
		roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1", "")) // caches the old key
		store.Set(ctx, "api-key", []byte("new-key"))                             // rotated by an operator
		next = transporttest.NewResponder(transporttest.Respond(401, "unknown key"), transporttest.Respond(200, "ok"))
		rt = newAPIKey(t, next, transport.APIKeyConfig{Source: cache, QueryParam: query})
		resp := roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1", ""))
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		reqs := next.Requests()
		get := func(r transporttest.RecordedRequest) string {
			if query != "" {
				return r.URL.Query().Get(query)
			}
			return r.Header.Get("X-Api-Key")
		}
		if len(reqs) != 2 || get(reqs[0]) != "old-key" || get(reqs[1]) != "new-key" {
			t.Fatalf("query=%q: keys sent %q", query, []string{get(reqs[0]), get(reqs[1])})
		}
		if query != "" && len(reqs[1].URL.Query()[query]) != 1 {
			t.Fatalf("replay carries the key twice: %v", reqs[1].URL.RawQuery)
		}
	}
}

func TestAPIKeySourceFailure(t *testing.T) {
	next := transporttest.NewResponder()
	src := tokens.StoreSource(tokens.NewMemoryStore(), "missing", "")
	rt := newAPIKey(t, next, transport.APIKeyConfig{Source: src})
	req := authReq(t, "POST", "https://api.example.test/", "")
	body := transporttest.NewTrackedBody([]byte("x"))
	req.Body = body
	_, err := rt.RoundTrip(req)
	var ae *transport.AuthError
	if !errors.As(err, &ae) || ae.Layer != "apikey" || !errors.Is(err, tokens.ErrNotFound) || !ae.Temporary() {
		t.Fatalf("err = %v", err)
	}
	if !body.Closed() || next.Calls() != 0 {
		t.Fatal("body not closed or request sent")
	}
}

func TestNewAPIKeyConfigErrors(t *testing.T) {
	src := staticKey("k")
	for field, cfg := range map[string]transport.APIKeyConfig{
		"APIKeyConfig.Source":     {Scope: apiOrigins},
		"APIKeyConfig.Scope":      {Source: src},
		"APIKeyConfig.Header":     {Source: src, Scope: apiOrigins, Header: "a:b"},
		"APIKeyConfig.QueryParam": {Source: src, Scope: apiOrigins, QueryParam: "a&b=c"},
	} {
		var ce *transport.ConfigError
		if _, err := transport.NewAPIKey(nil, cfg); !errors.As(err, &ce) || ce.Option != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	var ce *transport.ConfigError
	if _, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: src, Scope: apiOrigins, Header: "X-Key", QueryParam: "key"}); !errors.As(err, &ce) {
		t.Errorf("both header and query: %v", err)
	}
}

// TestNewAPIKeyRefusesHeadersNetHTTPDoesNotSend: net/http never sends Host,
// Content-Length, Transfer-Encoding or Trailer from Request.Header, and the
// hop-by-hop headers (Connection, Keep-Alive, Proxy-Connection, TE,
// Upgrade, Proxy-Authorization) are dropped by HTTP/2, refused by it with
// an error that quotes the value (the key), or consumed by a proxy. A key
// in one of them never reaches the origin: NewAPIKey refuses them.
func TestNewAPIKeyRefusesHeadersNetHTTPDoesNotSend(t *testing.T) {
	for _, h := range []string{"Host", "host", "Content-Length", "Transfer-Encoding", "Trailer",
		"Connection", "Keep-Alive", "Proxy-Connection", "TE", "Upgrade", "Proxy-Authorization", "Proxy-Authenticate"} {
		var ce *transport.ConfigError
		_, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: staticKey("k"), Scope: apiOrigins, Header: h})
		if !errors.As(err, &ce) || ce.Option != "APIKeyConfig.Header" {
			t.Errorf("Header %q: err = %v, want a *ConfigError naming APIKeyConfig.Header", h, err)
		}
	}
	// Headers another layer sets or reads: the key would be overwritten
	// (trace context) or make every POST look replayable (idempotency
	// keys).
	for _, h := range []string{"Traceparent", "tracestate", "Baggage", "Idempotency-Key", "x-idempotency-key"} {
		var ce *transport.ConfigError
		_, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: staticKey("k"), Scope: apiOrigins, Header: h})
		if !errors.As(err, &ce) || ce.Option != "APIKeyConfig.Header" {
			t.Errorf("Header %q: err = %v, want a *ConfigError naming APIKeyConfig.Header", h, err)
		}
	}
	for _, h := range []string{"X-Api-Key", "Authorization", "User-Agent", "Cookie", "X-Host"} {
		if _, err := transport.NewAPIKey(nil, transport.APIKeyConfig{Source: staticKey("k"), Scope: apiOrigins, Header: h}); err != nil {
			t.Errorf("Header %q: %v", h, err)
		}
	}
}
