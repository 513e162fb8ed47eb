// Command quickstart shows securecall end to end, offline: it starts an
// embedded HTTPS API on loopback with a CA it generates, calls it through a
// client with certificate pinning on, and prints a short report per call:
// which layers acted, the status and the attempt count. Every request is
// signed (RFC 9421, HMAC) and the API verifies the signatures. It also shows what
// the client refuses: a server with a valid certificate but the wrong key
// (pin mismatch) and a redirect to an origin the client was not told about.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// api is the embedded service: an h2-capable HTTPS server on loopback.
func startAPI(leaf *testpki.Leaf, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	// The impostor's refused handshakes are expected: keep them off stderr.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.StartTLS()
	return srv
}

func run(ctx context.Context, out io.Writer) error {
	// 1. A private PKI: our CA, and an "attacker" CA the client also trusts
	// (think: a compromised or coerced public CA) issuing for the same name.
	ca, err := testpki.NewCA("quickstart root")
	if err != nil {
		return err
	}
	attackerCA, err := testpki.NewCA("attacker root")
	if err != nil {
		return err
	}
	leaf, err := ca.Server("127.0.0.1", "127.0.0.1")
	if err != nil {
		return err
	}
	fake, err := attackerCA.Server("127.0.0.1", "127.0.0.1")
	if err != nil {
		return err
	}

	// 2. Secrets live in a store, never in code or flags. A real service uses
	// tokens/keyring (the OS keyring) or a 0600 file store; the demo
	// provisions an in-memory store the way `go run ./examples/secrets set`
	// provisions the keyring.
	secrets := tokens.NewMemoryStore()
	if err := provision(ctx, secrets); err != nil {
		return err
	}
	hmacSecret, err := secrets.Get(ctx, "hmac-key")
	if err != nil {
		return err
	}
	// The shared HMAC key: the client signs every request (RFC 9421), the
	// API verifies each signature and refuses replays.
	key, err := signer.NewHMACKey("quickstart-key-1", hmacSecret)
	if err != nil {
		return err
	}

	// An embedded OAuth2 token endpoint (client credentials, Basic auth).
	clientSecret, err := secrets.Get(ctx, "oauth-client-secret")
	if err != nil {
		return err
	}
	issuer := &tokenEndpoint{clientID: "quickstart", secret: string(clientSecret)}
	auth := startAPI(leaf, issuer)
	defer auth.Close()
	verifier, err := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(key)})
	if err != nil {
		return err
	}

	var flaky atomic.Int32

	// 3. The embedded API and an impostor with a valid chain but other keys.
	api := startAPI(leaf, verifier.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !issuer.valid(r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Token-Ok", "1")
		if res, ok := signer.ResultFromContext(r.Context()); ok {
			w.Header().Set("X-Verified-Key", res.KeyID)
		}
		switch r.URL.Path {
		case "/v1/flaky":
			if flaky.Add(1) == 1 { // the first call fails, the retry succeeds
				w.Header().Set("Retry-After", "0")
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, `{"path":"/v1/flaky","second_try":true}`)
		case "/v1/moved":
			http.Redirect(w, r, "https://localhost:1/elsewhere", http.StatusFound)
		default:
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"path":%q,"traceparent":%t}`, r.URL.Path, r.Header.Get("Traceparent") != "")
		}
	})))
	defer api.Close()
	impostor := startAPI(fake, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "you should never see this")
	}))
	defer impostor.Close()

	// 4. The client: pinned to our leaf's key, with our CA's key as backup,
	// signing with the shared key.
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	c, err := client.New(
		client.WithOrigins(api.URL, impostor.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca, attackerCA)}),
		client.WithPins(transport.PinSet{
			Host: "127.0.0.1",
			Pins: []string{testpki.Pin(leaf.Cert), testpki.Pin(ca.Cert)},
		}),
		client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL: auth.URL + "/oauth/token",
			ClientID: "quickstart",
			Auth:     tokens.ClientSecretBasic(tokens.FromStore(secrets, "oauth-client-secret")),
		}),
		client.WithHMACSigning(signer.StaticKey(key)),
		client.WithTracerProvider(tp),
		client.WithPropagator(propagation.TraceContext{}),
	)
	if err != nil {
		return err
	}
	defer c.Close()

	fmt.Fprintln(out, "securecall quickstart: embedded HTTPS API at", api.URL)
	calls := []struct {
		what, url string
		wantErr   error
	}{
		{"GET the API", api.URL + "/v1/status?api_key=not-for-logs", nil},
		{"GET it again (pooled h2 connection)", api.URL + "/v1/items", nil},
		{"GET a flaky endpoint (503 + Retry-After, then 200)", api.URL + "/v1/flaky", nil},
		{"GET an impostor with a valid chain, wrong key", impostor.URL + "/v1/status", client.ErrPinMismatch},
		{"follow a redirect to an unlisted origin", api.URL + "/v1/moved", client.ErrRedirectDenied},
	}
	for i, call := range calls {
		spans.Reset()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, call.url, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		fmt.Fprintf(out, "\n%d. %s\n", i+1, call.what)
		if err != nil {
			if call.wantErr == nil || !errors.Is(err, call.wantErr) {
				return fmt.Errorf("call %d: unexpected error: %w", i+1, err)
			}
			fmt.Fprintf(out, "   refused: %v\n", err)
			report(out, spans.GetSpans(), nil)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if call.wantErr != nil {
			return fmt.Errorf("call %d succeeded, want %v", i+1, call.wantErr)
		}
		fmt.Fprintf(out, "   %s %s, body %s\n", resp.Proto, resp.Status, body)
		report(out, spans.GetSpans(), resp)
	}
	fmt.Fprintf(out, "\ntoken endpoint: %d token request(s) for %d calls (cached and shared)\n", issuer.issued.Load(), len(calls))
	return nil
}

// report prints which layers acted on a call, from its spans and response.
// The call span reports the call's first send (and counts every send in
// securecall.attempt_count); each resend has a child span of its own.
func report(out io.Writer, spans tracetest.SpanStubs, resp *http.Response) {
	var calls, resends int
	var sends int64
	var url string
	for _, s := range spans {
		if hasParentIn(spans, s) {
			resends++
			continue
		}
		calls++
		for _, a := range s.Attributes {
			switch a.Key {
			case "url.full":
				url = a.Value.AsString()
			case "securecall.attempt_count":
				sends = a.Value.AsInt64()
			}
		}
	}
	var layers []string
	if calls > 0 {
		layers = append(layers, "trace(call span)")
	}
	if resends > 0 {
		layers = append(layers, fmt.Sprintf("trace(%d resend span)", resends))
	}
	if sends > 1 {
		layers = append(layers, fmt.Sprintf("retry(%d attempts, fresh signature each)", sends))
	}
	if resp != nil && resp.Header.Get("X-Token-Ok") != "" {
		layers = append(layers, "auth(OAuth2 bearer token)")
	}
	if resp != nil && resp.Header.Get("X-Verified-Key") != "" {
		layers = append(layers, "sign(hmac-sha256 keyid="+resp.Header.Get("X-Verified-Key")+", verified by the API)")
	}
	if resp != nil && resp.TLS != nil {
		layers = append(layers, fmt.Sprintf("tls(%s, pinned, %s)", tls.VersionName(resp.TLS.Version), resp.TLS.NegotiatedProtocol))
	}
	fmt.Fprintf(out, "   attempts=%d layers: %s\n", sends, strings.Join(layers, ", "))
	if url != "" {
		fmt.Fprintf(out, "   url.full in the span: %s\n", url)
	}
}

// hasParentIn reports whether s's parent is one of spans (a resend's span
// under the call span).
func hasParentIn(spans tracetest.SpanStubs, s tracetest.SpanStub) bool {
	for _, p := range spans {
		if p.SpanContext.SpanID() == s.Parent.SpanID() {
			return true
		}
	}
	return false
}

// provision writes the demo's secrets into store.
func provision(ctx context.Context, store tokens.Store) error {
	for k, v := range map[string]string{
		"hmac-key":            "0123456789abcdef0123456789abcdef",
		"oauth-client-secret": "quickstart-client-secret",
	} {
		if err := store.Set(ctx, k, []byte(v)); err != nil {
			return err
		}
	}
	return nil
}

// tokenEndpoint is a minimal OAuth2 token endpoint: client credentials with
// client_secret_basic, opaque random tokens valid for an hour.
type tokenEndpoint struct {
	clientID, secret string
	issued           atomic.Int32
	mu               sync.Mutex
	live             map[string]bool
}

func (e *tokenEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if r.URL.Path != "/oauth/token" || r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	if !ok || id != e.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(e.secret)) != 1 {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	tok := hex.EncodeToString(b)
	e.mu.Lock()
	if e.live == nil {
		e.live = map[string]bool{}
	}
	e.live[tok] = true
	e.mu.Unlock()
	e.issued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, tok)
}

// valid reports whether authz is "Bearer <a token this endpoint issued>".
func (e *tokenEndpoint) valid(authz string) bool {
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	e.mu.Lock()
	defer e.mu.Unlock()
	return ok && e.live[tok]
}
