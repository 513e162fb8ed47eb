package client_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"golang.org/x/oauth2"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// canaryMark is in every secret of TestSecretsRedactedEverywhere; it must
// appear in no span, metric, log record, error or inventory.
const canaryMark = "CANARY14"

// canaryHMACKey is the HMAC key's bytes: canaryMark in text, so its
// base64 and hex forms are searched too.
var canaryHMACKey = []byte(canaryMark + "-HMACKEY-0123456789abcdef0123456789")

// canarySink collects everything the client may write a secret to.
type canarySink struct {
	t     *testing.T
	spans *tracetest.InMemoryExporter
	rd    *sdkmetric.ManualReader
	logs  func() string
	inv   func() *transport.Inventory
}

// writeAttrs writes every attribute of set as key=value.
func writeAttrs(b *strings.Builder, kvs []attribute.KeyValue) {
	for _, kv := range kvs {
		fmt.Fprintf(b, " %s=%s", kv.Key, kv.Value.String())
	}
}

func (s *canarySink) dump() string {
	var b strings.Builder
	for _, sp := range s.spans.GetSpans() {
		fmt.Fprintf(&b, "span %s:", sp.Name)
		writeAttrs(&b, sp.Attributes)
		for _, ev := range sp.Events {
			fmt.Fprintf(&b, "\n  event %s:", ev.Name)
			writeAttrs(&b, ev.Attributes)
		}
		for _, l := range sp.Links {
			b.WriteString("\n  link:")
			writeAttrs(&b, l.Attributes)
		}
		fmt.Fprintf(&b, "\n  status %v %s\n  %+v\n", sp.Status.Code, sp.Status.Description, sp)
	}
	var rm metricdata.ResourceMetrics
	if err := s.rd.Collect(context.Background(), &rm); err != nil {
		s.t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Fprintf(&b, "metric %s:", m.Name)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					writeAttrs(&b, dp.Attributes.ToSlice())
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					writeAttrs(&b, dp.Attributes.ToSlice())
				}
			case metricdata.Gauge[int64]:
				for _, dp := range d.DataPoints {
					writeAttrs(&b, dp.Attributes.ToSlice())
				}
			case metricdata.Gauge[float64]:
				for _, dp := range d.DataPoints {
					writeAttrs(&b, dp.Attributes.ToSlice())
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					writeAttrs(&b, dp.Attributes.ToSlice())
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					writeAttrs(&b, dp.Attributes.ToSlice())
				}
			default:
				fmt.Fprintf(&b, " %+v", d)
			}
			b.WriteByte('\n')
		}
	}
	fmt.Fprintf(&b, "%+v\n", rm)
	b.WriteString(s.logs())
	inv := s.inv()
	fmt.Fprintf(&b, "%+v\n", inv.Snapshot())
	j, err := json.Marshal(inv)
	if err != nil {
		s.t.Fatal(err)
	}
	b.Write(j)
	rec := httptest.NewRecorder()
	inv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/inventory", nil))
	b.Write(rec.Body.Bytes())
	return b.String()
}

// errDump writes err's message, its %+v form, and the message of every
// error in its tree (errors.As reaches each of them).
func errDump(err error) string {
	var b strings.Builder
	var walk func(e error, depth int)
	walk = func(e error, depth int) {
		if e == nil || depth > 50 {
			return
		}
		if _, ok := e.(*oauth2.RetrieveError); ok {
			// Documented (tokens.TokenError): the token endpoint's own
			// answer, body included, stays reachable with errors.As
			// below a message that never shows it.
			return
		}
		fmt.Fprintf(&b, "%T: %s | %+v | %v\n", e, e.Error(), e, e)
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x, depth+1)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap(), depth+1)
		}
	}
	walk(err, 0)
	return b.String()
}

var b64ish = regexp.MustCompile(`[A-Za-z0-9+/_-]{8,}={0,2}`)

// leaks reports where the canary shows in s: as written, in any case,
// URL-escaped, in hex, or inside base64 (any alignment, std or URL
// alphabet, padded or not).
func leaks(s string) []string {
	var found []string
	low := strings.ToLower(s)
	for _, form := range []string{canaryMark, url.QueryEscape(canaryMark), hex.EncodeToString([]byte(canaryMark)), hex.EncodeToString(canaryHMACKey[:16])} {
		if i := strings.Index(low, strings.ToLower(form)); i >= 0 {
			found = append(found, excerpt(s, i))
		}
	}
	for _, m := range b64ish.FindAllStringIndex(s, -1) {
		tok := strings.TrimRight(s[m[0]:m[1]], "=")
		for shift := 0; shift < 4 && shift < len(tok); shift++ {
			for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				part := tok[shift:]
				part = part[:len(part)-len(part)%4]
				if dec, err := enc.DecodeString(part); err == nil && bytes.Contains(bytes.ToUpper(dec), []byte(canaryMark)) {
					found = append(found, "base64: "+excerpt(s, m[0]))
				}
			}
		}
	}
	return found
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-300), min(len(s), i+200)
	return s[lo:hi]
}

// TestSecretsRedactedEverywhere builds a client with every feature on and
// canary secrets in every place a secret goes (client secret, access and
// refresh tokens, HMAC key, API key, cookies, userinfo, secret query
// parameters, a header marked sensitive, a server's error body and a
// redirect's Location), drives success and failure paths, and searches
// every span, metric point, log record, returned error (its tree
// included) and the inventory for the canaries.
func TestSecretsRedactedEverywhere(t *testing.T) {
	const (
		clientSecret = canaryMark + "-CLIENTSECRET"
		refreshTok   = canaryMark + "-REFRESHTOKEN"
		apiKey       = canaryMark + "-APIKEY"
		cookie       = canaryMark + "-COOKIE"
		setCookie    = canaryMark + "-SETCOOKIE"
		password     = canaryMark + "-PASSWORD"
		queryVal     = canaryMark + "-QUERY"
		sensitive    = canaryMark + "-SENSITIVEHDR"
		echoed       = canaryMark + "-ECHOED"
	)
	var tokenMode atomic.Value // "ok", "400", "500", "slow"
	tokenMode.Store("ok")
	var issued atomic.Int64
	tokenSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		switch tokenMode.Load().(string) {
		case "400":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"client secret %s is wrong","error_uri":"https://as.test/e?token=%s"}`, clientSecret, queryVal)
			return
		case "500":
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "internal error, your secret was %s and token %s-ACCESS-X", clientSecret, canaryMark)
			return
		}
		n := issued.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"%s-ACCESS-%d","token_type":"Bearer","expires_in":3600,"refresh_token":"%s"}`, canaryMark, n, refreshTok)
	}))

	var foreignGot sync.Map // headers a foreign redirect hop received
	foreign := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The query is the redirecting server's choice; the headers are
		// the client's.
		foreignGot.Store(r.URL.Path, fmt.Sprint(r.Header))
		io.WriteString(w, "foreign")
	}))

	var unauthorizedOnce atomic.Bool
	var flaky atomic.Int64
	api := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: setCookie})
		w.Header().Set("X-Echo", echoed)
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "ok")
		case "/401":
			if unauthorizedOnce.CompareAndSwap(false, true) {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="token `+echoed+` expired"`)
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, "bad token "+r.Header.Get("Authorization"))
				return
			}
			io.WriteString(w, "ok")
		case "/flaky":
			if flaky.Add(1)%3 != 0 {
				w.WriteHeader(http.StatusServiceUnavailable)
				io.WriteString(w, "unavailable "+echoed)
				return
			}
			io.WriteString(w, "ok")
		case "/error":
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"bad key `+echoed+`"}`)
		case "/redirect":
			loc := strings.Replace(foreign.URL, "https://", "https://user:"+password+"@", 1) + "/landing?token=" + queryVal + "&sig=" + queryVal + "&page=2"
			http.Redirect(w, r, loc, http.StatusFound)
		case "/redirect-foreign":
			http.Redirect(w, r, foreign.URL+"/landing?token="+queryVal+"&X-Amz-Signature="+queryVal+"&page=3", http.StatusFound)
		case "/redirect-denied":
			http.Redirect(w, r, "https://user:"+password+"@denied.example.test/x?access_token="+queryVal, http.StatusFound)
		case "/redirect-bad":
			w.Header().Set("Location", "https://user:"+password+"@bad host/x%zz?token="+queryVal)
			w.WriteHeader(http.StatusFound)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/big":
			io.WriteString(w, strings.Repeat(echoed+" ", 1000))
		default:
			http.NotFound(w, r)
		}
	}))
	broken := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "broken "+echoed)
	}))
	throttled := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))

	// Servers that break HTTP: one echoes the request back (a misrouted
	// port), one sends a Set-Cookie line without its colon. net/http
	// quotes what they sent in its errors.
	echo := rawTLSServer(t, "")
	badLine := rawTLSServer(t, "HTTP/1.1 200 OK\r\nSet-Cookie session="+setCookie+"\r\nContent-Length: 0\r\n\r\n")

	key, err := signer.NewHMACKey("canary-key", canaryHMACKey)
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
	logger := slog.New(slog.NewJSONHandler(lockedWriter{mu: &logMu, b: &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	defer slog.SetDefault(prev)
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
	res.Breaker.ConsecutiveFailures = 3
	res.Throttle.MaxWait = time.Millisecond
	throttledURL, _ := url.Parse(throttled.URL)
	res.Throttle.Hosts = []transport.HostLimit{{Pattern: throttledURL.Host, Rate: 0.001, Burst: 1}}

	newClient := func() *client.Client {
		c, err := client.New(opts(loopback(),
			client.WithOrigins(api.URL, broken.URL, throttled.URL, echo, badLine),
			client.WithRedirectOrigins(foreign.URL),
			client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
				TokenURL: tokenSrv.URL + "/token",
				ClientID: "canary-client",
				Auth:     tokens.ClientSecretPost(tokens.StaticSecret([]byte(clientSecret))),
			}),
			client.WithAPIKey("X-Api-Key", tokens.Static(tokens.NewToken(apiKey, "", time.Time{}))),
			client.WithHMACSigning(signer.StaticKey(key)),
			client.WithResilience(res),
			client.WithEgressAllowlist(api.URL, broken.URL, throttled.URL, foreign.URL, echo, badLine),
			client.WithInventory(inv),
			client.WithTracerProvider(tp),
			client.WithMeterProvider(mp),
			client.WithPropagator(propagation.TraceContext{}),
			client.WithAuditLog(logger),
			client.WithSensitiveHeaders("X-Session-Secret"),
			client.WithVisibleQueryKeys("page"),
			client.WithVisibleHeaders("Location", "X-Request-Id"),
			client.WithMaxResponseBytes(1024),
		)...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := newClient()
	logsSeen := 0
	sink := &canarySink{t: t, spans: spans, rd: reader, logs: func() string {
		logMu.Lock()
		defer logMu.Unlock()
		s := logs.String()[logsSeen:] // each record is searched once
		logsSeen = logs.Len()
		return s
	}, inv: func() *transport.Inventory { return inv }}

	secretQuery := "?page=1"
	for _, k := range []string{"token", "access_token", "api_key", "sig", "signature", "password", "X-Amz-Signature", "X-Amz-Credential", "client_secret", "refresh_token", "code", "Token", "apiKey"} {
		secretQuery += "&" + k + "=" + queryVal
	}
	withUser := func(base string) string {
		return strings.Replace(base, "https://", "https://user:"+password+"@", 1)
	}
	newReq := func(ctx context.Context, method, u string) *http.Request {
		req, err := http.NewRequestWithContext(ctx, method, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", "sid="+cookie)
		req.Header.Set("X-Session-Secret", sensitive)
		req.Header.Set("X-Request-Id", "req-1")
		return req
	}

	type step struct {
		name    string
		mode    string // token server mode
		req     func() *http.Request
		wantErr error // nil: any outcome
		fresh   bool  // a new client (no cached token, no refresh backoff)
	}
	ctxShort, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	bg := context.Background()
	steps := []step{
		{name: "success", req: func() *http.Request { return newReq(bg, http.MethodGet, withUser(api.URL)+"/ok"+secretQuery) }},
		{name: "401 then replay", req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/401"+secretQuery) }},
		{name: "5xx retried", req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/flaky"+secretQuery) }},
		{name: "4xx echo", req: func() *http.Request { return newReq(bg, http.MethodPost, api.URL+"/error"+secretQuery) }},
		{name: "breaker 1", req: func() *http.Request { return newReq(bg, http.MethodGet, broken.URL+"/b"+secretQuery) }},
		{name: "breaker 2", req: func() *http.Request { return newReq(bg, http.MethodGet, broken.URL+"/b"+secretQuery) }},
		{name: "breaker open", req: func() *http.Request { return newReq(bg, http.MethodGet, withUser(broken.URL)+"/b"+secretQuery) }, wantErr: client.ErrCircuitOpen},
		{name: "throttle 1", req: func() *http.Request { return newReq(bg, http.MethodGet, throttled.URL+"/t"+secretQuery) }},
		{name: "throttle refusal", req: func() *http.Request { return newReq(bg, http.MethodGet, withUser(throttled.URL)+"/t"+secretQuery) }, wantErr: client.ErrRateLimited},
		{name: "egress refusal", req: func() *http.Request {
			return newReq(bg, http.MethodGet, "https://user:"+password+"@evil.example.test/x"+secretQuery)
		}, wantErr: client.ErrEgressDenied},
		{name: "redirect to foreign origin", req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/redirect"+secretQuery) }},
		{name: "redirect to foreign origin, no userinfo", req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/redirect-foreign"+secretQuery) }},
		{name: "redirect denied", req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/redirect-denied"+secretQuery) }, wantErr: client.ErrRedirectDenied},
		{name: "redirect unparsable", req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/redirect-bad"+secretQuery) }},
		{name: "timeout", req: func() *http.Request { return newReq(ctxShort, http.MethodGet, withUser(api.URL)+"/slow"+secretQuery) }},
		{name: "body too large", req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/big"+secretQuery) }},
		{name: "malformed query escape", req: func() *http.Request {
			r := newReq(bg, http.MethodGet, api.URL+"/ok")
			r.URL.RawQuery = "token=" + queryVal + "%zz&sig=" + queryVal
			return r
		}},
		{name: "malformed host with userinfo", req: func() *http.Request {
			r := newReq(bg, http.MethodGet, api.URL+"/ok")
			r.URL.Host = "user:" + password + "@" + r.URL.Host
			r.URL.RawQuery = "api_key=" + queryVal
			return r
		}},
		{name: "control char in path", req: func() *http.Request {
			r := newReq(bg, http.MethodGet, api.URL+"/ok")
			r.URL.Path = "/o k\x7f"
			r.URL.RawQuery = "password=" + queryVal + "&x=%zz"
			r.URL.User = url.UserPassword("user", password)
			return r
		}},
		{name: "server echoes the request", req: func() *http.Request { return newReq(bg, http.MethodGet, echo+"/e"+secretQuery) }},
		{name: "malformed Set-Cookie line", req: func() *http.Request { return newReq(bg, http.MethodGet, badLine+"/m"+secretQuery) }},
		{name: "token endpoint 400 invalid_client", mode: "400", fresh: true, req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/401"+secretQuery) }},
		{name: "token endpoint 500", mode: "500", fresh: true, req: func() *http.Request { return newReq(bg, http.MethodGet, api.URL+"/401"+secretQuery) }},
	}
	nspans := 0
	for _, s := range steps {
		if s.mode != "" {
			tokenMode.Store(s.mode)
		} else {
			tokenMode.Store("ok")
		}
		var out strings.Builder
		cl := c
		if s.fresh {
			cl = newClient()
		}
		resp, err := cl.Do(s.req())
		if err != nil {
			out.WriteString(errDump(err))
		} else {
			_, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr != nil {
				out.WriteString(errDump(rerr))
			}
		}
		if s.wantErr != nil && !errors.Is(err, s.wantErr) {
			t.Errorf("%s: err %v, want %v", s.name, err, s.wantErr)
		}
		all := out.String() + sink.dump()
		nspans += len(spans.GetSpans())
		spans.Reset() // each span is searched once
		if l := leaks(all); len(l) > 0 {
			t.Errorf("%s: canary leaked (%d places), first:\n%s", s.name, len(l), l[0])
		}
		if testing.Verbose() {
			t.Logf("%s: %s", s.name, out.String())
		}
	}
	foreignGot.Range(func(k, v any) bool {
		if l := leaks(k.(string) + " " + v.(string)); len(l) > 0 {
			t.Errorf("foreign redirect hop received a credential: %s", l[0])
		}
		return true
	})
	// The searches above looked at something: tokens were issued, the
	// foreign hop was reached, and every sink has records.
	if issued.Load() < 2 {
		t.Errorf("%d tokens issued, want >= 2 (the 401 replays with a new one)", issued.Load())
	}
	if _, ok := foreignGot.Load("/landing"); !ok {
		t.Error("the redirect to the foreign origin never arrived")
	}
	if nspans < len(steps) {
		t.Errorf("%d spans for %d calls", nspans, len(steps))
	}
	logMu.Lock()
	nlogs := bytes.Count(logs.Bytes(), []byte("\n"))
	logMu.Unlock()
	if nlogs < len(steps) {
		t.Errorf("%d log records for %d calls", nlogs, len(steps))
	}
	if len(inv.Snapshot().Entries) == 0 {
		t.Error("empty inventory")
	}
}

// rawTLSServer answers every request on a TLS (HTTP/1.1) listener with
// resp as it is, or, for an empty resp, with the request's own bytes.
func rawTLSServer(t *testing.T, resp string) string {
	t.Helper()
	_, leaf := testPKI()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if resp == "" {
					line, _ := br.ReadString('\n')
					io.WriteString(c, line)
					io.Copy(c, br)
					return
				}
				http.ReadRequest(br)
				io.WriteString(c, resp)
			}()
		}
	}()
	return "https://" + ln.Addr().String()
}
