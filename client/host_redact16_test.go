package client_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/securecall/securecall/client"
)

// A hand-built URL.Host with userinfo, a non-ASCII name (the IDNA lookup
// form path) or a port that is not a number (refused by the base before
// dialing) puts no secret of the call (its password, a query value) in
// the error, the spans or the audit record.
func TestHandBuiltHostQuotesNoSecret(t *testing.T) {
	const secret = "s3cr3t-host-pw-e91f"
	for _, host := range []string{
		"alice:" + secret + "@bücher.example.test",
		"alice:" + secret + "@BÜCHER.example.test",
		"alice:" + secret + "@bücher.example.test:44x",
		"alice:" + secret + "@api.example.test:44x",
		"BÜCHER.example.test:44x",
		"api.example.test:44x",
		"bücher。example.test",
	} {
		t.Run(host, func(t *testing.T) {
			rec := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
			var audit syncBuffer
			c, err := client.New(
				client.WithOrigins("https://bücher.example.test", "https://api.example.test"),
				client.WithEgressAllowlist("bücher.example.test", "api.example.test"),
				client.WithMaxAttempts(1), client.WithoutBreaker(), client.WithTimeout(2*time.Second),
				client.WithTracerProvider(tp),
				client.WithAuditLog(slog.New(slog.NewJSONHandler(&audit, nil))),
			)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://api.example.test/x?q="+secret, nil)
			req.URL.Host = host
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("sent")
			}
			seen := []string{err.Error(), audit.String()}
			for _, s := range rec.Ended() {
				seen = append(seen, s.Status().Description)
				for _, a := range s.Attributes() {
					seen = append(seen, string(a.Key)+"="+a.Value.String())
				}
				for _, e := range s.Events() {
					for _, a := range e.Attributes {
						seen = append(seen, string(a.Key)+"="+a.Value.String())
					}
				}
			}
			for _, s := range seen {
				if strings.Contains(s, secret) {
					t.Errorf("secret in %q", s)
				}
			}
		})
	}
}
