package transport_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestAuditHTTP2RefusalReturnedConverted: a hand-built stack with the
// audit layer and no retry or attempt-trace layer below it logged Go's
// HTTP/2 refusal of a connection-specific header as ErrInvalidRequest,
// naming the field, but returned Go's own error, which quotes the
// header's value (possibly a credential), to its caller, whose logs then
// held it. The caller gets the converted error, as from every other layer
// that sees the refusal, whether the logger is enabled or not.
func TestAuditHTTP2RefusalReturnedConverted(t *testing.T) {
	for name, h := range map[string]slog.Handler{
		"enabled":  slog.NewJSONHandler(io.Discard, nil),
		"disabled": slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError}),
	} {
		t.Run(name, func(t *testing.T) {
			base, url := h2Base(t)
			rt := auditLayer(t, base, transport.AuditConfig{Logger: slog.New(h)})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/x", nil)
			req.Header.Set("Upgrade", "s3cret-value")
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("HTTP/2 accepted an Upgrade header (proto %s)", resp.Proto)
			}
			if !errors.Is(err, transport.ErrInvalidRequest) {
				t.Errorf("err %v, want ErrInvalidRequest", err)
			}
			if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "Upgrade") {
				t.Errorf("error %q: want the field named, not its value", err)
			}
		})
	}
}
