package transport_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestAuditRedactionEmptyQueryKeyRefused: an empty AuditConfig.Redaction
// QueryKeys entry (strings.Split of an unset list gives one) names no
// parameter, and made url.full show the value of a parameter without a
// name ("?=s3cret"), which client.New refuses in WithVisibleQueryKeys;
// NewAudit accepted it. It is a *ConfigError naming the entry.
func TestAuditRedactionEmptyQueryKeyRefused(t *testing.T) {
	var log auditLog
	rt, err := transport.NewAudit(transporttest.NewResponder(transporttest.Respond(200, "")), transport.AuditConfig{
		Logger:    slog.New(slog.NewJSONHandler(&log, nil)),
		Redaction: &redact.Policy{QueryKeys: []string{"page", ""}},
	})
	ce, ok := errors.AsType[*transport.ConfigError](err)
	if !ok || ce.Option != "Redaction.QueryKeys[1]" {
		if err == nil {
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x?page=2&=s3cret", nil)
			if resp, err := rt.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
			if strings.Contains(log.String(), "s3cret") {
				t.Errorf("the audit record shows the nameless parameter's value: %s", log.String())
			}
		}
		t.Fatalf("NewAudit with an empty Redaction.QueryKeys entry: err = %v, want a *ConfigError naming Redaction.QueryKeys[1]", err)
	}
}
