package client_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A call that had to fetch an OAuth2 token (WithOAuth2ClientCredentials)
// showed no span for the token request: the fetch's latency was
// unexplained time in the call's trace, and the token endpoint's latency
// and errors were invisible. Each token request now has a client span
// (POST, server.address/port, url.full without any query value, the
// status, error.type), a child of the call span that needed the token;
// no secret of the request (client secret, the tenant query) or of the
// answer (access, refresh, ID tokens) is in any span's attributes or
// events. A cached token makes no token span.
func TestTokenRequestsTraced(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusUnauthorized} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var mu sync.Mutex
			var secrets []string
			var traceparents []string
			tokenSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				mu.Lock()
				if _, pw, ok := r.BasicAuth(); ok {
					secrets = append(secrets, pw, r.Header.Get("Authorization"))
				}
				traceparents = append(traceparents, r.Header.Get("Traceparent"))
				mu.Unlock()
				if status != http.StatusOK {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					io.WriteString(w, `{"error":"invalid_client","error_description":"CANARY-desc"}`)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token":"CANARY-access","token_type":"Bearer","expires_in":3600,`+
					`"refresh_token":"CANARY-refresh","id_token":"CANARY-idtoken"}`)
			}))
			apiSrv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}))
			origin, tokenOrigin := localhostURL(apiSrv.URL), localhostURL(tokenSrv.URL)
			spans := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
			c, err := client.New(opts(loopback(),
				client.WithOrigins(origin),
				client.WithTracerProvider(tp),
				client.WithPropagator(propagation.TraceContext{}),
				client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
					TokenURL: tokenOrigin + "/oauth/token?tenant=CANARY-tenant",
					ClientID: "trace19",
					Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("CANARY-secret"))),
				}),
			)...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			calls := 2
			if status != http.StatusOK {
				calls = 1
			}
			for range calls { // the second call uses the cached token
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, origin+"/v1/things", nil)
				resp, err := c.Do(req)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if (err == nil) != (status == http.StatusOK) {
					t.Fatalf("call: err %v", err)
				}
			}
			c.Close()
			mu.Lock()
			sent := append(slices.Clone(secrets), "CANARY-secret", "CANARY-access", "CANARY-refresh", "CANARY-idtoken", "CANARY-tenant", "CANARY-desc")
			gotTP := slices.Clone(traceparents)
			mu.Unlock()

			stubs := spans.GetSpans()
			u, _ := url.Parse(tokenOrigin)
			var tokenSpans []tracetest.SpanStub
			var callSpans []tracetest.SpanStub
			for _, s := range stubs {
				if attrOf19(s.Attributes, "server.port") == u.Port() {
					tokenSpans = append(tokenSpans, s)
				} else if !s.Parent.SpanID().IsValid() {
					callSpans = append(callSpans, s)
				}
			}
			if len(tokenSpans) != 1 {
				t.Fatalf("%d token request spans, want 1 (the second call used the cached token); spans: %v", len(tokenSpans), spanNames19(stubs))
			}
			ts := tokenSpans[0]
			if ts.SpanKind != trace.SpanKindClient || ts.Name != "POST" {
				t.Errorf("token span %q kind %v, want POST client", ts.Name, ts.SpanKind)
			}
			want := map[string]string{
				"http.request.method": "POST",
				"server.address":      "localhost",
				"url.full":            tokenOrigin + "/oauth/token?tenant=REDACTED",
			}
			for k, v := range want {
				if got := attrOf19(ts.Attributes, k); got != v {
					t.Errorf("token span %s = %q, want %q", k, got, v)
				}
			}
			if got := attrOf19(ts.Attributes, "http.response.status_code"); got != strconv.Itoa(status) {
				t.Errorf("token span status code %q, want %d", got, status)
			}
			if status != http.StatusOK && attrOf19(ts.Attributes, "error.type") != strconv.Itoa(status) {
				t.Errorf("token span error.type %q, want %d", attrOf19(ts.Attributes, "error.type"), status)
			}
			if len(callSpans) == 0 || ts.Parent.SpanID() != callSpans[0].SpanContext.SpanID() || ts.SpanContext.TraceID() != callSpans[0].SpanContext.TraceID() {
				t.Errorf("token span's parent %v, want the first call's span", ts.Parent.SpanID())
			}
			// The token endpoint got the token span's context.
			if len(gotTP) != 1 || !strings.Contains(gotTP[0], ts.SpanContext.SpanID().String()) {
				t.Errorf("token endpoint traceparent %q, want the token span's %s", gotTP, ts.SpanContext.SpanID())
			}
			for _, s := range stubs {
				var all []attribute.KeyValue
				all = append(all, s.Attributes...)
				for _, e := range s.Events {
					all = append(all, e.Attributes...)
					all = append(all, attribute.String("event.name", e.Name))
				}
				all = append(all, attribute.String("status", s.Status.Description))
				for _, kv := range all {
					for _, sec := range sent {
						if sec != "" && strings.Contains(kv.Value.String(), sec) {
							t.Errorf("span %q attribute %s holds a secret: %q", s.Name, kv.Key, kv.Value.String())
						}
					}
				}
			}
		})
	}
}

func attrOf19(attrs []attribute.KeyValue, k string) string {
	for _, kv := range attrs {
		if string(kv.Key) == k {
			return kv.Value.String()
		}
	}
	return ""
}

func spanNames19(ss []tracetest.SpanStub) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name+" "+attrOf19(s.Attributes, "url.full"))
	}
	return n
}
