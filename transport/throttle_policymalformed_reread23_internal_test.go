package transport

import (
	"net/http"
	"testing"
	"time"
)

// TestThrottleMalformedPolicyParsedOnce: the throttle reads a host's
// RateLimit-Policy on every response while the host's limit is in force
// (seePolicy), under the host's lock, and parses a field only when it
// differs from the last one (policyRaw). Since 75a0a5b a field it cannot
// parse (the older drafts' "100;w=60", which servers still send) is
// ignored without being kept, so it was parsed again on every response of
// a limited host, 7 allocations each where it cost none before; it is now
// remembered as malformed, and still ignored: the policy seen before
// stands, its hold not extended.
func TestThrottleMalformedPolicyParsedOnce(t *testing.T) {
	rt, err := NewThrottle(http.DefaultTransport, ThrottleConfig{MaxWait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	l := rt.(*throttleLayer)
	h := l.newHost("api.example.test")
	now := time.Now()
	valid := http.Header{"Ratelimit-Policy": {`"hourly";q=60;w=3600`}}
	if r := l.notePolicy(h, now, valid); r <= 0 {
		t.Fatalf("valid policy: rate %v", r)
	}
	until := h.policyUntil
	bad := http.Header{"Ratelimit-Policy": {`100;w=60`}}
	later := now.Add(time.Second)
	if r := l.notePolicy(h, later, bad); r != 0 {
		t.Fatalf("malformed policy: rate %v, want 0 (ignored)", r)
	}
	if a := testing.AllocsPerRun(100, func() { l.notePolicy(h, later, bad) }); a != 0 {
		t.Errorf("the same malformed field seen again: %v allocations, want 0 (not parsed again)", a)
	}
	if h.policyUntil != until || h.policyRaw != valid["Ratelimit-Policy"][0] {
		t.Errorf("a malformed field changed the policy seen before (hold until %v, was %v; field %q)", h.policyUntil, until, h.policyRaw)
	}
	// The valid field again is read as before.
	if r := l.notePolicy(h, later, valid); r <= 0 {
		t.Errorf("valid policy again: rate %v", r)
	}
}
