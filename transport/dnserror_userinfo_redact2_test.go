package transport_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/securecall/securecall/transport"
)

// A stack built by hand without the egress guard, over a caller's own
// base transport (Base refuses such a host before dialing), given a URL whose Host
// holds userinfo ("user:pass@host", which url.Parse would have put in
// User), has net/http dial the userinfo with the host: the lookup fails
// with a *net.OpError over a *net.DNSError whose Name holds the password
// (or, for a bracketed host, a *net.AddrError whose Addr does). That is
// no *url.Error, yet its message reaches the returned error, both spans'
// statuses, the retry's span events and the audit record: the credential
// must be in none of them, and the net error must still classify.
func TestDialErrorKeepsUserinfoInHostOut(t *testing.T) {
	for _, host := range []string{
		"user:s3cr3t@api.example.test",
		"s3cr3t@api.example.test:8443",
		"user:s3cr3t@api.example.test:8443",
		"user:s3cr3t@[2001:db8::1]:8443",
	} {
		t.Run(host, func(t *testing.T) {
			// The pure-Go resolver refuses a name with ':' or '@' before
			// sending a query: no network is needed.
			d := &net.Dialer{Resolver: &net.Resolver{PreferGo: true,
				Dial: func(context.Context, string, string) (net.Conn, error) {
					return nil, errors.New("no dns in this test")
				}}}
			// A caller's own base transport: Base itself refuses such a
			// host before dialing (TestBaseRefusesUserinfoInHost).
			base := &http.Transport{DialContext: d.DialContext}
			defer base.CloseIdleConnections()
			rig := newOtelRig(t, nil).twoLevel()
			var log auditLog
			rt := auditLayer(t, transport.NewAttemptTrace(base, rig.cfg),
				transport.AuditConfig{Logger: slog.New(slog.NewJSONHandler(&log, nil))})
			rt = newRetry(t, rt, transport.RetryConfig{MaxAttempts: 2, Backoff: resFixedBackoff(time.Millisecond)})
			rt = transport.NewCallTrace(rt, rig.cfg)

			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/v1", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL = &url.URL{Scheme: "https", Host: host, Path: "/v1"}
			resp, err := rt.RoundTrip(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("RoundTrip succeeded")
			}
			var oe *net.OpError
			if !errors.As(err, &oe) {
				t.Errorf("errors.As(*net.OpError) fails on %v", err)
			}
			var dnsErr *net.DNSError
			if errors.As(err, &dnsErr) && !dnsErr.IsNotFound {
				t.Errorf("DNSError %v lost IsNotFound", dnsErr)
			}

			seen := []string{err.Error(), fmt.Sprintf("%+v", err), log.String()}
			spans := rig.ended()
			if len(spans) < 2 {
				t.Fatalf("%d spans ended, want a call span and attempt spans", len(spans))
			}
			for _, s := range spans {
				seen = append(seen, s.Name, fmt.Sprint(s.Status, s.Attributes))
				for _, e := range s.Events {
					seen = append(seen, fmt.Sprint(e.Name, e.Attributes))
				}
			}
			var rm metricdata.ResourceMetrics
			if err := rig.reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			seen = append(seen, fmt.Sprintf("%+v", rm))
			for _, s := range seen {
				if strings.Contains(s, "s3cr3t") {
					t.Errorf("credential in %s", s)
				}
			}
		})
	}
}
