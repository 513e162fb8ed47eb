package client_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport/transporttest"
)

// A URL that does not parse is redacted by hand; it took the text before
// the first "://" for the scheme. A scheme-relative or relative URL whose
// path holds another URL ("/proxy/https://...", "/web/2020/https://...",
// common in proxying and archive APIs) then kept everything before it,
// userinfo included: "//user:pw@host/p/https://x/%zz" was shown as it
// was, in Client.Do's error for such a Location and in a visible Location
// header.
func TestDoRedactsUnparsableLocationWithEmbeddedURL(t *testing.T) {
	const canary = "CANARY15-EMBEDDED"
	for _, loc := range []string{
		"//u:" + canary + "@api.example.test/p/https://x.example/%zz",
		"//u:" + canary + "@api.example.test/p/https://x.example/\x7f",
	} {
		spans := tracetest.NewInMemoryExporter()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
		rt := transporttest.NewResponder(transporttest.Respond(http.StatusFound, "", "Location", loc))
		c, err := client.New(client.WithBaseTransport(rt), client.WithOrigins("https://api.example.test"),
			client.WithTracerProvider(tp), client.WithVisibleHeaders("Location"))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		resp, err := c.Do(req)
		if resp != nil || err == nil {
			t.Fatalf("%q: resp %v err %v, want an error", loc, resp, err)
		}
		if strings.Contains(errDump(err), canary) {
			t.Errorf("%q: the Location's userinfo reaches the error: %s", loc, errDump(err))
		}
		if !strings.Contains(err.Error(), "Location") {
			t.Errorf("%q: the error no longer says what failed: %v", loc, err)
		}
		seen := false
		for _, sp := range spans.GetSpans() {
			for _, kv := range sp.Attributes {
				if kv.Key == "http.response.header.location" {
					seen = true
				}
				if strings.Contains(kv.Value.String(), canary) {
					t.Errorf("%q: span %s attribute %s shows the userinfo: %s", loc, sp.Name, kv.Key, kv.Value.String())
				}
			}
			if strings.Contains(sp.Status.Description, canary) {
				t.Errorf("%q: span %s status shows the userinfo: %s", loc, sp.Name, sp.Status.Description)
			}
		}
		if !seen {
			t.Errorf("%q: no span recorded the visible Location header", loc)
		}
		c.Close()
		tp.Shutdown(context.Background())
	}
}
