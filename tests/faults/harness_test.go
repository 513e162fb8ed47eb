package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/securecall/securecall/transport"
)

// TestMain fails the package when a test leaves goroutines behind: the
// layers must not leak a timer, a body reader or a connection when a fault
// ends a call.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startToxiproxy serves an embedded Toxiproxy API on httptest and returns
// a client for it. Cleanup stops every proxy listener.
func startToxiproxy(t *testing.T) *toxiclient.Client {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	api := httptest.NewServer(srv.Routes())
	t.Cleanup(func() {
		_ = srv.Collection.Clear()
		api.Close()
	})
	return toxiclient.NewClient(api.URL)
}

// upstream is the API under test: POST /orders creates an order (a side
// effect, counted), deduplicated by Idempotency-Key as a careful server
// does; GET /orders reads. Its mode switches it into an outage (503 to
// everything) or a quota (429 past a rate).
type upstream struct {
	srv *httptest.Server

	mu      sync.Mutex
	effects int              // orders created
	byKey   map[string]int   // Idempotency-Key -> order id
	keys    map[string]int   // Idempotency-Key -> requests seen with it
	hits    map[string]int   // method -> requests handled
	conns   atomic.Int64     // connections accepted
	handler http.HandlerFunc // replaces the default behaviour when set
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{byKey: map[string]int{}, keys: map[string]int{}, hits: map[string]int{}}
	u.srv = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			u.conns.Add(1)
		}
	}
	u.srv.Start()
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) addr() string { return strings.TrimPrefix(u.srv.URL, "http://") }

func (u *upstream) setHandler(h http.HandlerFunc) {
	u.mu.Lock()
	u.handler = h
	u.mu.Unlock()
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	u.mu.Lock()
	u.hits[r.Method]++
	h := u.handler
	u.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		key := r.Header.Get("Idempotency-Key")
		u.mu.Lock()
		if key != "" {
			u.keys[key]++
		}
		id, seen := u.byKey[key]
		if !seen || key == "" {
			u.effects++
			id = u.effects
			if key != "" {
				u.byKey[key] = id
			}
		}
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if seen {
			w.WriteHeader(http.StatusOK) // a replay: the stored result
		} else {
			w.WriteHeader(http.StatusCreated)
		}
		_ = json.NewEncoder(w).Encode(map[string]int{"id": id})
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"orders":[]}`)
	}
}

func (u *upstream) counts() (effects int, hits map[string]int, keys map[string]int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	h := make(map[string]int, len(u.hits))
	for k, v := range u.hits {
		h[k] = v
	}
	ks := make(map[string]int, len(u.keys))
	for k, v := range u.keys {
		ks[k] = v
	}
	return u.effects, h, ks
}

// countingTransport is the client's connection pool, counting the
// connections it opens. The tests own it and close its idle connections
// at the end; the resilience layers above it never do.
type countingTransport struct {
	*http.Transport
	dials atomic.Int64
}

func newCountingTransport(t *testing.T) *countingTransport {
	t.Helper()
	ct := &countingTransport{}
	d := &net.Dialer{Timeout: 5 * time.Second}
	ct.Transport = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ct.dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
	}
	t.Cleanup(ct.CloseIdleConnections)
	return ct
}

// healOnRetry runs heal once, before the first resend of any call: a fault
// that hit the first attempt is gone for the second, deterministically.
type healOnRetry struct {
	next http.RoundTripper
	heal func()
	once sync.Once
}

func (h *healOnRetry) RoundTrip(req *http.Request) (*http.Response, error) {
	if a, ok := transport.AttemptFrom(req.Context()); ok && a.Number > 0 && h.heal != nil {
		h.once.Do(h.heal)
	}
	return h.next.RoundTrip(req)
}

// callResult is what a test call saw.
type callResult struct {
	status int
	body   string
	err    error
}

// do sends one call through rt and reads the whole response.
func do(ctx context.Context, rt http.RoundTripper, method, url, key string) callResult {
	var body io.Reader
	var getBody func() (io.ReadCloser, error)
	if method == http.MethodPost {
		const payload = `{"item":"widget","qty":1}`
		body = strings.NewReader(payload)
		getBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(payload)), nil }
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return callResult{err: err}
	}
	req.GetBody = getBody
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return callResult{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return callResult{status: resp.StatusCode, body: string(b), err: err}
}

func (r callResult) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	return fmt.Sprintf("%d %s", r.status, strings.TrimSpace(r.body))
}
