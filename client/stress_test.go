package client_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// spanCounter counts span starts and ends by span ID, so that a span
// never ended, or ended twice, shows.
type spanCounter struct {
	mu     sync.Mutex
	starts map[string]int
	ends   map[string]int
}

func (s *spanCounter) OnStart(_ context.Context, sp sdktrace.ReadWriteSpan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts[sp.SpanContext().SpanID().String()]++
}

func (s *spanCounter) OnEnd(sp sdktrace.ReadOnlySpan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ends[sp.SpanContext().SpanID().String()]++
}
func (s *spanCounter) Shutdown(context.Context) error   { return nil }
func (s *spanCounter) ForceFlush(context.Context) error { return nil }

// countingBody is a request body that counts its closes.
type countingBody struct {
	io.Reader
	closes *atomic.Int32
}

func (b *countingBody) Close() error { b.closes.Add(1); return nil }

// bodyTracker hands out request bodies and checks each was closed exactly
// once.
type bodyTracker struct {
	mu     sync.Mutex
	bodies []*atomic.Int32
}

func (bt *bodyTracker) body(p []byte) io.ReadCloser {
	n := new(atomic.Int32)
	bt.mu.Lock()
	bt.bodies = append(bt.bodies, n)
	bt.mu.Unlock()
	return &countingBody{Reader: bytes.NewReader(p), closes: n}
}

// stressPKI is a CA for the servers and the client certificates, and a
// server leaf for localhost.
type stressPKI struct {
	ca     *testpki.CA
	server *testpki.Leaf
}

// TestStressWholeStack drives one client with every layer on (OAuth2
// client credentials from a real token endpoint, HMAC signing over a
// per-call header, pins, mTLS with the certificate files rewritten while
// calls run, retries on 503, breaker, throttle with MaxConcurrent, egress
// allowlist, inventory, audit log, tracing) from many goroutines, while
// the server revokes the token in waves, callers cancel at random points,
// response bodies are closed from another goroutine while being read, and
// the client is closed mid-flight. It checks counts, never timings.
func TestStressWholeStack(t *testing.T) {
	const (
		workers       = 8
		callsPerWork  = 12
		maxConcurrent = 4
	)
	if testing.Short() {
		t.Skip("stress test")
	}
	ca, err := testpki.NewCA("stress")
	if err != nil {
		t.Fatal(err)
	}
	srvLeaf, err := ca.Server("localhost", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pki := stressPKI{ca: ca, server: srvLeaf}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writeClientCert := func() {
		l, err := pki.ca.Client("client")
		if err != nil {
			t.Error(err)
			return
		}
		// Written in place, one file after the other: a reload may see a
		// mismatched pair and must keep the previous certificate.
		if err := os.WriteFile(certFile, l.CertPEM, 0o600); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(keyFile, l.KeyPEM, 0o600); err != nil {
			t.Error(err)
		}
	}
	writeClientCert()

	mtls := func(h http.Handler) *httptest.Server {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = true
		srv.TLS = &tls.Config{
			Certificates: []tls.Certificate{pki.server.TLS},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    testpki.Pool(pki.ca),
		}
		srv.Config.ErrorLog = quietLog()
		srv.StartTLS()
		return srv
	}

	// The token endpoint: client_credentials, tok-1, tok-2, ...
	var issued atomic.Int64
	tokenSrv := mtls(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, "bad grant", http.StatusBadRequest)
			return
		}
		if id, sec, ok := r.BasicAuth(); !ok || id != "stress" || sec != "s3cret" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":3600}`, n)
	}))
	defer tokenSrv.Close()

	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: hmacKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	var (
		minValid  atomic.Int64 // tokens below it are revoked
		waves     atomic.Int32
		arrivals  atomic.Int64
		seen503   sync.Map // call id -> first attempt answered 503
		inflight  atomic.Int32
		maxFlight atomic.Int32
		barrier   = make(chan struct{})
		barrierN  atomic.Int32
		srvErrs   = make(chan string, 1000)
	)
	minValid.Store(1)
	apiSrv := mtls(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		defer inflight.Add(-1)
		for m := maxFlight.Load(); n > m && !maxFlight.CompareAndSwap(m, n); m = maxFlight.Load() {
		}
		if r.URL.Path == "/barrier" {
			if barrierN.Add(1) == maxConcurrent {
				close(barrier)
			}
			select {
			case <-barrier:
			case <-time.After(20 * time.Second):
				http.Error(w, "barrier", http.StatusGatewayTimeout)
				return
			}
			io.WriteString(w, "ok")
			return
		}
		id := r.URL.Query().Get("id")
		if got := r.Header.Get("X-Call-Id"); got != id || !strings.Contains(r.Header.Get("Signature-Input"), `"x-call-id"`) {
			srvErrs <- fmt.Sprintf("call %s carried X-Call-Id %q (signed: %v)", id, got, r.Header.Get("Signature-Input"))
		}
		b, _ := io.ReadAll(r.Body)
		if string(b) != "payload-"+id {
			srvErrs <- fmt.Sprintf("call %s carried body %q", id, b)
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer tok-")
		tn, err := strconv.ParseInt(tok, 10, 64)
		if !ok || err != nil {
			srvErrs <- fmt.Sprintf("call %s: Authorization %q", id, r.Header.Get("Authorization"))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if tn < minValid.Load() {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		a := arrivals.Add(1)
		// A revocation wave: only when the token used is the newest, so
		// that no wave starts while the previous one's refresh runs.
		if a%15 == 0 && tn == issued.Load() && minValid.CompareAndSwap(tn, tn+1) {
			waves.Add(1)
		}
		if _, loaded := seen503.LoadOrStore(id, true); !loaded && a%5 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Query().Get("big") != "" {
			fl, _ := w.(http.Flusher)
			for range 16 {
				w.Write(bytes.Repeat([]byte("x"), 4096))
				if fl != nil {
					fl.Flush()
				}
			}
			return
		}
		io.WriteString(w, "ok "+id)
	})))
	defer apiSrv.Close()

	origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)

	cc, err := transport.NewClientCertificateFromFiles(certFile, keyFile, transport.WithCertificateReloadInterval(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	s, err := signer.New(signer.Options{Keys: hmacKeys(t), Components: append(signer.DefaultComponents(), signer.Field("x-call-id"))})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	var auditMu sync.Mutex
	var auditBuf bytes.Buffer
	spans := tracetest.NewInMemoryExporter()
	sc := &spanCounter{starts: map[string]int{}, ends: map[string]int{}}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans), sdktrace.WithSpanProcessor(sc))
	rc := transport.StandardPreset()
	rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
	rc.Retry.Budget.Ratio = 1
	rc.Breaker.Window, rc.Breaker.ProbeTimeout = 2*time.Minute, 30*time.Second
	rc.Breaker.ConsecutiveFailures = 1000
	rc.Breaker.FailureRatio = 1
	rc.Breaker.MinRequests = 1000
	rc.Throttle.MaxWait = 30 * time.Second
	rc.Throttle.Limit = transport.HostLimit{MaxConcurrent: maxConcurrent}
	rc.TotalTimeout, rc.AttemptTimeout = time.Minute, 30*time.Second

	c, err := client.New(
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(pki.ca)}),
		client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")),
		client.WithOrigins(origin),
		client.WithEgressAllowlist(origin, tokenOrigin),
		client.WithPins(transport.PinSet{Host: "localhost", Pins: []string{testpki.Pin(pki.ca.Cert), testpki.Pin(pki.server.Cert)}}),
		client.WithClientCertificate(cc),
		client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL: tokenOrigin + "/token",
			ClientID: "stress",
			Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret"))),
		}),
		client.WithSigner(s),
		client.WithResilience(rc),
		client.WithInventory(inv),
		client.WithAuditLog(slog.New(slog.NewJSONHandler(lockedWriter{&auditMu, &auditBuf}, nil))),
		client.WithTracerProvider(tp),
	)
	if err != nil {
		t.Fatal(err)
	}

	baseline := runtime.NumGoroutine()
	var (
		bt                                                         bodyTracker
		ok, closedErrs, cacheClosed, canceled, total, unauthorized atomic.Int32
		stopRotate                                                 = make(chan struct{})
		rotateDone                                                 = make(chan struct{})
	)
	go func() {
		defer close(rotateDone)
		for {
			select {
			case <-stopRotate:
				return
			default:
			}
			writeClientCert()
			c.HTTPClient().CloseIdleConnections() // new connections: new handshakes
			time.Sleep(20 * time.Millisecond)
		}
	}()
	oneCall := func(rng *rand.Rand, id string) {
		total.Add(1)
		payload := []byte("payload-" + id)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if rng.IntN(6) == 0 {
			time.AfterFunc(time.Duration(rng.IntN(3000))*time.Microsecond, cancel)
		}
		u := origin + "/v1/items?id=" + id
		big := rng.IntN(5) == 0
		if big {
			u += "&big=1"
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, u, nil)
		req.Body = bt.body(payload)
		req.GetBody = func() (io.ReadCloser, error) { return bt.body(payload), nil }
		req.ContentLength = int64(len(payload))
		req.Header.Set("X-Call-Id", id)
		req.Header.Set("Content-Type", "text/plain")
		resp, err := c.Do(req)
		switch {
		case err == nil:
			ok.Add(1)
			if big && rng.IntN(2) == 0 {
				done := make(chan struct{})
				go func() { defer close(done); io.Copy(io.Discard, resp.Body) }()
				resp.Body.Close()
				<-done
				return
			}
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusUnauthorized {
				// The replay after a 401 carried a token that the next
				// revocation wave had already revoked: the server's
				// answer, as in production.
				unauthorized.Add(1)
				return
			}
			if rerr == nil && resp.StatusCode != http.StatusOK {
				t.Errorf("call %s: status %d", id, resp.StatusCode)
			}
			if rerr == nil && !big && resp.StatusCode == http.StatusOK && string(b) != "ok "+id {
				t.Errorf("call %s read %q", id, b)
			}
		case errors.Is(err, client.ErrClosed):
			closedErrs.Add(1)
		case errors.Is(err, tokens.ErrClosed):
			// In the stack at Close, it needed a new token (a revocation
			// wave's 401) from the cache Close closed: Close documents
			// this error. It entered the stack, as a call that succeeds.
			cacheClosed.Add(1)
		case errors.Is(err, context.Canceled):
			canceled.Add(1)
		default:
			t.Errorf("call %s: unexpected error %v", id, err)
		}
	}
	round := func(closeAt int32) {
		var calls atomic.Int32
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), uint64(closeAt)))
				for i := range callsPerWork {
					id := fmt.Sprintf("%d-%d-%d", closeAt, w, i)
					if calls.Add(1) == closeAt {
						go c.Close()
					}
					oneCall(rng, id)
				}
			})
		}
		wg.Wait()
	}
	round(0)
	// Every concurrency slot is free again: MaxConcurrent calls that each
	// wait for all the others get through.
	var bwg sync.WaitGroup
	for range maxConcurrent {
		bwg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, origin+"/barrier", nil)
			req.Header.Set("X-Call-Id", "barrier")
			resp, err := c.Do(req)
			if err != nil {
				t.Errorf("barrier call: %v", err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("barrier call: %s (a concurrency slot was not released)", resp.Status)
			}
		})
	}
	bwg.Wait()
	round(int32(workers * callsPerWork / 2))
	close(stopRotate)
	<-rotateDone
	close(srvErrs)
	for e := range srvErrs {
		t.Error(e)
	}
	t.Logf("calls %d: ok %d (401: %d), closed %d (cache closed in the stack %d), canceled %d; waves %d, tokens issued %d, server arrivals %d, max in flight %d",
		total.Load(), ok.Load(), unauthorized.Load(), closedErrs.Load(), cacheClosed.Load(), canceled.Load(), waves.Load(), issued.Load(), arrivals.Load(), maxFlight.Load())

	// One token request per revocation wave, plus the first: never more
	// (the refresh is shared by every call that saw the 401). The last
	// wave may start on the last request to arrive, with no call after it
	// to need a new token: then one fewer.
	if got, w := issued.Load(), int64(waves.Load()); got > w+1 || got < w {
		t.Errorf("token endpoint hit %d times for %d waves, want %d (one per wave plus the first), or %d when the last wave came last", got, w, w+1, w)
	}
	if m := maxFlight.Load(); m > maxConcurrent {
		t.Errorf("server saw %d requests at once, MaxConcurrent is %d", m, maxConcurrent)
	}
	bt.mu.Lock()
	for i, n := range bt.bodies {
		if got := n.Load(); got != 1 {
			t.Errorf("request body %d closed %d times, want 1", i, got)
		}
	}
	bt.mu.Unlock()

	// Calls refused with ErrClosed at the door reach no layer.
	entered := int(total.Load()-closedErrs.Load()) + maxConcurrent // the barrier calls
	// The token requests are recorded too, in entries of their own: every
	// one the endpoint got at least (one canceled by Close may have
	// failed before it), each once in the inventory and the audit log.
	var invCalls, tokenCalls uint64
	for _, e := range inv.Snapshot().Entries {
		if e.Route == "/token" {
			tokenCalls += e.Calls
			continue
		}
		invCalls += e.Calls
	}
	if int(invCalls) != entered {
		t.Errorf("inventory counted %d calls, want %d", invCalls, entered)
	}
	if tokenCalls < uint64(issued.Load()) {
		t.Errorf("inventory counted %d token requests, the endpoint got %d", tokenCalls, issued.Load())
	}
	// The audit log has those, and the calls refused with ErrClosed,
	// which the client records without the stack: one record per call.
	auditMu.Lock()
	records := strings.Count(auditBuf.String(), transport.DefaultAuditMessage)
	tokenRecords := strings.Count(auditBuf.String(), `"url.template":"/token"`)
	closedRecords := strings.Count(auditBuf.String(), `"error.type":"closed"`)
	auditMu.Unlock()
	if want := entered + int(closedErrs.Load()); records-tokenRecords != want {
		t.Errorf("audit log has %d call records, want %d", records-tokenRecords, want)
	}
	if tokenRecords != int(tokenCalls) {
		t.Errorf("audit log has %d token request records, the inventory %d", tokenRecords, tokenCalls)
	}
	if closedRecords != int(closedErrs.Load()) {
		t.Errorf("audit log has %d ErrClosed records, want %d", closedRecords, closedErrs.Load())
	}
	sc.mu.Lock()
	for id, n := range sc.starts {
		if e := sc.ends[id]; e != n || n != 1 {
			t.Errorf("span %s started %d times, ended %d", id, n, e)
		}
	}
	sc.mu.Unlock()
	var callSpans int
	for _, s := range spans.GetSpans() {
		if s.Parent.IsValid() {
			continue
		}
		callSpans++
	}
	if callSpans != entered {
		t.Errorf("%d call spans, want %d", callSpans, entered)
	}

	// Goroutines: after Close, with every body closed and the pool
	// emptied, nothing of the client's is left running.
	c.HTTPClient().CloseIdleConnections()
	apiSrv.CloseClientConnections()
	tokenSrv.CloseClientConnections()
	var n int
	for range 1000 { // up to 10 s: a loaded machine runs the exiting goroutines late
		if n = runtime.NumGoroutine(); n <= baseline {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n > baseline {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before the calls:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}
