package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"crypto/tls"
	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"net/netip"
)

// observedSeries returns, per metric name, the data points of the
// securecall instruments a MeterProvider's reader reports as gauges (the
// observable ones: the inventory's endpoint gauge, the client certificate's
// expiry) and of the inventory's observable call counter.
func observedSeries(t *testing.T, r *sdkmetric.ManualReader) map[string]int {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if !strings.HasPrefix(m.Name, "securecall.") {
				continue
			}
			switch d := m.Data.(type) {
			case metricdata.Gauge[int64]:
				out[m.Name] += len(d.DataPoints)
			case metricdata.Gauge[float64]:
				out[m.Name] += len(d.DataPoints)
			case metricdata.Sum[int64]:
				if m.Name == transport.MetricAPICalls {
					out[m.Name] += len(d.DataPoints)
				}
			}
		}
	}
	return out
}

func goroutineDump() string {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.String()
}

// waitGoroutines polls runtime.NumGoroutine until it is at most baseline,
// for up to 15 s (a loaded machine runs exiting goroutines late), and
// reports the goroutines left when it never gets there.
func waitGoroutines(t *testing.T, baseline int) {
	t.Helper()
	var n int
	for range 1500 {
		if n = runtime.NumGoroutine(); n <= baseline {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines after Close, %d before New:\n%s", n, baseline, goroutineDump())
}

// TestCloseReview14WholeClient builds a client with every feature on
// (OAuth2 client credentials, HMAC signing, mTLS from files, retries,
// breaker, throttle, egress allowlist, inventory, audit log, OTel tracer
// and meter providers), makes calls, leaves a background early refresh of
// the token running (the token endpoint holds it), and closes the client
// while 20 goroutines call. It checks, with counts: calls after Close fail
// with ErrClosed and send nothing; Close is idempotent and safe
// concurrently with itself; no observable securecall instrument of the
// client is reported after Close; the refresh in flight is cancelled by Close; every
// connection to both servers is closed; and no goroutine outlives Close.
func TestCloseReview14WholeClient(t *testing.T) {
	ca, _ := testPKI()
	leaf, err := ca.Client("close14")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, leaf.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, leaf.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	tokenSrv, tokenConns, issued, refreshArrived, release := heldRefreshTokenServer(t, true)
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: hmacKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int32
	var firstDone atomic.Bool
	apiSrv, apiConns := newConnCountingServer(t, true, v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/retry" && firstDone.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	})))
	origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewInMemoryExporter()))
	s, err := signer.New(signer.Options{Keys: hmacKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	rc := transport.StandardPreset()
	rc.Retry.BaseDelay, rc.Retry.MaxDelay = time.Millisecond, time.Millisecond
	rc.Throttle.Limit = transport.HostLimit{MaxConcurrent: 4}
	var auditMu sync.Mutex
	var auditBuf bytes.Buffer

	runtime.GC()
	baseline := runtime.NumGoroutine()
	c, err := client.New(opts(loopback(),
		client.WithOrigins(origin),
		client.WithEgressAllowlist(origin, tokenOrigin),
		client.WithClientCertificateFiles(certFile, keyFile),
		client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL: tokenOrigin + "/token",
			ClientID: "close14",
			Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret"))),
		}),
		client.WithSigner(s),
		client.WithResilience(rc),
		client.WithAuditLog(slog.New(slog.NewJSONHandler(lockedWriter{&auditMu, &auditBuf}, nil))),
		client.WithTracerProvider(tp),
		client.WithMeterProvider(mp),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	call := func(path string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, origin+path, nil)
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	if st, err := call("/retry"); err != nil || st != http.StatusOK {
		t.Fatalf("first call: %d, %v", st, err)
	}
	// Call until the token's early refresh starts (its token lives 2 s).
	for i := 0; ; i++ {
		if st, err := call("/x"); err != nil || st != http.StatusOK {
			t.Fatalf("call: %d, %v", st, err)
		}
		select {
		case <-refreshArrived:
		default:
			if i == 1000 {
				t.Fatal("no early refresh after 1000 calls")
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		break
	}
	before := observedSeries(t, reader)
	for _, name := range []string{transport.MetricAPICalls, transport.MetricAPIEndpoint, transport.MetricClientCertificateExpiry} {
		if before[name] == 0 {
			t.Errorf("no %s series before Close: %v", name, before)
		}
	}

	// Close while 20 goroutines call, and three Closes at once.
	var wg sync.WaitGroup
	start := make(chan struct{})
	var okCalls, closedCalls atomic.Int32
	for range 20 {
		wg.Go(func() {
			<-start
			for range 5 {
				st, err := call("/x")
				switch {
				case err == nil && st == http.StatusOK:
					okCalls.Add(1)
				case errors.Is(err, client.ErrClosed):
					closedCalls.Add(1)
				default:
					t.Errorf("call racing Close: %d, %v", st, err)
				}
			}
		})
	}
	closeErrs := make(chan error, 3)
	for range 3 {
		wg.Go(func() {
			<-start
			closeErrs <- c.Close()
		})
	}
	close(start)
	wg.Wait()
	close(closeErrs)
	for err := range closeErrs {
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close again: %v", err)
	}
	t.Logf("racing calls: %d ok, %d ErrClosed", okCalls.Load(), closedCalls.Load())

	// After Close: ErrClosed, typed, nothing sent.
	n := served.Load()
	for range 3 {
		if _, err := call("/after"); !errors.Is(err, client.ErrClosed) {
			t.Errorf("call after Close: %v, want ErrClosed", err)
		}
	}
	if got := served.Load(); got != n {
		t.Errorf("%d requests reached the server after Close", got-n)
	}

	if got := observedSeries(t, reader); len(got) != 0 {
		t.Errorf("observable securecall series after Close: %v", got)
	}

	// The refresh in flight at Close was cancelled by it; released now,
	// the held handler finds its request gone. Then nothing is left.
	release()
	waitConns(t, "API server", apiConns)
	waitConns(t, "token server", tokenConns)
	waitGoroutines(t, baseline)
	if got := issued.Load(); got != 2 {
		t.Errorf("%d token requests, want 2", got)
	}
}

// TestCloseReview14SharedMeterProvider: two clients on one MeterProvider;
// closing one leaves the other's observable instruments reported.
func TestCloseReview14SharedMeterProvider(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	ca, _ := testPKI()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	newClient := func(cn string) *client.Client {
		leaf, err := ca.Client(cn)
		if err != nil {
			t.Fatal(err)
		}
		cc, err := transport.NewClientCertificateFromPEM(leaf.CertPEM, leaf.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithClientCertificate(cc), client.WithMeterProvider(mp))...)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/"+cn, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return c
	}
	c1, c2 := newClient("one"), newClient("two")
	defer c2.Close()
	both := observedSeries(t, reader)
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	one := observedSeries(t, reader)
	for _, name := range []string{transport.MetricAPICalls, transport.MetricAPIEndpoint, transport.MetricClientCertificateExpiry} {
		if both[name] != 2 || one[name] != 1 {
			t.Errorf("%s: %d series with both clients open, %d with one closed; want 2 and 1", name, both[name], one[name])
		}
	}
}

// TestCloseReview14RefreshEndingAfterClose: a background token refresh in
// flight at Close, with no call in flight, ends after Close: the token
// request's connection must be closed once it ends (docs: each
// WithOAuth2ClientCredentials token request that ends after Close closes
// the base transport's idle connections).
func TestCloseReview14RefreshEndingAfterClose(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			tokenSrv, tokenConns, _, refreshArrived, release := heldRefreshTokenServer(t, h2)
			apiSrv, apiConns := newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}))
			origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)
			c, err := client.New(opts(loopback(),
				client.WithOrigins(origin),
				client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
					TokenURL: tokenOrigin + "/token",
					ClientID: "close14",
					Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret"))),
				}),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; ; i++ {
				req, _ := http.NewRequest(http.MethodGet, origin+"/x", nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				select {
				case <-refreshArrived:
				default:
					if i == 1000 {
						t.Fatal("no early refresh after 1000 calls")
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				break
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			waitConns(t, "API server", apiConns)
			release()
			waitConns(t, "token server", tokenConns)
		})
	}
}

// TestCloseReview14FailedNewLeavesNothing: a New that fails after the
// base transport's expiry gauge or the inventory were registered leaves
// neither reported on the caller's MeterProvider.
func TestCloseReview14FailedNewLeavesNothing(t *testing.T) {
	ca, _ := testPKI()
	leaf, err := ca.Client("failed")
	if err != nil {
		t.Fatal(err)
	}
	cc, err := transport.NewClientCertificateFromPEM(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	var typedNil *slog.JSONHandler
	for name, bad := range map[string]client.Option{
		"oauth2": client.WithOAuth2ClientCredentials(tokens.OAuth2Config{}),
		"audit":  client.WithAuditLog(slog.New(typedNil)),
		"layer":  client.WithCallLayer(func(http.RoundTripper) (http.RoundTripper, error) { return nil, errors.New("no") }),
	} {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		runtime.GC()
		base := runtime.NumGoroutine()
		_, err := client.New(opts(loopback(), client.WithOrigins("https://localhost:1"), client.WithClientCertificate(cc), client.WithMeterProvider(mp), bad)...)
		if err == nil {
			t.Fatalf("%s: New succeeded", name)
		}
		t.Logf("%s: %v", name, err)
		if got := observedSeries(t, reader); len(got) != 0 {
			t.Errorf("%s: series after a failed New: %v", name, got)
		}
		waitGoroutines(t, base)
	}
}

func TestCloseReview14TLSConfigCertGauge(t *testing.T) {
	ca, _ := testPKI()
	leaf, err := ca.Client("tlscfg")
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]*tls.Config{
		"certificates": {RootCAs: testpki.Pool(ca), Certificates: []tls.Certificate{leaf.TLS}},
		"getcc": {RootCAs: testpki.Pool(ca), GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &leaf.TLS, nil
		}},
	} {
		_, sl := testPKI()
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{sl.TLS}, ClientAuth: tls.RequestClientCert}
		srv.StartTLS()
		defer srv.Close()
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		c, err := client.New(client.WithTLSConfig(tc), client.WithAllowedNetworks(netip.MustParsePrefix("127.0.0.0/8")), client.WithOrigins(srv.URL), client.WithMeterProvider(mp))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		t.Logf("%s before: %v", name, observedSeries(t, reader))
		c.Close()
		if got := observedSeries(t, reader); len(got) != 0 {
			t.Errorf("%s: after Close %v", name, got)
		}
	}
}

// heldRefreshTokenServer starts a token server (HTTP/2 when h2) whose
// first token lives 2 s, so the client soon refreshes it early; that
// second token request is held (refreshArrived closes when it arrives)
// until release, then answered with a token of an hour. issued counts the
// token requests.
func heldRefreshTokenServer(t *testing.T, h2 bool) (srv *httptest.Server, conns *connCounter, issued *atomic.Int32, refreshArrived <-chan struct{}, release func()) {
	issued = new(atomic.Int32)
	arrived := make(chan struct{})
	releaseRefresh := make(chan struct{})
	var releaseOnce sync.Once
	release = func() { releaseOnce.Do(func() { close(releaseRefresh) }) }
	t.Cleanup(release)
	srv, conns = newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := issued.Add(1)
		life := 2
		if n == 2 {
			close(arrived)
			<-releaseRefresh
			life = 3600
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, life)
	}))
	return srv, conns, issued, arrived, release
}
