package transport_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

var raNow = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

func TestParseRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 120 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		// The three HTTP-date formats of RFC 9110 §5.6.7.
		{"Wed, 04 Mar 2026 10:02:00 GMT", 2 * time.Minute, true},      // IMF-fixdate
		{"Wednesday, 04-Mar-26 10:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Wed Mar  4 10:00:05 2026", 5 * time.Second, true},           // asctime
		{"Wed, 04 Mar 2026 09:00:00 GMT", 0, true},                    // in the past
		{"99999999999999999999999", time.Duration(math.MaxInt64), true},
		{"9223372037", time.Duration(math.MaxInt64), true}, // seconds beyond a Duration
		{"", 0, false},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"Wed, 04 Mar 2026 10:02:00", 0, false},
	}
	for _, tc := range tests {
		got, ok := transport.ParseRetryAfter(tc.in, raNow)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestParseRateLimit(t *testing.T) {
	h := http.Header{}
	h.Add("RateLimit", `"default";r=50;t=30`)
	h.Add("RateLimit", `"daily";r=0;t=3600;pk=:cHsdsRa894==:, burst;r=7;acme-x=1`)
	rls, err := transport.ParseRateLimit(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(rls) != 3 {
		t.Fatalf("got %d items, want 3: %+v", len(rls), rls)
	}
	if rl := rls[0]; rl.Policy != "default" || rl.Remaining != 50 || !rl.HasReset || rl.Reset != 30*time.Second || rl.PartitionKey != nil {
		t.Errorf("item 0 = %+v", rl)
	}
	if rl := rls[1]; rl.Policy != "daily" || rl.Remaining != 0 || rl.Reset != time.Hour || len(rl.PartitionKey) == 0 {
		t.Errorf("item 1 = %+v", rl)
	}
	if rl := rls[2]; rl.Policy != "burst" || rl.Remaining != 7 || rl.HasReset {
		t.Errorf("item 2 = %+v (a token policy name, no t, an unknown parameter)", rl)
	}

	for _, bad := range []string{`"p";t=3`, `"p";r=-1`, `"p";r=1.5`, `("a" "b");r=1`, `"p";r=`, `"unterminated`} {
		h := http.Header{"Ratelimit": {bad}}
		if _, err := transport.ParseRateLimit(h); err == nil {
			t.Errorf("ParseRateLimit(%q): no error", bad)
		}
	}
	if rls, err := transport.ParseRateLimit(http.Header{}); rls != nil || err != nil {
		t.Errorf("no field: %v, %v", rls, err)
	}
}

func TestParseRateLimitPolicy(t *testing.T) {
	h := http.Header{"Ratelimit-Policy": {`"burst";q=100;w=60,"daily";q=1000;w=86400`, `"peruser";q=65535;qu="content-bytes";w=10;pk=:sdfjLJUOUH==:`}}
	ps, err := transport.ParseRateLimitPolicy(h)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("got %d policies: %+v", len(ps), ps)
	}
	if p := ps[0]; p.Name != "burst" || p.Quota != 100 || p.Window != time.Minute || p.QuotaUnit != "requests" {
		t.Errorf("policy 0 = %+v", p)
	}
	if p := ps[2]; p.QuotaUnit != "content-bytes" || p.Window != 10*time.Second || len(p.PartitionKey) == 0 {
		t.Errorf("policy 2 = %+v", p)
	}
	if _, err := transport.ParseRateLimitPolicy(http.Header{"Ratelimit-Policy": {`"p";w=1`}}); err == nil {
		t.Error("policy without q: no error")
	}
}

func TestServerWait(t *testing.T) {
	resp := func(hdr ...string) *http.Response {
		h := http.Header{}
		for i := 0; i < len(hdr); i += 2 {
			h.Add(hdr[i], hdr[i+1])
		}
		return &http.Response{StatusCode: 429, Header: h}
	}
	tests := []struct {
		name      string
		resp      *http.Response
		wait      time.Duration
		source    transport.WaitSource
		exhausted bool
		ok        bool
	}{
		{"none", resp(), 0, "", false, false},
		{"retry-after", resp("Retry-After", "7"), 7 * time.Second, transport.SourceRetryAfter, false, true},
		{"ratelimit r=0", resp("RateLimit", `"a";r=0;t=12`), 12 * time.Second, transport.SourceRateLimit, true, true},
		{"ratelimit r=00", resp("RateLimit", `"a";r=00;t=4`), 4 * time.Second, transport.SourceRateLimit, true, true},
		{"largest t of exhausted", resp("RateLimit", `"a";r=0;t=3, "b";r=5;t=100, "c";r=0;t=9`), 9 * time.Second, transport.SourceRateLimit, true, true},
		{"r=0 without t", resp("RateLimit", `"a";r=0`), 0, "", true, false},
		{"remaining left", resp("RateLimit", `"a";r=10;t=30`), 0, "", false, false},
		{"r=05 is not zero", resp("RateLimit", `"a";r=05;t=30`), 0, "", false, false},
		{"retry-after wins", resp("Retry-After", "2", "RateLimit", `"a";r=0;t=30`), 2 * time.Second, transport.SourceRetryAfter, true, true},
		{"malformed ratelimit ignored", resp("RateLimit", `r=0;;`, "Retry-After", "1"), time.Second, transport.SourceRetryAfter, false, true},
		{"malformed retry-after", resp("Retry-After", "later"), 0, "", false, false},
	}
	for _, tc := range tests {
		w, src, ex, ok := transport.ServerWait(tc.resp, raNow)
		if w != tc.wait || src != tc.source || ex != tc.exhausted || ok != tc.ok {
			t.Errorf("%s: ServerWait = %v, %q, %v, %v; want %v, %q, %v, %v", tc.name, w, src, ex, ok, tc.wait, tc.source, tc.exhausted, tc.ok)
		}
	}
	if _, _, _, ok := transport.ServerWait(nil, raNow); ok {
		t.Error("nil response: ok")
	}
}

// The happy path (no throttle signal, or a RateLimit field with quota
// left) must not allocate: the structured-field parser only runs when a
// value may hold r=0.
func TestServerWaitNoAllocs(t *testing.T) {
	r := &http.Response{StatusCode: 200, Header: http.Header{"Ratelimit": {`"default";r=50;t=30`}, "Content-Type": {"application/json"}}}
	if n := testing.AllocsPerRun(100, func() { transport.ServerWait(r, raNow) }); n != 0 {
		t.Errorf("ServerWait allocates %v times per call", n)
	}
}
