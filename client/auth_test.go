package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// TestBearerTokenScopedRefreshedAndSigned: the token goes to the client's
// origin only, is covered by the signature, and a 401 invalidates it and
// replays the request once with a new token.
func TestBearerTokenScopedRefreshedAndSigned(t *testing.T) {
	var fetches atomic.Int32
	src := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
		n := fetches.Add(1)
		return tokens.NewToken(fmt.Sprintf("tok-%d", n), "Bearer", time.Now().Add(time.Hour)), nil
	})
	var foreignAuth atomic.Value
	foreignAuth.Store("unset")
	foreign := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignAuth.Store(r.Header.Get("Authorization"))
	}))
	defer foreign.Close()
	foreignOrigin := localhostURL(foreign.URL)

	var mu sync.Mutex
	var seen []string
	keys := hmacKeys(t)
	// The verifier keeps a nonce replay store: the replay after the 401 must
	// carry a new signature with a new nonce, or it is refused.
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	own := newTLSServer(t, v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		mu.Lock()
		seen = append(seen, auth)
		mu.Unlock()
		if !strings.Contains(r.Header.Get("Signature-Input"), `"authorization"`) {
			http.Error(w, "authorization not signed", http.StatusBadRequest)
			return
		}
		switch {
		case auth == "Bearer tok-1": // revoked
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/away":
			http.Redirect(w, r, foreignOrigin+"/x", http.StatusFound)
		default:
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "ok %s", b)
		}
	})))
	defer own.Close()

	c, err := client.New(opts(loopback(),
		client.WithOrigins(own.URL),
		client.WithRedirectOrigins(foreignOrigin),
		client.WithTokenSource(src),
		client.WithHMACSigning(keys),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	req, _ := http.NewRequest(http.MethodPut, own.URL+"/v1/thing", strings.NewReader("payload"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "ok payload" {
		t.Fatalf("got %s %q, want 200 after one replay with a fresh token", resp.Status, body)
	}
	if got := fetches.Load(); got != 2 {
		t.Errorf("token fetches = %d, want 2 (initial + after 401)", got)
	}
	mu.Lock()
	if len(seen) != 2 || seen[0] != "Bearer tok-1" || seen[1] != "Bearer tok-2" {
		t.Errorf("server saw %q, want tok-1 then tok-2", seen)
	}
	mu.Unlock()
	if req.Header.Get("Authorization") != "" {
		t.Error("caller's request was modified")
	}

	req, _ = http.NewRequest(http.MethodGet, own.URL+"/away", nil)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := foreignAuth.Load().(string); got != "" {
		t.Fatalf("foreign hop received Authorization %q", got)
	}
}

func TestAPIKeyHeaderAndQueryAreScopedAndRedacted(t *testing.T) {
	const key = "CANARY-api-key"
	var foreignKey atomic.Value
	foreignKey.Store("unset")
	foreign := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		foreignKey.Store(r.Header.Get("X-Partner-Key") + r.URL.Query().Get("key"))
	}))
	defer foreign.Close()
	foreignOrigin := localhostURL(foreign.URL)
	own := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Partner-Key") != key && r.URL.Query().Get("key") != key {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if r.URL.Path == "/away" {
			http.Redirect(w, r, foreignOrigin+"/x", http.StatusFound)
		}
	}))
	defer own.Close()
	src := tokens.Static(tokens.NewToken(key, "", time.Time{}))

	for _, opt := range []client.Option{client.WithAPIKey("X-Partner-Key", src), client.WithAPIKeyInQuery("key", src)} {
		spans := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
		c, err := client.New(opts(loopback(), client.WithOrigins(own.URL), client.WithRedirectOrigins(foreignOrigin), opt, client.WithTracerProvider(tp))...)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/v1", "/away"} {
			req, _ := http.NewRequest(http.MethodGet, own.URL+path, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: status %s: key not sent to own origin", path, resp.Status)
			}
		}
		if got := foreignKey.Load().(string); got != "" {
			t.Errorf("foreign hop received the API key: %q", got)
		}
		if dump := fmt.Sprintf("%+v", spans.GetSpans()); strings.Contains(dump, key) {
			t.Errorf("API key in spans: %s", dump)
		}
		c.Close()
	}
}

func TestCredentialOptionsValidation(t *testing.T) {
	src := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	cases := []struct {
		opts   []client.Option
		option string
	}{
		{[]client.Option{client.WithTokenSource(src)}, "WithOrigins"},
		{[]client.Option{client.WithAPIKey("", src)}, "WithOrigins"},
		{[]client.Option{client.WithOrigins("https://a.test"), client.WithTokenSource(nil)}, "WithTokenSource"},
		{[]client.Option{client.WithOrigins("https://a.test"), client.WithAPIKey("bad header", src)}, "WithAPIKey"},
		{[]client.Option{client.WithOrigins("https://a.test"), client.WithAPIKeyInQuery("", src)}, "WithAPIKeyInQuery"},
		{[]client.Option{client.WithOrigins("https://a.test"), client.WithAPIKeyInQuery("key", src), client.WithVisibleQueryKeys("key")}, "WithVisibleQueryKeys"},
		{[]client.Option{client.WithOrigins("https://a.test"), client.WithTokenSource(src), client.WithOAuth2ClientCredentials(tokens.OAuth2Config{})}, "WithOAuth2ClientCredentials"},
		{[]client.Option{client.WithOrigins("https://a.test"), client.WithOAuth2ClientCredentials(tokens.OAuth2Config{TokenURL: "http://evil.example/token"})}, "WithOAuth2ClientCredentials"},
	}
	for i, tc := range cases {
		_, err := client.New(tc.opts...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.option {
			t.Errorf("case %d: err = %v, want a ConfigError naming %s", i, err, tc.option)
		}
	}
}

// TestVisibleHeadersNeverShowCredentialHeaders: the API-key header and
// the headers named with WithSensitiveHeaders carry credentials like
// Authorization does, so listing one in WithVisibleHeaders (in any option
// order) is a *ConfigError, as it is for the built-in credential headers;
// otherwise the key would be copied into http.request.header.* span
// attributes, which WithAPIKey promises never happens.
func TestVisibleHeadersNeverShowCredentialHeaders(t *testing.T) {
	src := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	for i, o := range [][]client.Option{
		{client.WithAPIKey("X-Partner-Key", src), client.WithVisibleHeaders("X-Partner-Key")},
		{client.WithVisibleHeaders("x-partner-key"), client.WithAPIKey("X-Partner-Key", src)},
		{client.WithSensitiveHeaders("X-Session"), client.WithVisibleHeaders("X-Session")},
		{client.WithVisibleHeaders("X-SESSION"), client.WithSensitiveHeaders("x-session")},
	} {
		c, err := client.New(append([]client.Option{client.WithOrigins("https://a.test")}, o...)...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithVisibleHeaders" {
			if c != nil {
				c.Close()
			}
			t.Errorf("case %d: err = %v, want a ConfigError naming WithVisibleHeaders", i, err)
		}
	}
}

// TestVisibleHeadersRefuseEveryBuiltInCredentialHeader: every header the
// redirect policy strips from foreign hops and the credential guard keeps
// off plain http as a credential (docs/configuration.md lists them) is a
// credential header WithVisibleHeaders refuses, in any case; Cookie2 and
// the signature fields were accepted and their values copied into span
// attributes.
func TestVisibleHeadersRefuseEveryBuiltInCredentialHeader(t *testing.T) {
	for _, h := range []string{
		"Authorization", "Proxy-Authorization", "Cookie", "Cookie2",
		"Signature", "Signature-Input", "X-Api-Key", "Api-Key",
		"X-Auth-Token", "X-Amz-Security-Token", "X-Goog-Api-Key",
		"Ocp-Apim-Subscription-Key", "X-Functions-Key", "X-Vault-Token", "Private-Token",
	} {
		for _, name := range []string{h, strings.ToLower(h)} {
			c, err := client.New(client.WithVisibleHeaders(name))
			var ce *client.ConfigError
			if !errors.As(err, &ce) || ce.Option != "WithVisibleHeaders" {
				if c != nil {
					c.Close()
				}
				t.Errorf("WithVisibleHeaders(%q): err = %v, want a ConfigError naming WithVisibleHeaders", name, err)
			}
		}
	}
}

// TestAPIKeyHeaderNotInSpans: a request through a client with an API key
// in a custom header never carries the key in a span, whatever else is
// visible.
func TestAPIKeyHeaderNotInSpans(t *testing.T) {
	const key = "CANARY-apikey-77"
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL),
		client.WithAPIKey("X-Partner-Key", tokens.Static(tokens.NewToken(key, "", time.Time{}))),
		client.WithVisibleHeaders("X-Partner-Key", "X-Request-Id"),
		client.WithTracerProvider(tp))...)
	if err != nil {
		return // refused: nothing can leak (TestVisibleHeadersNeverShowCredentialHeaders)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if dump := fmt.Sprintf("%+v", spans.GetSpans()); strings.Contains(dump, key) {
		t.Errorf("API key in spans: %s", dump)
	}
}

// TestAPIKeyHeaderUnsentIsConfigError: an API key in a header net/http
// never sends from Request.Header (Host, Content-Length, Transfer-Encoding,
// Trailer) or in a hop-by-hop one never reaches the origin (and HTTP/2
// refuses some with an error quoting the key): a *ConfigError naming
// WithAPIKey.
func TestAPIKeyHeaderUnsentIsConfigError(t *testing.T) {
	src := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	for _, h := range []string{"Host", "Content-Length", "Transfer-Encoding", "Trailer", "Connection", "Keep-Alive", "Upgrade", "Te", "Proxy-Authorization"} {
		c, err := client.New(client.WithOrigins("https://a.test"), client.WithAPIKey(h, src))
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithAPIKey" {
			t.Errorf("%s: err = %v, want a ConfigError naming WithAPIKey", h, err)
		}
		if c != nil {
			c.Close()
		}
	}
}

// TestAPIKeyHeaderClashIsConfigError: an API key in Authorization next to
// a bearer token source would be overwritten by the bearer layer (the key
// never sent); in Signature, Signature-Input or Content-Digest next to a
// signer it would be overwritten or break the signature. Each is a
// *ConfigError naming WithAPIKey, in any option order.
func TestAPIKeyHeaderClashIsConfigError(t *testing.T) {
	src := tokens.Static(tokens.NewToken("k", "", time.Time{}))
	bearer := tokens.Static(tokens.NewToken("t", "Bearer", time.Time{}))
	keys := hmacKeys(t)
	origins := client.WithOrigins("https://a.test")
	for i, opts := range [][]client.Option{
		{origins, client.WithAPIKey("Authorization", src), client.WithTokenSource(bearer)},
		{origins, client.WithTokenSource(bearer), client.WithAPIKey("authorization", src)},
		{origins, client.WithAPIKey("Authorization", src), client.WithOAuth2ClientCredentials(tokens.OAuth2Config{TokenURL: "https://a.test/token", ClientID: "c"})},
		{origins, client.WithAPIKey("Signature", src), client.WithHMACSigning(keys)},
		{origins, client.WithHMACSigning(keys), client.WithAPIKey("signature-input", src)},
		{origins, client.WithAPIKey("Content-Digest", src), client.WithHMACSigning(keys)},
	} {
		c, err := client.New(opts...)
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithAPIKey" {
			t.Errorf("case %d: err = %v, want a ConfigError naming WithAPIKey", i, err)
		}
		if c != nil {
			c.Close()
		}
	}
	// Authorization alone, or next to a signer (which covers it), is fine.
	for i, opts := range [][]client.Option{
		{origins, client.WithAPIKey("Authorization", src)},
		{origins, client.WithAPIKey("Authorization", src), client.WithHMACSigning(keys)},
	} {
		c, err := client.New(opts...)
		if err != nil {
			t.Errorf("ok case %d: %v", i, err)
			continue
		}
		c.Close()
	}
}
