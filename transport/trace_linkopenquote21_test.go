package transport_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/redact"
)

// TestTraceLinkOpenQuotedParamRedacted: a visible Link field whose
// parameter value opens a quoted string that never closes is no link list
// from there (a quoted-string ends with a DQUOTE), and a client reads no
// link in what follows; it was shown as written, a link the server meant
// to send after it included ("rel=\"next, <...?token=...>"), where before
// 04cc383 the link's target was redacted as any other. The rest is now
// REDACTED, as for an anchor's open quote or a link target's open bracket.
func TestTraceLinkOpenQuotedParamRedacted(t *testing.T) {
	policy := &redact.Policy{Headers: []string{"Link"}}
	cases := []struct{ in, want string }{
		{`<https://a.example.test/v1>; rel="next, <https://b.example.test/v2?token=` + canary + `>; rel=prev`,
			`<https://a.example.test/v1>; rel=REDACTED`},
		{`<https://a.example.test/v1>; title="page \"2\", see https://b.example.test/?sig=` + canary,
			`<https://a.example.test/v1>; title=REDACTED`},
		// A closed quoted value is text, shown as written.
		{`<https://a.example.test/v1>; title="a <b> \"c\"", <https://a.example.test/v2>`,
			`<https://a.example.test/v1>; title="a <b> \"c\"", <https://a.example.test/v2>`},
	}
	for _, c := range cases {
		rig := newOtelRig(t, policy)
		base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{"Link": {c.in}}, Body: http.NoBody, Request: r}, nil
		})
		req, _ := http.NewRequest(http.MethodGet, "https://a.example.test/v1", nil)
		resp, err := rig.stack(base).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		spans := rig.ended()
		if d := dumpSpans(spans); strings.Contains(d, canary) {
			t.Errorf("%s: a credential of the Link field shown:\n%s", c.in, d)
		}
		wantAttr(t, spans[0], "http.response.header.link", []string{c.want})
	}
}
