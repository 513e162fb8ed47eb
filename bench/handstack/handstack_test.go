package handstack

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

var testKey = bytes.Repeat([]byte{0x42}, 32)

// server is a loopback HTTPS server that checks what the hand stack must
// send and answers with status (200 unless set).
type server struct {
	*httptest.Server
	hits   atomic.Int32
	status atomic.Int32
	errs   chan error
}

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{errs: make(chan error, 100)}
	s.status.Store(http.StatusOK)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Header.Get("Authorization") != "Bearer hand-token":
			s.errs <- errors.New("Authorization: " + r.Header.Get("Authorization"))
		case Verify(r, testKey) != nil:
			s.errs <- errors.New("signature does not verify")
		case r.Header.Get("Traceparent") == "":
			s.errs <- errors.New("no traceparent")
		case r.Method == http.MethodPost && string(body) != "payload":
			s.errs <- errors.New("body " + string(body))
		}
		w.WriteHeader(int(s.status.Load()))
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	s.StartTLS()
	t.Cleanup(s.Close)
	return s
}

func (s *server) checkErrs(t *testing.T) {
	t.Helper()
	for {
		select {
		case err := <-s.errs:
			t.Error("server:", err)
		default:
			return
		}
	}
}

func roots(s *server) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(s.Certificate())
	return p
}

func newClient(t *testing.T, s *server, pins []string, mod func(*Config)) (*http.Client, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	tr := PinnedTransport(roots(s), pins)
	t.Cleanup(tr.CloseIdleConnections)
	cfg := Config{
		Base:           tr,
		Token:          &oauth2.Token{AccessToken: "hand-token", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)},
		HMACKey:        testKey,
		RetryMax:       2,
		RetryWaitMin:   time.Millisecond,
		RetryWaitMax:   time.Millisecond,
		TracerProvider: tp,
		Propagator:     propagation.TraceContext{},
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func TestHandStackSendsTokenSignatureAndTrace(t *testing.T) {
	s := newServer(t)
	c, rec := newClient(t, s, []string{SPKIPin(s.Certificate())}, nil)
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader("payload")
		}
		req, _ := http.NewRequest(method, s.URL+"/v1/items?page=2", body)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", method, resp.StatusCode)
		}
		if len(req.Header) != 0 {
			t.Errorf("%s: the caller's request was modified: %v", method, req.Header)
		}
	}
	s.checkErrs(t)
	if n := s.hits.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
	if n := len(rec.Ended()); n != 2 {
		t.Errorf("%d spans, want one per request (2)", n)
	}
}

func TestHandStackRefusesUnpinnedServer(t *testing.T) {
	s := newServer(t)
	wrong := "sha256/" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	c, _ := newClient(t, s, []string{wrong}, nil)
	resp, err := c.Get(s.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("no error for a server whose key is not pinned")
	}
	if !errors.Is(err, ErrPinMismatch) {
		t.Errorf("error %v, want ErrPinMismatch", err)
	}
	if n := s.hits.Load(); n != 0 {
		t.Errorf("the handler ran %d times", n)
	}
}

func TestHandStackRetriesThenBreaks(t *testing.T) {
	s := newServer(t)
	s.status.Store(http.StatusServiceUnavailable)
	c, _ := newClient(t, s, []string{SPKIPin(s.Certificate())}, func(cfg *Config) {
		cfg.Breaker = gobreaker.Settings{
			Timeout:     time.Hour,
			ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 4 },
		}
	})
	// 3 attempts (RetryMax 2) answered 503; the last one is returned.
	resp, err := c.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || s.hits.Load() != 3 {
		t.Fatalf("status %d after %d sends, want 503 after 3", resp.StatusCode, s.hits.Load())
	}
	// The 4th failure opens the breaker; the retries after it are refused
	// without a send.
	_, err = c.Get(s.URL)
	if !errors.Is(err, gobreaker.ErrOpenState) {
		t.Errorf("error %v, want gobreaker.ErrOpenState", err)
	}
	if n := s.hits.Load(); n != 4 {
		t.Errorf("%d sends, want 4", n)
	}
	s.checkErrs(t)
}

func TestHandStackLimiterRefusesWaitPastDeadline(t *testing.T) {
	s := newServer(t)
	c, _ := newClient(t, s, []string{SPKIPin(s.Certificate())}, func(cfg *Config) {
		cfg.Rate, cfg.Burst = rate.Every(time.Hour), 1
		cfg.RetryMax = -1 // go-retryablehttp: never retry
	})
	resp, err := c.Get(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("second request within the hour was sent")
	} else if !strings.Contains(err.Error(), "rate limit") {
		t.Errorf("error %v, want the limiter's", err)
	}
	if n := s.hits.Load(); n != 1 {
		t.Errorf("%d sends, want 1", n)
	}
}

func TestNewRequiresBaseAndToken(t *testing.T) {
	if _, err := New(Config{Token: &oauth2.Token{AccessToken: "x"}}); err == nil {
		t.Error("no error without Base")
	}
	if _, err := New(Config{Base: http.DefaultTransport}); err == nil {
		t.Error("no error without Token")
	}
}

func TestVerifyRejectsTampering(t *testing.T) {
	var got *http.Request
	sg := &Signer{Key: testKey, Base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		got = r
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/items?page=2", nil)
	if _, err := sg.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if err := Verify(got, testKey); err != nil {
		t.Fatalf("fresh signature: %v", err)
	}
	got.URL.RawQuery = "page=3"
	if err := Verify(got, testKey); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered query: %v, want ErrBadSignature", err)
	}
	if err := Verify(req, testKey); !errors.Is(err, ErrBadSignature) {
		t.Errorf("unsigned request: %v, want ErrBadSignature", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
