// Command hmac-signing shows RFC 9421 request signing end to end, offline:
// a securecall client signs its requests with hmac-sha256
// (client.WithHMACSigning) and a server on loopback verifies them with
// signer.Verifier. It prints a short report of what the server accepted and
// what it refused:
//
//  1. a signed GET and a signed POST (with Content-Digest) accepted;
//  2. a captured request re-sent verbatim by a plain http.Client: a replay,
//     refused with ErrReplay by the verifier's nonce store;
//  3. requests tampered with on the way (query changed, body changed):
//     refused;
//  4. a key rotation: the server learns the new key, the client rotates to
//     it, both keys are accepted during the overlap, then the old one is
//     retired;
//  5. signatures with a stale (or future) created: refused.
//
// The program checks every outcome itself and exits 1 if one is not the
// expected one.
//
//	go run ./examples/hmac-signing
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "hmac-signing:", err)
		os.Exit(1)
	}
}

// maxCapture bounds the bytes of a request body the wire tap keeps.
const maxCapture = 1 << 20

// wireRequest is a request exactly as it arrived at the server: what an
// eavesdropper on the path could record and send again.
type wireRequest struct {
	method string
	target string // path and query
	header http.Header
	body   []byte
}

// outcome is the server's verdict on the last request it received.
type outcome struct {
	status int
	result *signer.Result // the accepted signature, nil when refused
	err    error          // the verification error, nil when accepted
	input  string         // Signature-Input as received
	sig    string         // Signature as received
	digest string         // Content-Digest as received
}

// server is the receiving side: a wire tap in front of the verifier
// middleware in front of the API handler. It remembers the last request
// and the verifier's verdict on it.
type server struct {
	mu   sync.Mutex
	last wireRequest
	out  outcome
}

func newServer(v func(http.Handler) http.Handler) (*server, http.Handler) {
	s := &server{}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := signer.ResultFromContext(r.Context())
		s.mu.Lock()
		s.out.status = http.StatusOK
		s.out.result = res
		s.mu.Unlock()
		fmt.Fprintln(w, "ok")
	})
	verified := v(api)
	tap := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxCapture))
		if err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.last = wireRequest{method: r.Method, target: r.URL.RequestURI(), header: r.Header.Clone(), body: body}
		s.out = outcome{
			input:  r.Header.Get("Signature-Input"),
			sig:    r.Header.Get("Signature"),
			digest: r.Header.Get("Content-Digest"),
		}
		s.mu.Unlock()
		verified.ServeHTTP(w, r)
	})
	return s, tap
}

// reject is the verifier's ErrorHandler: it records why, then answers as
// the default handler does (401 without the reason).
func (s *server) reject(w http.ResponseWriter, r *http.Request, err error) {
	s.mu.Lock()
	s.out.err = err
	s.out.status = http.StatusUnauthorized
	s.mu.Unlock()
	signer.DefaultErrorHandler(w, r, err)
}

func (s *server) lastRequest() wireRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

func (s *server) outcome() outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out
}

// sentinels names the verification errors the report can show.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrReplay", signer.ErrReplay},
	{"ErrInvalidSignature", signer.ErrInvalidSignature},
	{"ErrDigestMismatch", signer.ErrDigestMismatch},
	{"ErrUnknownKey", signer.ErrUnknownKey},
	{"ErrStale", signer.ErrStale},
	{"ErrFuture", signer.ErrFuture},
	{"ErrExpired", signer.ErrExpired},
	{"ErrMissingSignature", signer.ErrMissingSignature},
	{"ErrMissingComponent", signer.ErrMissingComponent},
}

func sentinelName(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "unexpected error"
}

// shorten abbreviates the byte sequence of a Signature field value
// ("sig1=:base64:") so the report shows which signature it is, not all of it.
func shorten(sig string) string {
	i := strings.Index(sig, "=:")
	if i < 0 || len(sig) < i+2+12+1 {
		return sig
	}
	return sig[:i+2+12] + "…:"
}

// doer is what sends a request: a securecall client or a plain http.Client.
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// report writes the demo's report and checks each outcome.
type report struct {
	ctx  context.Context
	out  io.Writer
	srv  *server
	base string // the server's URL
}

func (rp *report) printf(format string, args ...any) {
	fmt.Fprintf(rp.out, format, args...)
}

// send sends method target (with body, if any) through c and returns the
// status and the server's verdict.
func (rp *report) send(c doer, method, target string, body []byte, header http.Header) (outcome, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rp.ctx, method, rp.base+target, rd)
	if err != nil {
		return outcome{}, err
	}
	for k, vs := range header {
		req.Header[k] = append([]string(nil), vs...)
	}
	resp, err := c.Do(req)
	if err != nil {
		return outcome{}, fmt.Errorf("%s %s: %w", method, target, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	o := rp.srv.outcome()
	if o.status != resp.StatusCode {
		return o, fmt.Errorf("%s %s: client saw %d, server recorded %d", method, target, resp.StatusCode, o.status)
	}
	return o, nil
}

// accepted sends a request that must be accepted with keyID and prints it.
func (rp *report) accepted(c doer, label, method, target string, body []byte, header http.Header, keyID string, details bool) error {
	o, err := rp.send(c, method, target, body, header)
	if err != nil {
		return err
	}
	if o.err != nil || o.result == nil {
		return fmt.Errorf("%s: refused (%v), want accepted", label, o.err)
	}
	if o.result.KeyID != keyID {
		return fmt.Errorf("%s: accepted with keyid %q, want %q", label, o.result.KeyID, keyID)
	}
	rp.printf("   %-44s -> %d accepted, keyid=%s\n", label, o.status, o.result.KeyID)
	if details {
		if o.digest != "" {
			rp.printf("        Content-Digest:  %s\n", o.digest)
		}
		rp.printf("        Signature-Input: %s\n", o.input)
		rp.printf("        Signature:       %s\n", shorten(o.sig))
	}
	return nil
}

// refused sends a request that must be refused with want and prints it.
func (rp *report) refused(c doer, label, method, target string, body []byte, header http.Header, want error) error {
	o, err := rp.send(c, method, target, body, header)
	if err != nil {
		return err
	}
	if o.err == nil {
		return fmt.Errorf("%s: accepted, want %v", label, want)
	}
	if !errors.Is(o.err, want) {
		return fmt.Errorf("%s: refused with %v, want %v", label, o.err, want)
	}
	rp.printf("   %-44s -> %d refused, %s (%v)\n", label, o.status, sentinelName(o.err), o.err)
	return nil
}

func newHMACKey(id string) (*signer.Key, error) {
	secret := make([]byte, signer.MinHMACKeySize)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	return signer.NewHMACKey(id, secret)
}

func run(ctx context.Context, out io.Writer) error {
	// Two shared secrets: the one in use, and the one we will rotate to.
	key1, err := newHMACKey("demo-key-1")
	if err != nil {
		return err
	}
	key2, err := newHMACKey("demo-key-2")
	if err != nil {
		return err
	}

	// The server verifies with its own key set (verification only: no
	// current signing key) and the default policy: method, authority, path
	// and query covered, content-digest for bodies, created within 60 s
	// (+30 s skew), a nonce remembered in memory for the window.
	serverKeys, err := signer.NewKeySet(nil, key1)
	if err != nil {
		return err
	}
	var srv *server
	verifier, err := signer.NewVerifier(signer.VerifierOptions{
		Keys:         serverKeys,
		Nonces:       signer.NewMemoryNonceStore(1000),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { srv.reject(w, r, err) },
	})
	if err != nil {
		return err
	}
	srv, handler := newServer(verifier.Middleware)
	// HTTPS with a CA made for the demo: securecall never sends a
	// credential (a signature included) over plain http.
	ca, err := testpki.NewCA("hmac-signing demo")
	if err != nil {
		return err
	}
	leaf, err := ca.Server("127.0.0.1")
	if err != nil {
		return err
	}
	ts := httptest.NewUnstartedServer(handler)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	ts.StartTLS()
	defer ts.Close()
	trust := &tls.Config{RootCAs: testpki.Pool(ca), MinVersion: tls.VersionTLS12}

	// The client signs with its key set: key1 is current.
	clientKeys, err := signer.NewKeySet(key1)
	if err != nil {
		return err
	}
	c, err := client.New(client.WithOrigins(ts.URL), client.WithTLSConfig(trust), client.WithHMACSigning(clientKeys))
	if err != nil {
		return err
	}
	defer c.Close()

	// A plain http.Client, for the attacker's replays.
	plainTransport := &http.Transport{TLSClientConfig: trust}
	defer plainTransport.CloseIdleConnections()
	plain := &http.Client{Transport: plainTransport}

	rp := &report{ctx: ctx, out: out, srv: srv, base: ts.URL}
	rp.printf("hmac-signing: securecall client -> verifying server at %s (RFC 9421, hmac-sha256)\n", ts.URL)

	// 1. Signed requests.
	rp.printf("\n1. Signed requests (client.WithHMACSigning)\n")
	if err := rp.accepted(c, "GET /v1/orders?status=open", http.MethodGet, "/v1/orders?status=open", nil, nil, "demo-key-1", true); err != nil {
		return err
	}
	jsonBody := http.Header{"Content-Type": {"application/json"}}
	order := []byte(`{"item":"widget","qty":2}`)
	if err := rp.accepted(c, "POST /v1/orders (JSON body)", http.MethodPost, "/v1/orders", order, jsonBody, "demo-key-1", true); err != nil {
		return err
	}
	captured := srv.lastRequest()

	// 2. Replay: the captured POST, headers and body byte for byte.
	rp.printf("\n2. Replay: the captured POST re-sent verbatim by a plain http.Client\n")
	if err := rp.refused(plain, "replayed POST /v1/orders", captured.method, captured.target, captured.body, captured.header, signer.ErrReplay); err != nil {
		return err
	}

	// 3. Tampering on the path: a proxy changes the request after the
	// client signed it.
	rp.printf("\n3. Tampering: an on-path proxy alters signed requests\n")
	tamper := &tamperer{next: &http.Transport{TLSClientConfig: trust}}
	defer tamper.next.CloseIdleConnections()
	tc, err := client.New(client.WithOrigins(ts.URL), client.WithHMACSigning(clientKeys), client.WithBaseTransport(tamper))
	if err != nil {
		return err
	}
	defer tc.Close()
	tamper.set(func(r *http.Request) { r.URL.RawQuery = "status=all" })
	if err := rp.refused(tc, "query changed: ?status=open -> ?status=all", http.MethodGet, "/v1/orders?status=open", nil, nil, signer.ErrInvalidSignature); err != nil {
		return err
	}
	forged := []byte(`{"item":"widget","qty":200}`)
	tamper.set(func(r *http.Request) { setBody(r, forged) })
	if err := rp.refused(tc, "body changed, Content-Digest kept", http.MethodPost, "/v1/orders", order, jsonBody, signer.ErrDigestMismatch); err != nil {
		return err
	}
	tamper.set(func(r *http.Request) {
		setBody(r, forged)
		d, _ := signer.ContentDigest(bytes.NewReader(forged))
		r.Header.Set("Content-Digest", d)
	})
	if err := rp.refused(tc, "body changed, Content-Digest recomputed", http.MethodPost, "/v1/orders", order, jsonBody, signer.ErrInvalidSignature); err != nil {
		return err
	}

	// 4. Key rotation without downtime.
	rp.printf("\n4. Key rotation (signer.KeySet): demo-key-1 -> demo-key-2\n")
	// A second client instance that has not rotated yet.
	oldKeys, err := signer.NewKeySet(key1)
	if err != nil {
		return err
	}
	old, err := client.New(client.WithOrigins(ts.URL), client.WithTLSConfig(trust), client.WithHMACSigning(oldKeys))
	if err != nil {
		return err
	}
	defer old.Close()
	if err := serverKeys.Add(key2); err != nil {
		return err
	}
	rp.printf("   a) server adds demo-key-2 (server keys: %s)\n", strings.Join(serverKeys.IDs(), ", "))
	if err := rp.accepted(c, "client, not rotated yet", http.MethodGet, "/v1/orders", nil, nil, "demo-key-1", false); err != nil {
		return err
	}
	if err := clientKeys.Rotate(key2); err != nil {
		return err
	}
	rp.printf("   b) client rotates to demo-key-2; overlap: both keys accepted\n")
	if err := rp.accepted(c, "rotated client", http.MethodGet, "/v1/orders", nil, nil, "demo-key-2", false); err != nil {
		return err
	}
	if err := rp.accepted(old, "another instance, not rotated yet", http.MethodGet, "/v1/orders", nil, nil, "demo-key-1", false); err != nil {
		return err
	}
	if err := serverKeys.Remove("demo-key-1"); err != nil {
		return err
	}
	if err := clientKeys.Remove("demo-key-1"); err != nil {
		return err
	}
	rp.printf("   c) overlap over: demo-key-1 removed (server keys: %s)\n", strings.Join(serverKeys.IDs(), ", "))
	if err := rp.accepted(c, "rotated client", http.MethodGet, "/v1/orders", nil, nil, "demo-key-2", false); err != nil {
		return err
	}
	if err := rp.refused(old, "instance still on demo-key-1", http.MethodGet, "/v1/orders", nil, nil, signer.ErrUnknownKey); err != nil {
		return err
	}

	// 5. The created window: a sign layer whose clock is off.
	rp.printf("\n5. Created outside the window (%v max age, %v skew)\n", signer.DefaultMaxAge, signer.DefaultClockSkew)
	for _, tc := range []struct {
		label  string
		offset time.Duration
		want   error
	}{
		{"created 5 minutes ago", -5 * time.Minute, signer.ErrStale},
		{"created 5 minutes ahead", 5 * time.Minute, signer.ErrFuture},
	} {
		skewed, err := skewedClient(ts.URL, clientKeys, plainTransport, tc.offset)
		if err != nil {
			return err
		}
		if err := rp.refused(skewed, tc.label, http.MethodGet, "/v1/orders", nil, nil, tc.want); err != nil {
			return err
		}
	}
	rp.printf("\nall outcomes as expected\n")
	return nil
}

// skewedClient returns a plain http.Client whose transport signs every
// request to origin with keys before handing it to base, but with created
// set offset away from now (transport.NewSign with an injected
// SignConfig.Clock).
func skewedClient(origin string, keys signer.KeySource, base http.RoundTripper, offset time.Duration) (*http.Client, error) {
	s, err := signer.New(signer.Options{Keys: keys})
	if err != nil {
		return nil, err
	}
	scope, err := transport.ParseOrigins(origin)
	if err != nil {
		return nil, err
	}
	rt, err := transport.NewSign(base, transport.SignConfig{
		Signer: s,
		Scope:  scope,
		Clock:  func() time.Time { return time.Now().Add(offset) },
	})
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: rt}, nil
}

// tamperer is the attacker's on-path proxy: it forwards requests after
// applying its current alteration to a copy.
type tamperer struct {
	next *http.Transport
	mu   sync.Mutex
	fn   func(*http.Request)
}

func (t *tamperer) set(fn func(*http.Request)) {
	t.mu.Lock()
	t.fn = fn
	t.mu.Unlock()
}

func (t *tamperer) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	fn := t.fn
	t.mu.Unlock()
	if fn != nil {
		req = req.Clone(req.Context())
		fn(req)
	}
	return t.next.RoundTrip(req)
}

// setBody replaces r's body with b, closing the body it had.
func setBody(r *http.Request, b []byte) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	r.ContentLength = int64(len(b))
}
