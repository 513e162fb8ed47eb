package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// WithAPIKeyInQuery("api_key") replaces every parameter a common server
// reads as api_key (any case, "api.key", "[api_key]", "api_key[]"), but
// WithVisibleQueryKeys was refused only for the exact spelling: listed as
// "API_KEY" (or "api.key", "Api_Key[]"), the value of that parameter, the
// caller's own copy of the secret in the request URL, was shown in the
// call span's url.full. Every spelling the key layer reads as the key is
// refused in New, naming WithVisibleQueryKeys; another key stays visible,
// and the key's parameter is redacted in the exported span whatever its
// spelling.
func TestVisibleQueryKeysAPIKeySpellingRefused(t *testing.T) {
	const canary = "caller-secret-3c1f"
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	key := tokens.Static(tokens.NewToken("configured-key-7d2e", "", time.Time{}))
	call := func(c *client.Client, spans *tracetest.InMemoryExporter, param string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/v1/items?"+param+"="+canary+"&page=7", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return fmt.Sprintf("%+v", spans.GetSpans())
	}
	for _, visible := range []string{"API_KEY", "Api_Key", "api.key", "api key", "[api_key]", "api_key[]"} {
		t.Run(visible, func(t *testing.T) {
			spans := tracetest.NewInMemoryExporter()
			c, err := client.New(opts(loopback(),
				client.WithOrigins(srv.URL),
				client.WithAPIKeyInQuery("api_key", key),
				client.WithVisibleQueryKeys("page", visible),
				client.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))),
			)...)
			if err == nil {
				defer c.Close()
				dump := call(c, spans, strings.ReplaceAll(visible, " ", "+"))
				t.Fatalf("New accepted WithVisibleQueryKeys(%q) with WithAPIKeyInQuery(\"api_key\"); the span shows the secret: %v", visible, strings.Contains(dump, canary))
			}
			var ce *client.ConfigError
			if !errors.As(err, &ce) || ce.Option != "WithVisibleQueryKeys" {
				t.Fatalf("New: %v, want a *ConfigError naming WithVisibleQueryKeys", err)
			}
		})
	}

	// Another key stays visible; the key's parameter, whatever its
	// spelling, is redacted.
	spans := tracetest.NewInMemoryExporter()
	c, err := client.New(opts(loopback(),
		client.WithOrigins(srv.URL),
		client.WithAPIKeyInQuery("api_key", key),
		client.WithVisibleQueryKeys("page", "api_keys", "apikey"),
		client.WithTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dump := call(c, spans, "API_KEY")
	if strings.Contains(dump, canary) || strings.Contains(dump, "configured-key-7d2e") {
		t.Errorf("a span shows the key:\n%s", dump)
	}
	if !strings.Contains(dump, "page=7") {
		t.Errorf("the visible page=7 is not shown:\n%s", dump)
	}
}
