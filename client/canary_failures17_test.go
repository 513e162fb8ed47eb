package client_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestSecretsRedactedInFailureModes is TestSecretsRedactedEverywhere's
// companion for the credentials and failures it does not drive: an API key
// in the query, a private_key_jwt client (its assertion and Ed25519 key),
// an mTLS client key, HMAC signatures, and calls that fail at DNS, at
// connect (refused), at the TLS handshake (unknown CA), by timeout, with a
// 401, a 500 retried, a redirect to a host not allowed and a body too
// large; through Do, HTTPClient and Transport. Every error (%v, %+v, %#v,
// its tree), span, span event, metric point, audit and package log record,
// net/http's own log output and the inventory is searched for each secret.
func TestSecretsRedactedInFailureModes(t *testing.T) {
	const (
		apiKey   = canaryMark + "-QUERYAPIKEY"
		queryVal = canaryMark + "-CALLERQUERY"
		password = canaryMark + "-USERINFO"
	)
	ca, _ := testPKI()
	clientLeaf, err := ca.Client("canary-client")
	if err != nil {
		t.Fatal(err)
	}
	_, jwtKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(clientLeaf.Key)
	if err != nil {
		t.Fatal(err)
	}
	var secMu sync.Mutex
	secrets := []string{ // searched as written, besides the canary forms
		hex.EncodeToString(jwtKey.Seed()),
		base64.StdEncoding.EncodeToString(jwtKey.Seed())[:24],
		base64.RawURLEncoding.EncodeToString(jwtKey.Seed())[:24],
		hex.EncodeToString(der[len(der)-40:]),
		base64.StdEncoding.EncodeToString(der)[len(base64.StdEncoding.EncodeToString(der))-40:],
		fmt.Sprint(jwtKey.Seed()[:8]), // fmt's [1 2 3 ...] form
	}
	addSecret := func(s string) {
		if s == "" {
			return
		}
		secMu.Lock()
		secrets = append(secrets, s)
		secMu.Unlock()
	}
	search := func(s string) []string {
		found := leaks(s)
		secMu.Lock()
		defer secMu.Unlock()
		for _, sec := range secrets {
			if i := strings.Index(s, sec); i >= 0 {
				found = append(found, "secret "+sec[:min(12, len(sec))]+"…: "+excerpt(s, i))
			}
		}
		return found
	}

	var tokenEcho sync.Mutex
	tokenEchoes := false // the token endpoint refuses, quoting the assertion
	tokenSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		assertion := r.PostForm.Get("client_assertion")
		addSecret(assertion)
		w.Header().Set("Content-Type", "application/json")
		tokenEcho.Lock()
		echo := tokenEchoes
		tokenEcho.Unlock()
		if echo {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"assertion %s rejected"}`, assertion)
			return
		}
		fmt.Fprintf(w, `{"access_token":"%s-ACCESS-%d","token_type":"Bearer","expires_in":3600}`, canaryMark, time.Now().UnixNano())
	}))
	var unauthorized sync.Once
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addSecret(r.Header.Get("Signature"))
		if r.URL.Query().Get("api_key") != apiKey || r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "ok")
		case "/401":
			sent := false
			unauthorized.Do(func() { sent = true })
			if sent {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, "bad "+r.Header.Get("Authorization")+" "+r.URL.RawQuery)
				return
			}
			io.WriteString(w, "ok")
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "broken "+r.URL.RawQuery)
		case "/redirect-denied":
			http.Redirect(w, r, "https://user:"+password+"@denied.example.test/x?api_key="+apiKey+"#access_token="+canaryMark+"-FRAGMENT", http.StatusFound)
		case "/big":
			io.WriteString(w, strings.Repeat(r.URL.RawQuery, 200))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			http.NotFound(w, r)
		}
	}))
	_, leaf := testPKI()
	api.EnableHTTP2 = true
	api.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: testpki.Pool(ca)}
	api.Config.ErrorLog = quietLog()
	api.StartTLS()
	t.Cleanup(api.Close)

	// A server whose certificate the client does not trust, a port nobody
	// listens on, and a name that does not resolve.
	untrusted := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	untrusted.Config.ErrorLog = quietLog()
	t.Cleanup(untrusted.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "https://" + ln.Addr().String()
	ln.Close()
	const nxdomain = "https://canary-nx.invalid"

	key, err := signer.NewHMACKey("canary-key", canaryHMACKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := transport.NewClientCertificateFromPEM(clientLeaf.CertPEM, clientLeaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{mu: &logMu, b: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prev)
	prevOut, prevFlags := log.Writer(), log.Flags()
	log.SetOutput(lockedWriter{mu: &logMu, b: &logs}) // net/http's own log lines
	defer log.SetOutput(prevOut)
	defer log.SetFlags(prevFlags)
	inv, err := transport.NewInventory(transport.InventoryConfig{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()

	res := transport.StandardPreset()
	res.TotalTimeout = 3 * time.Second
	res.AttemptTimeout = time.Second
	res.Retry.MaxAttempts = 3
	res.Retry.BaseDelay = time.Millisecond
	res.Retry.MaxDelay = 2 * time.Millisecond
	res.Retry.MaxRetryAfter = time.Second
	res.Throttle.MaxWait = time.Millisecond
	res.Breaker.ConsecutiveFailures = 100
	origins := []string{api.URL, untrusted.URL, refused, nxdomain}
	newClient := func(tokenURL string) *client.Client {
		c, err := client.New(opts(loopback(),
			client.WithOrigins(origins...),
			client.WithEgressAllowlist(origins...),
			client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
				TokenURL: tokenURL,
				ClientID: "canary-client",
				Auth:     tokens.PrivateKeyJWT(tokens.PrivateKeyJWTConfig{Signer: jwtKey, KeyID: "k1"}),
			}),
			client.WithAPIKeyInQuery("api_key", tokens.Static(tokens.NewToken(apiKey, "", time.Time{}))),
			client.WithHMACSigning(signer.StaticKey(key)),
			client.WithClientCertificate(cert),
			client.WithResilience(res),
			client.WithInventory(inv),
			client.WithTracerProvider(tp),
			client.WithMeterProvider(mp),
			client.WithPropagator(propagation.TraceContext{}),
			client.WithAuditLog(logger),
			client.WithVisibleQueryKeys("page"),
			client.WithVisibleHeaders("X-Request-Id", "Location"),
			client.WithMaxResponseBytes(1024),
		)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := newClient(tokenSrv.URL + "/token")
	logsSeen := 0
	sink := &canarySink{t: t, spans: spans, rd: reader, logs: func() string {
		logMu.Lock()
		defer logMu.Unlock()
		s := logs.String()[logsSeen:]
		logsSeen = logs.Len()
		return s
	}, inv: func() *transport.Inventory { return inv }}

	q := "?page=1&token=" + queryVal
	calls := []struct {
		name   string
		url    string
		ctx    time.Duration
		status int // the call's status; -1: any outcome
	}{
		{"success", api.URL + "/ok" + q, 0, http.StatusOK},
		{"401 then replay", api.URL + "/401" + q, 0, http.StatusOK},
		{"500 retried", api.URL + "/500" + q, 0, http.StatusInternalServerError},
		{"redirect to a host not allowed", api.URL + "/redirect-denied" + q, 0, -1},
		{"body too large", api.URL + "/big" + q, 0, -1},
		{"timeout", api.URL + "/slow" + q, 300 * time.Millisecond, -1},
		{"TLS unknown CA", untrusted.URL + "/x" + q, 0, -1},
		{"connection refused", refused + "/x" + q, 0, -1},
		{"DNS failure", nxdomain + "/x" + q, 2 * time.Second, -1},
		{"egress denied", "https://user:" + password + "@evil.example.test/x" + q, 0, -1},
	}
	ways := []struct {
		name string
		do   func(*http.Request) (*http.Response, error)
	}{
		{"Do", c.Do},
		{"HTTPClient", c.HTTPClient().Do},
		{"Transport", c.Transport().RoundTrip},
	}
	nspans := 0
	for _, w := range ways {
		for _, call := range calls {
			ctx := context.Background()
			if call.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, call.ctx)
				defer cancel()
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, call.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Request-Id", "req-1")
			var out strings.Builder
			resp, err := w.do(req)
			if call.status > 0 && (err != nil || resp.StatusCode != call.status) {
				t.Errorf("%s: %s: %v, %v; want status %d", w.name, call.name, resp, err, call.status)
			}
			if err != nil {
				out.WriteString(errDump(err))
				fmt.Fprintf(&out, "%#v\n", err)
				if w.name == "HTTPClient" {
					// http.Client's *url.Error holds the caller's URL as
					// documented: only the part below it is searched.
					if ue, ok := err.(*url.Error); ok {
						out.Reset()
						out.WriteString(errDump(ue.Err))
						fmt.Fprintf(&out, "%#v\n", ue.Err)
					}
				}
			} else {
				b, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				if rerr != nil {
					out.WriteString(errDump(rerr))
					fmt.Fprintf(&out, "%#v\n", rerr)
				}
				_ = b // the server's echo is the caller's to read
				// resp.Request shows the caller's own URL (its query
				// included) and none of the stack's credentials.
				fmt.Fprintf(&out, "%v %v\n", resp.Request.URL.Query()["api_key"], resp.Request.Header)
			}
			all := out.String() + sink.dump()
			nspans += len(spans.GetSpans())
			spans.Reset()
			if l := search(all); len(l) > 0 {
				t.Errorf("%s: %s: secret leaked (%d places), first:\n%s", w.name, call.name, len(l), l[0])
			}
			if testing.Verbose() {
				t.Logf("%s %s: %s", w.name, call.name, out.String())
			}
		}
	}
	// A token endpoint that refuses the assertion, quoting it, and one
	// that cannot be reached.
	tokenEcho.Lock()
	tokenEchoes = true
	tokenEcho.Unlock()
	for _, tc := range []struct{ name, tokenURL string }{
		{"token endpoint quotes the assertion", tokenSrv.URL + "/token"},
		{"token endpoint refused", refused + "/token"},
		{"token endpoint with a key in its query refused", refused + "/v1/token?key=" + canaryMark + "-TOKENURLKEY"},
	} {
		req, err := http.NewRequest(http.MethodGet, api.URL+"/ok"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = newClient(tc.tokenURL).Do(req)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		all := errDump(err) + fmt.Sprintf("%#v\n", err) + sink.dump()
		spans.Reset()
		if l := search(all); len(l) > 0 {
			t.Errorf("%s: secret leaked (%d places), first:\n%s", tc.name, len(l), l[0])
		}
		if testing.Verbose() {
			t.Logf("%s: %s", tc.name, errDump(err))
		}
	}
	// The search finds each secret where it is.
	secMu.Lock()
	all := append([]string{apiKey}, secrets...)
	secMu.Unlock()
	for _, s := range all {
		if len(search("x "+s+" x")) == 0 {
			t.Errorf("the search misses %q", s)
		}
	}
	if len(secrets) < 8 {
		t.Errorf("%d secrets captured, want the assertions and signatures too", len(secrets))
	}
	if nspans < len(calls)*len(ways) {
		t.Errorf("%d spans for %d calls", nspans, len(calls)*len(ways))
	}
}
