package faults

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// tlsUpstream is an HTTPS upstream (HTTP/1.1) behind a Toxiproxy proxy,
// counting requests per method and the connections it holds open.
type tlsUpstream struct {
	srv   *httptest.Server
	proxy *toxiclient.Proxy

	mu      sync.Mutex
	handler http.HandlerFunc
	hits    map[string]int
	open    atomic.Int64
}

func newTLSUpstream(t *testing.T, cl *toxiclient.Client, name string) *tlsUpstream {
	t.Helper()
	u := &tlsUpstream{hits: map[string]int{}}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.hits[r.Method]++
		h := u.handler
		u.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	u.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			u.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			u.open.Add(-1)
		}
	}
	u.srv.StartTLS()
	t.Cleanup(u.srv.Close)
	p, err := cl.CreateProxy(name, "127.0.0.1:0", strings.TrimPrefix(u.srv.URL, "https://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Delete() })
	u.proxy = p
	return u
}

func (u *tlsUpstream) origin() string { return "https://" + u.proxy.Listen }

func (u *tlsUpstream) setHandler(h http.HandlerFunc) {
	u.mu.Lock()
	u.handler = h
	u.mu.Unlock()
}

func (u *tlsUpstream) hitCount(method string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.hits[method]
}

// tokenServer is an OAuth2 token endpoint on plain loopback http.
func tokenServer(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"tok","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/token", &n
}

func clientConfig() transport.ResilienceConfig {
	cfg := faultConfig()
	cfg.TotalTimeout = 3 * time.Second
	return cfg
}

// newFullClient builds a client.New client with OAuth2, HMAC signing and
// the fault configuration, for the origins of ups.
func newFullClient(t *testing.T, cfg transport.ResilienceConfig, ups ...*tlsUpstream) *client.Client {
	t.Helper()
	tokenURL, _ := tokenServer(t)
	k, err := signer.NewHMACKey("client-1", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	var origins []string
	for _, u := range ups {
		pool.AddCert(u.srv.Certificate())
		origins = append(origins, u.origin())
	}
	c, err := client.New(
		client.WithOrigins(origins...),
		client.WithTLSConfig(&tls.Config{RootCAs: pool}),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
		client.WithResilience(cfg),
		client.WithHMACSigning(signer.StaticKey(k)),
		client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL: tokenURL,
			ClientID: "c",
			Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s"))),
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func call(c *client.Client, method, url, key string, body []byte) callResult {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		return callResult{err: err}
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.Do(req)
	if err != nil {
		return callResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return callResult{status: resp.StatusCode, body: string(b), err: err}
}

// TestClientServerNeverAnswers: through a client.New client (OAuth2,
// signing, the resilience layers), a server that takes every request and
// never answers, its handler returning without a word when the client goes
// away. Each attempt ends at the attempt timeout, and no call ends in a
// success: net/http hands back the 200 a Go server writes when such a
// handler returns, if it reaches the connection while the transport closes
// it (the client's TLS close_notify goes out before its TCP close), and
// that late answer was returned as the call's result (a 200 with no
// content, 1 to 3 calls in 30 on this machine).
func TestClientServerNeverAnswers(t *testing.T) {
	cl := startToxiproxy(t)
	u := newTLSUpstream(t, cl, "never")
	release := make(chan struct{})
	defer close(release)
	u.setHandler(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	cfg := clientConfig()
	cfg.DisableBreaker = true
	cfg.Retry.Budget.Disabled = true
	// Every timed-out attempt closes its HTTP/1.1 connection, so each one
	// starts with a TLS handshake through toxiproxy: under -race on a
	// loaded machine 400 ms could go on it, the request never reaching the
	// handler (a hit missing, a POST retried as never sent). 800 ms keeps
	// the attempt timeout the only way an attempt ends.
	cfg.AttemptTimeout = 800 * time.Millisecond
	cfg.TotalTimeout = 5 * time.Second
	c := newFullClient(t, cfg, u)

	const calls = 8
	for i := range calls {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			var body []byte
			want := 3
			reason := transport.StopAttempts
			if m == http.MethodPost {
				body, want, reason = []byte(`{"a":1}`), 1, transport.StopNotReplayable
			}
			res := call(c, m, u.origin()+"/x", "", body)
			var re *transport.RetryError
			if !errors.As(res.err, &re) || !isAttemptTimeout(res.err) {
				t.Errorf("%s call %d: %v; want a *RetryError over an *AttemptTimeoutError", m, i, res)
				continue
			}
			if re.Attempts != want || re.Reason != reason {
				t.Errorf("%s call %d: %d attempts (%s), want %d (%s)", m, i, re.Attempts, re.Reason, want, reason)
			}
		}
	}
	if g, p := u.hitCount(http.MethodGet), u.hitCount(http.MethodPost); g != 3*calls || p != calls {
		t.Errorf("upstream got %d GETs and %d POSTs, want %d and %d", g, p, 3*calls, calls)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	waitOpen(t, u, 0)
}

// waitOpen waits until the upstream holds n connections open (the server
// notices a closed connection asynchronously), failing after 5 s.
func waitOpen(t *testing.T, u *tlsUpstream, n int64) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); u.open.Load() != n; {
		if time.Now().After(end) {
			t.Fatalf("the upstream still holds %d connections open, want %d", u.open.Load(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
