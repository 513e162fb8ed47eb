package handstack

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/oauth2"
	"golang.org/x/time/rate"
)

// Headers the hand signer sets.
const (
	HeaderDate      = "X-Date"
	HeaderNonce     = "X-Nonce"
	HeaderSignature = "X-Signature"
)

// ErrBadSignature is returned by Verify for a missing or wrong signature.
var ErrBadSignature = errors.New("handstack: bad signature")

// ErrPinMismatch is returned (wrapped) by a PinnedTransport handshake whose
// verified chains hold no pinned key.
var ErrPinMismatch = errors.New("handstack: no pinned key in the certificate chain")

// Config configures New. Base and Token are required.
type Config struct {
	// Base is the transport at the bottom: PinnedTransport, or a stub.
	Base http.RoundTripper
	// Token is the OAuth2 access token, served through a ReuseTokenSource
	// as a clientcredentials.Config would serve it.
	Token *oauth2.Token
	// HMACKey signs every request (Signer).
	HMACKey []byte
	// Rate and Burst configure the limiter. Zero Rate: rate.Inf.
	Rate  rate.Limit
	Burst int
	// RetryMax, RetryWaitMin and RetryWaitMax configure go-retryablehttp.
	// Zero: its defaults (4 retries, 1 s to 30 s).
	RetryMax     int
	RetryWaitMin time.Duration
	RetryWaitMax time.Duration
	// Breaker configures gobreaker. Zero: gobreaker's defaults (open after
	// more than 5 consecutive failures, 60 s open).
	Breaker gobreaker.Settings
	// TracerProvider, MeterProvider and Propagator go to otelhttp. nil:
	// the global ones.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagator     propagation.TextMapPropagator
}

// New returns the hand-assembled client (see the package doc for the
// order of its layers).
func New(cfg Config) (*http.Client, error) {
	if cfg.Base == nil {
		return nil, errors.New("handstack: Config.Base is required")
	}
	if cfg.Token == nil {
		return nil, errors.New("handstack: Config.Token is required")
	}
	var rt http.RoundTripper = &Signer{Key: cfg.HMACKey, Base: cfg.Base}
	rt = &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(cfg.Token)), Base: rt}
	lim, burst := cfg.Rate, cfg.Burst
	if lim == 0 {
		lim = rate.Inf
	}
	if burst == 0 {
		burst = 1
	}
	rt = &Limiter{Limiter: rate.NewLimiter(lim, burst), Base: rt}
	rt = NewBreaker(cfg.Breaker, rt)
	var opts []otelhttp.Option
	if cfg.TracerProvider != nil {
		opts = append(opts, otelhttp.WithTracerProvider(cfg.TracerProvider))
	}
	if cfg.MeterProvider != nil {
		opts = append(opts, otelhttp.WithMeterProvider(cfg.MeterProvider))
	}
	if cfg.Propagator != nil {
		opts = append(opts, otelhttp.WithPropagators(cfg.Propagator))
	}
	rt = otelhttp.NewTransport(rt, opts...)

	rc := retryablehttp.NewClient()
	rc.Logger = nil // its default logger writes every attempt to stderr
	rc.HTTPClient = &http.Client{Transport: rt}
	if cfg.RetryMax != 0 {
		rc.RetryMax = cfg.RetryMax
	}
	if cfg.RetryWaitMin != 0 {
		rc.RetryWaitMin = cfg.RetryWaitMin
	}
	if cfg.RetryWaitMax != 0 {
		rc.RetryWaitMax = cfg.RetryWaitMax
	}
	// Give the last response back after the retries instead of an error,
	// as a caller of a plain http.Client expects.
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return rc.StandardClient(), nil
}

// PinnedTransport returns a clone of http.DefaultTransport (HTTP/2 when
// the server offers it) that verifies the server against roots and then
// requires one of pins ("sha256/" + base64 of the SHA-256 of a
// SubjectPublicKeyInfo) in a verified chain. It keeps 16 idle connections
// per host (net/http's default, 2, makes parallel callers reconnect).
func PinnedTransport(roots *x509.CertPool, pins []string) *http.Transport {
	want := make(map[string]bool, len(pins))
	for _, p := range pins {
		want[p] = true
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	tr.TLSClientConfig = &tls.Config{
		RootCAs:    roots,
		MinVersion: tls.VersionTLS12,
		VerifyConnection: func(cs tls.ConnectionState) error {
			for _, chain := range cs.VerifiedChains {
				for _, c := range chain {
					if want[SPKIPin(c)] {
						return nil
					}
				}
			}
			return ErrPinMismatch
		},
	}
	return tr
}

// SPKIPin returns the pin of cert: "sha256/" + base64 of the SHA-256 of its
// SubjectPublicKeyInfo.
func SPKIPin(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256/" + base64.StdEncoding.EncodeToString(sum[:])
}

// Signer signs each request with HMAC-SHA256 over its method, path and
// query, an X-Date and a fresh 128-bit X-Nonce, in X-Signature. It clones
// the request (a RoundTripper must not modify its argument).
type Signer struct {
	Key  []byte
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (s *Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("handstack: nonce: %w", err)
	}
	r := req.Clone(req.Context())
	date := time.Now().UTC().Format(http.TimeFormat)
	n := base64.RawURLEncoding.EncodeToString(nonce[:])
	r.Header.Set(HeaderDate, date)
	r.Header.Set(HeaderNonce, n)
	r.Header.Set(HeaderSignature, sign(s.Key, r.Method, r.URL.RequestURI(), date, n))
	return s.Base.RoundTrip(r)
}

func sign(key []byte, method, uri, date, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(method + "\n" + uri + "\n" + date + "\n" + nonce))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks the signature Signer put on req (the server's side).
func Verify(req *http.Request, key []byte) error {
	date, nonce, got := req.Header.Get(HeaderDate), req.Header.Get(HeaderNonce), req.Header.Get(HeaderSignature)
	if date == "" || nonce == "" || got == "" {
		return ErrBadSignature
	}
	want := sign(key, req.Method, req.URL.RequestURI(), date, nonce)
	if !hmac.Equal([]byte(got), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// Limiter waits for a token of Limiter before every request; a wait that
// cannot end before the context's deadline fails at once.
type Limiter struct {
	Limiter *rate.Limiter
	Base    http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (l *Limiter) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := l.Limiter.Wait(req.Context()); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("handstack: rate limit: %w", err)
	}
	return l.Base.RoundTrip(req)
}

// Breaker runs every request through a gobreaker circuit breaker: a
// transport error or a 5xx answer counts as a failure; while the breaker
// is open, requests fail with gobreaker.ErrOpenState (wrapped) unsent.
type Breaker struct {
	cb   *gobreaker.CircuitBreaker[*http.Response]
	base http.RoundTripper
}

// errServer marks a 5xx answer as a failure for gobreaker.
var errServer = errors.New("handstack: server error")

// NewBreaker returns a Breaker over base.
func NewBreaker(st gobreaker.Settings, base http.RoundTripper) *Breaker {
	return &Breaker{cb: gobreaker.NewCircuitBreaker[*http.Response](st), base: base}
}

// RoundTrip implements http.RoundTripper.
func (b *Breaker) RoundTrip(req *http.Request) (*http.Response, error) {
	sent := false
	resp, err := b.cb.Execute(func() (*http.Response, error) {
		sent = true
		resp, err := b.base.RoundTrip(req)
		if err == nil && resp.StatusCode >= 500 {
			return resp, errServer
		}
		return resp, err
	})
	switch {
	case errors.Is(err, errServer):
		return resp, nil
	case err != nil && !sent:
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, fmt.Errorf("handstack: breaker: %w", err)
	}
	return resp, err
}
