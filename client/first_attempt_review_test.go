package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
	"github.com/securecall/securecall/transport"
)

// The call's first attempt takes the call's own request copy (issue 8):
// these tests drive whole client.New stacks over real servers, HTTP/1.1 and
// HTTP/2, and check that no attempt, hop or call-level view sees another
// attempt's credentials.

const (
	faKey   = "CANARY-first-attempt-key"
	faToken = "CANARY-first-attempt-token"
)

// faServer starts an HTTPS test server speaking HTTP/2 (h2) or HTTP/1.1
// only.
func faServer(t *testing.T, h2 bool, h http.Handler) *httptest.Server {
	t.Helper()
	_, leaf := testPKI()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	if !h2 {
		srv.TLS.NextProtos = []string{"http/1.1"}
	}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// faSeen is what one request reaching a server carried.
type faSeen struct {
	proto, method, path, query, auth, sigInput, referer, idem string
	keys, auths, sigs, idems                                  int
	body                                                      int
}

type faLog struct {
	mu   sync.Mutex
	seen []faSeen
}

func (l *faLog) add(r *http.Request, body int) int {
	s := faSeen{
		proto: r.Proto, method: r.Method, path: r.URL.Path, query: r.URL.RawQuery,
		auth: r.Header.Get("Authorization"), sigInput: r.Header.Get("Signature-Input"),
		referer: r.Header.Get("Referer"), idem: r.Header.Get("Idempotency-Key"), idems: len(r.Header.Values("Idempotency-Key")),
		keys: len(r.URL.Query()["key"]), auths: len(r.Header.Values("Authorization")),
		sigs: len(r.Header.Values("Signature")), body: body,
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, s)
	return len(l.seen)
}

func (l *faLog) all() []faSeen {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]faSeen(nil), l.seen...)
}

// faRig is a client with every credential layer (bearer token, API key in
// the query, HMAC signing), the audit log, the inventory and tracing.
type faRig struct {
	c     *client.Client
	audit *bytes.Buffer
	amu   *sync.Mutex
	inv   *transport.Inventory
	spans *tracetest.InMemoryExporter
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func newFAClient(t *testing.T, origin string, more ...client.Option) *faRig {
	t.Helper()
	g := &faRig{audit: new(bytes.Buffer), amu: new(sync.Mutex), spans: tracetest.NewInMemoryExporter()}
	var err error
	if g.inv, err = transport.NewInventory(transport.InventoryConfig{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.inv.Close() })
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(g.spans))
	rc := transport.StandardPreset()
	rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
	rc.Retry.MaxAttempts = 3
	rc.DisableThrottle = true
	rc.DisableBreaker = true
	g.c, err = client.New(opts(loopback(), append([]client.Option{
		client.WithOrigins(origin),
		client.WithTokenSource(tokens.Static(tokens.NewToken(faToken, "Bearer", time.Time{}))),
		client.WithAPIKeyInQuery("key", tokens.Static(tokens.NewToken(faKey, "", time.Time{}))),
		client.WithHMACSigning(hmacKeys(t)),
		client.WithResilience(rc),
		client.WithAuditLog(slog.New(slog.NewJSONHandler(lockedWriter{g.amu, g.audit}, nil))),
		client.WithInventory(g.inv),
		client.WithTracerProvider(tp),
		client.WithIdempotencyKeys(),
	}, more...)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.c.Close() })
	return g
}

// checkCallViews: the audit log, the inventory and the call spans never
// show the key (its name included: the caller's URL has no query) nor the
// token.
func (g *faRig) checkCallViews(t *testing.T) {
	t.Helper()
	g.amu.Lock()
	audit := g.audit.String()
	g.amu.Unlock()
	inv, err := json.Marshal(g.inv)
	if err != nil {
		t.Fatal(err)
	}
	for what, s := range map[string]string{"audit log": audit, "inventory": string(inv)} {
		if strings.Contains(s, faKey) || strings.Contains(s, faToken) || strings.Contains(s, "key=") {
			t.Errorf("%s shows an attempt's credential: %s", what, s)
		}
	}
	for _, s := range g.spans.GetSpans() {
		for _, a := range s.Attributes {
			v := a.Value.String()
			if strings.Contains(v, faKey) || strings.Contains(v, faToken) {
				t.Errorf("span %q attribute %s = %q shows a credential", s.Name, a.Key, v)
			}
		}
	}
}

func faCheckAttempt(t *testing.T, i int, s faSeen, path string, body int) {
	t.Helper()
	if s.keys != 1 || s.auths != 1 || s.auth != "Bearer "+faToken || s.sigs != 1 || s.path != path || s.body != body {
		t.Errorf("request %d: %+v, want one key, one Authorization, one signature, path %s, body %d", i, s, path, body)
	}
	if s.idems != 1 {
		t.Errorf("request %d: %d Idempotency-Key fields, want 1", i, s.idems)
	}
	if strings.Count(s.sigInput, "sig") != 1 {
		t.Errorf("request %d: Signature-Input %q, want one signature", i, s.sigInput)
	}
	if strings.Contains(s.referer, faKey) {
		t.Errorf("request %d: Referer %q carries the key", i, s.referer)
	}
}

func faCheckCaller(t *testing.T, req *http.Request, rawURL string) {
	t.Helper()
	if req.URL.String() != rawURL || len(req.Header) != 1 || req.Header.Get("Content-Type") != "text/plain" || req.Host != req.URL.Host || req.Method != http.MethodPost {
		t.Errorf("caller's request changed: %s %s host %q header %v", req.Method, req.URL, req.Host, req.Header)
	}
}

// TestFirstAttempt503ThenRetryOverRealServers: attempt 0 is answered 503
// (read body or not), attempt 1 carries exactly one set of fresh
// credentials on the caller's path and the whole body, over HTTP/1.1 and
// HTTP/2; nothing at call level sees a credential; the caller's request is
// unchanged.
func TestFirstAttempt503ThenRetryOverRealServers(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		for _, readFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("h2=%v/readFirst=%v", h2, readFirst), func(t *testing.T) {
				const size = 1 << 20 // bigger than every buffer: an early 503 while the body is still being written
				var log faLog
				v, err := signer.NewVerifier(signer.VerifierOptions{Keys: hmacKeys(t)})
				if err != nil {
					t.Fatal(err)
				}
				var n atomic.Int32
				srv := faServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if n.Add(1) == 1 {
						read := 0
						if readFirst {
							b, _ := io.ReadAll(r.Body)
							read = len(b)
						}
						log.add(r, read)
						w.Header().Set("Connection", "close")
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					// The second attempt goes through the verifier: a
					// signature made for attempt 0 (its nonce) would be a
					// replay, and its digest must match the body.
					v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						b, _ := io.ReadAll(r.Body)
						log.add(r, len(b))
						io.WriteString(w, "ok")
					})).ServeHTTP(w, r)
				}))
				origin := localhostURL(srv.URL)
				g := newFAClient(t, origin)
				rawURL := origin + "/v1/items"
				req, _ := http.NewRequest(http.MethodPost, rawURL, bytes.NewReader(bytes.Repeat([]byte("x"), size)))
				req.Header.Set("Content-Type", "text/plain")
				resp, err := g.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(b) != "ok" {
					t.Fatalf("got %s %q, want 200 ok", resp.Status, b)
				}
				seen := log.all()
				if len(seen) != 2 {
					t.Fatalf("server saw %d requests, want 2: %+v", len(seen), seen)
				}
				wantProto := "HTTP/1.1"
				if h2 {
					wantProto = "HTTP/2.0"
				}
				if seen[0].idem == "" || seen[1].idem != seen[0].idem {
					t.Errorf("Idempotency-Key %q then %q, want the same key", seen[0].idem, seen[1].idem)
				}
				for i, s := range seen {
					if s.proto != wantProto {
						t.Errorf("request %d over %s, want %s", i, s.proto, wantProto)
					}
					want := size
					if i == 0 && !readFirst {
						want = 0
					}
					faCheckAttempt(t, i, s, "/v1/items", want)
				}
				faCheckCaller(t, req, rawURL)
				g.checkCallViews(t)
			})
		}
	}
}

// TestFirstAttemptRedirects: attempt 0 answered with a redirect (after a
// 503, or at once), to the client's own origin and to an allowed foreign
// one. The own hop carries exactly one fresh set of credentials (not the
// previous hop's on top); the foreign hop none, and no Referer with the key.
func TestFirstAttemptRedirects(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		for _, after503 := range []bool{false, true} {
			t.Run(fmt.Sprintf("h2=%v/after503=%v", h2, after503), func(t *testing.T) {
				var foreignLog faLog
				foreign := faServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					foreignLog.add(r, len(b))
					io.WriteString(w, "foreign")
				}))
				foreignOrigin := localhostURL(foreign.URL)
				var log faLog
				var n atomic.Int32
				own := faServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					b, _ := io.ReadAll(r.Body)
					log.add(r, len(b))
					if after503 && n.Add(1) == 1 {
						w.WriteHeader(http.StatusServiceUnavailable)
						return
					}
					switch r.URL.Path {
					case "/v1/items":
						http.Redirect(w, r, "/v1/next", http.StatusTemporaryRedirect) // 307: the body again
					case "/v1/next":
						http.Redirect(w, r, foreignOrigin+"/landing", http.StatusSeeOther) // 303: GET, no body
					default:
						http.Error(w, "unexpected", http.StatusTeapot)
					}
				}))
				origin := localhostURL(own.URL)
				g := newFAClient(t, origin, client.WithRedirectOrigins(foreignOrigin))
				rawURL := origin + "/v1/items"
				req, _ := http.NewRequest(http.MethodPost, rawURL, strings.NewReader("payload"))
				req.Header.Set("Content-Type", "text/plain")
				resp, err := g.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(b) != "foreign" {
					t.Fatalf("got %s %q, want 200 foreign", resp.Status, b)
				}
				seen := log.all()
				wantPaths := []string{"/v1/items", "/v1/next"}
				if after503 {
					wantPaths = append([]string{"/v1/items"}, wantPaths...)
				}
				if len(seen) != len(wantPaths) {
					t.Fatalf("own origin saw %+v, want paths %v", seen, wantPaths)
				}
				for i, s := range seen {
					faCheckAttempt(t, i, s, wantPaths[i], len("payload"))
				}
				fs := foreignLog.all()
				if len(fs) != 1 {
					t.Fatalf("foreign origin saw %+v, want one GET", fs)
				}
				if f := fs[0]; f.method != http.MethodGet || f.auths != 0 || f.keys != 0 || f.sigs != 0 || f.sigInput != "" || f.referer != "" || f.query != "" || f.body != 0 {
					t.Errorf("foreign hop got %+v, want a bare GET", f)
				}
				faCheckCaller(t, req, rawURL)
				g.checkCallViews(t)
			})
		}
	}
}

// TestFirstAttemptCallLayerSeesCallerRequest: a WithCallLayer layer that
// reads its request after next (as a logging layer does) sees the caller's
// URL and headers only, never the attempt's credentials, after a retry too.
func TestFirstAttemptCallLayerSeesCallerRequest(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			var log faLog
			var n atomic.Int32
			srv := faServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				log.add(r, len(b))
				if n.Add(1) == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				io.WriteString(w, "ok")
			}))
			origin := localhostURL(srv.URL)
			var after []string
			layer := client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
				return rtFunc(func(r *http.Request) (*http.Response, error) {
					resp, err := next.RoundTrip(r)
					after = append(after, r.Method+" "+r.URL.String()+" "+fmt.Sprint(r.Header))
					return resp, err
				}), nil
			})
			g := newFAClient(t, origin, layer)
			rawURL := origin + "/v1/items"
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, rawURL, strings.NewReader("payload"))
			req.Header.Set("Content-Type", "text/plain")
			resp, err := g.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if len(after) != 1 || strings.Contains(after[0], faKey) || strings.Contains(after[0], faToken) || strings.Contains(after[0], "Signature") {
				t.Errorf("call layer saw after next: %q", after)
			}
			for i, s := range log.all() {
				faCheckAttempt(t, i, s, "/v1/items", len("payload"))
			}
			faCheckCaller(t, req, rawURL)
			g.checkCallViews(t)
		})
	}
}

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestFirstAttempt401ReplayThen503: attempt 0 gets a 401 (the auth layer
// replays it with a new token, a fork of the call's own copy), the replay a
// 503, attempt 1 a 200: every send carries exactly one token, the latest,
// one key and one signature on the caller's path.
func TestFirstAttempt401ReplayThen503(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			var fetches atomic.Int32
			src := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
				return tokens.NewToken(fmt.Sprintf("%s-%d", faToken, fetches.Add(1)), "Bearer", time.Now().Add(time.Hour)), nil
			})
			var log faLog
			var n atomic.Int32
			srv := faServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				log.add(r, len(b))
				switch n.Add(1) {
				case 1:
					w.WriteHeader(http.StatusUnauthorized)
				case 2:
					w.WriteHeader(http.StatusServiceUnavailable)
				default:
					io.WriteString(w, "ok")
				}
			}))
			origin := localhostURL(srv.URL)
			g := newFAClient(t, origin, client.WithTokenSource(src))
			rawURL := origin + "/v1/items"
			req, _ := http.NewRequest(http.MethodPost, rawURL, strings.NewReader("payload"))
			req.Header.Set("Content-Type", "text/plain")
			resp, err := g.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got %s, want 200", resp.Status)
			}
			seen := log.all()
			wantTok := []string{"-1", "-2", "-2"}
			if len(seen) != 3 {
				t.Fatalf("server saw %+v, want 3 sends", seen)
			}
			for i, s := range seen {
				if s.keys != 1 || s.auths != 1 || s.auth != "Bearer "+faToken+wantTok[i] || s.sigs != 1 || s.path != "/v1/items" || s.body != len("payload") || s.idems != 1 || s.idem != seen[0].idem {
					t.Errorf("send %d: %+v", i, s)
				}
			}
			faCheckCaller(t, req, rawURL)
			g.checkCallViews(t)
		})
	}
}
