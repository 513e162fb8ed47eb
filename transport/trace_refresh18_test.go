package transport_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/redact"
)

// A visible Refresh header (the HTML "shared declarative refresh": a
// delay, then the URL a browser or crawler goes to, as a redirect's
// Location) is a URL header: its URL is redacted as url.full is, the delay
// and the spelling around the URL kept, in every form a client reads
// ("url=" in any case or none, quoted or not).
func TestTraceVisibleRefreshHeaderRedacted(t *testing.T) {
	policy := &redact.Policy{QueryKeys: []string{"page"}, Headers: []string{"Refresh"}}
	for _, tc := range []struct{ value, want string }{
		{"0; url=https://user:" + canary + "@cdn.example.test/next?token=" + canary + "&page=3", "0; url=https://cdn.example.test/next?token=REDACTED&page=3"},
		{"5;URL='/dl?sig=" + canary + "'", "5;URL='/dl?sig=REDACTED'"},
		{`3, Url = "/dl?sig=` + canary + `&page=1" ignored` + canary, `3, Url = "/dl?sig=REDACTED&page=1"REDACTED`},
		{"1 /dl?sig=" + canary, "1 /dl?sig=REDACTED"},
		{"0.5;https://x.test/?sig=" + canary, "0.5;https://x.test/?sig=REDACTED"},
		{"https://u:" + canary + "@x.test/", "https://x.test/"},
		{"0; url='/dl?sig=" + canary, "0; url='/dl?sig=REDACTED"},
		{"10", "10"},
	} {
		rig := newOtelRig(t, policy)
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			h := http.Header{}
			h.Set("Refresh", tc.value)
			return &http.Response{StatusCode: 200, Header: h, Body: http.NoBody, Request: r}, nil
		})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		resp, err := rig.stack(base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		spans := rig.ended()
		wantAttr(t, spans[0], "http.response.header.refresh", []string{tc.want})
		if d := dumpSpans(spans); strings.Contains(d, canary) {
			t.Errorf("Refresh %q: the canary is in the span:\n%s", tc.value, d)
		}
	}
}
