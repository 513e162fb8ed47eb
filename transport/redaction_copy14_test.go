package transport_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// NewAudit and the trace layers kept the caller's *RedactionPolicy and
// read it on every call: a caller changing its policy after construction
// (a QueryKeys entry rewritten in place, the policy reused for another
// layer) made a query value the layer had been built to hide appear in
// the audit log and in the spans.

func TestAuditRedactionCopiedAtNew(t *testing.T) {
	var log auditLog
	policy := &transport.RedactionPolicy{QueryKeys: []string{"page"}}
	rt := auditLayer(t, transporttest.NewResponder(), transport.AuditConfig{
		Logger:    slog.New(slog.NewJSONHandler(&log, nil)),
		Redaction: policy,
	})
	policy.QueryKeys[0] = "token"
	policy.QueryKeys = append(policy.QueryKeys, "key")

	roundTripOK(t, rt, authReq(t, "GET", "https://api.example.test/v1?page=2&token="+canary+"&key="+canary, ""))
	if strings.Contains(log.String(), canary) {
		t.Fatalf("audit log shows a query secret: %s", log.String())
	}
	if got, want := log.records(t)[0]["url.full"], "https://api.example.test/v1?page=2&token=REDACTED&key=REDACTED"; got != want {
		t.Fatalf("url.full = %v, want %v", got, want)
	}
}

func TestTraceRedactionCopiedAtNew(t *testing.T) {
	policy := &transport.RedactionPolicy{QueryKeys: []string{"page"}}
	r := newOtelRig(t, policy)
	rt := r.stack(transporttest.NewResponder())
	policy.QueryKeys[0] = "token"
	policy.Headers = append(policy.Headers, "X-Trace-Secret")

	req := authReq(t, "GET", "https://api.example.test/v1?page=2&token="+canary, "")
	req.Header.Set("X-Trace-Secret", canary)
	roundTripOK(t, rt, req)
	spans := r.ended()
	if len(spans) == 0 {
		t.Fatal("no spans")
	}
	for _, s := range spans {
		for _, a := range s.Attributes {
			if v := fmt.Sprint(a.Value.AsInterface()); strings.Contains(v, canary) {
				t.Errorf("span %q: %s = %s shows a secret", s.Name, a.Key, v)
			}
		}
	}
}
