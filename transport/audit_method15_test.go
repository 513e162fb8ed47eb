package transport_test

import (
	"log/slog"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A request with an empty Method, which net/http sends as GET, was
// recorded with http.request.method "": the auditor could not tell what
// was sent, while the spans, metrics and inventory say GET.
func TestAuditEmptyMethodIsGET(t *testing.T) {
	var log auditLog
	rt := auditLayer(t, transporttest.NewResponder(), transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	req.Method = ""
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := log.records(t)[0][transport.AuditMethod]; got != http.MethodGet {
		t.Fatalf("http.request.method = %q, want GET", got)
	}
}
