package transport_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/internal/redact"
)

// A visible Link field is split into links and parameters as RFC 8288 reads
// it (§3, Appendix B.2): a "<" or ">" inside a quoted string is text, a
// quoted string ends at an unescaped DQUOTE, and an unquoted parameter value
// runs to the next ";" or ",", whitespace included. Every URL a client
// reading the field takes (a link target or an anchor) has its credential
// query values redacted; none is shown because a quoted title or an anchor
// holds a character the split stopped at.
func TestTraceLinkSplitFollowsRFC8288(t *testing.T) {
	policy := &redact.Policy{QueryKeys: []string{"page"}, Headers: []string{"Link"}}
	cases := []struct{ name, in, want string }{
		{"unquoted anchor runs past whitespace",
			`<https://a.example.test/v1?page=2>; anchor=https://a.example.test/doc?page=1 &token=` + canary + `, <https://a.example.test/v0?page=0>; rel=first`,
			`<https://a.example.test/v1?page=2>; anchor=https://a.example.test/doc?page=1 &token=REDACTED, <https://a.example.test/v0?page=0>; rel=first`},
		{"unquoted anchor holding angle brackets",
			`<https://a.example.test/v1>; anchor=https://a.example.test/doc?q=<b>&access_token=` + canary + `; rel=next`,
			`<https://a.example.test/v1>; anchor=https://a.example.test/doc?q=REDACTED&access_token=REDACTED; rel=next`},
		{"quoted anchor with an escaped quote",
			`<https://a.example.test/v1>; anchor="https://a.example.test/doc?q=\"&token=` + canary + `"; rel=next`,
			`<https://a.example.test/v1>; anchor="https://a.example.test/doc?q=REDACTED&token=REDACTED"; rel=next`},
		{"quoted anchor holding angle brackets",
			`<https://a.example.test/v1>; anchor="https://a.example.test/doc?q=<p>&sig=` + canary + `", <https://a.example.test/v2?page=2>`,
			`<https://a.example.test/v1>; anchor="https://a.example.test/doc?q=REDACTED&sig=REDACTED", <https://a.example.test/v2?page=2>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rig := newOtelRig(t, policy)
			base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				h := http.Header{}
				h["Link"] = []string{c.in}
				return &http.Response{StatusCode: 200, Header: h, Body: http.NoBody, Request: r}, nil
			})
			req, _ := http.NewRequest(http.MethodGet, "https://a.example.test/v1", nil)
			resp, err := rig.stack(base).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			spans := rig.ended()
			if d := dumpSpans(spans); strings.Contains(d, canary) {
				t.Errorf("a credential of the Link field shown:\n%s", d)
			}
			wantAttr(t, spans[0], "http.response.header.link", []string{c.want})
		})
	}
}

// A Link field that stops being a link list (text where a link, a ";" or a
// "," belongs, or a parameter name that is not a token) is shown up to
// there, the rest, which a client does not read as links, replaced with
// REDACTED; empty parameters are kept.
func TestTraceLinkMalformedRestRedacted(t *testing.T) {
	policy := &redact.Policy{Headers: []string{"Link"}}
	cases := []struct{ in, want string }{
		{`<https://a.example.test/v1>; rel=next;; , <https://a.example.test/v2>;`, `<https://a.example.test/v1>; rel=next;; , <https://a.example.test/v2>;`},
		{`<https://a.example.test/v1>; rel="next" junk https://b.example.test/?token=` + canary, `<https://a.example.test/v1>; rel="next" REDACTED`},
		{`<https://a.example.test/v1>; <https://b.example.test/?token=` + canary + `>`, `<https://a.example.test/v1>;REDACTED`},
		{`https://b.example.test/?token=` + canary + `, <https://a.example.test/v1>`, `REDACTED`},
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
		wantAttr(t, rig.ended()[0], "http.response.header.link", []string{c.want})
	}
}
