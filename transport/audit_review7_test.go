package transport_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A request whose URL was built by hand with a credential in Host
// ("user:pass@host"; url.Parse would have put it in User) is audited
// without it: url.full drops userinfo, and server.origin must too.
func TestAuditOriginDropsUserinfoInHost(t *testing.T) {
	var log auditLog
	next := roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("dial failed") })
	rt := auditLayer(t, next, transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/x", nil)
	req.URL = &url.URL{Scheme: "https", Host: "user:s3cret@api.example.test", Path: "/x"}
	_, _ = rt.RoundTrip(req)
	if s := log.String(); strings.Contains(s, "s3cret") {
		t.Errorf("audit record holds the credential: %s", s)
	}
	recs := log.records(t)
	if len(recs) != 1 || recs[0][transport.AuditOrigin] != "https://api.example.test:443" {
		t.Errorf("records %v, want one with origin https://api.example.test:443", recs)
	}
}
