package transport_test

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
)

// coverage reports, for the server side of a signed request, whether the
// accepted signature covers the field name.
func covered(res *signer.Result, name string) bool {
	return slices.ContainsFunc(res.Components, func(c signer.Component) bool { return c.Name() == name })
}

// A field the caller set under a non-canonical key (req.Header["x-api-key"],
// which net/http sends as it is over HTTP/1.1 and lower-cased over HTTP/2)
// is signed as it is sent: alone, it is covered (it was left out of an
// IfPresent component, and a required one failed with ErrMissingComponent);
// next to the canonical key, the signature covers both lines in the order
// HTTP/1.1 writes them (sorted keys), where it covered only the canonical
// line and the receiver, which merges the lines, failed to verify. The
// caller's request keeps its keys.
func TestSignNonCanonicalHeaderKeysOverHTTP1AndHTTP2(t *testing.T) {
	body := `{"a":1}`
	digest, err := signer.ContentDigest(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		header http.Header
		comps  []signer.Component
		check  func(r *http.Request, res *signer.Result) string
	}
	want := func(name, value string) func(r *http.Request, res *signer.Result) string {
		return func(r *http.Request, res *signer.Result) string {
			if !covered(res, name) {
				return name + " not covered"
			}
			if got := strings.Join(r.Header.Values(name), ", "); got != value {
				return name + " arrived as " + got
			}
			return ""
		}
	}
	cases := map[string]tc{
		"lower-case key, IfPresent": {
			header: http.Header{"x-api-key": {"k1"}},
			comps:  append(signer.DefaultComponents(), signer.Field("x-api-key").IfPresent()),
			check:  want("x-api-key", "k1"),
		},
		"lower-case key, required": {
			header: http.Header{"x-api-key": {"k1"}},
			comps:  append(signer.DefaultComponents(), signer.Field("x-api-key")),
			check:  want("x-api-key", "k1"),
		},
		"canonical and lower-case keys": {
			header: http.Header{"X-Api-Key": {"k1"}, "x-api-key": {"k2"}},
			comps:  append(signer.DefaultComponents(), signer.Field("x-api-key")),
			check:  want("x-api-key", "k1, k2"),
		},
		"three spellings": {
			header: http.Header{"x-api-key": {"k3"}, "X-API-KEY": {"k1"}, "X-Api-Key": {"k2"}},
			comps:  append(signer.DefaultComponents(), signer.Field("x-api-key")),
			check:  want("x-api-key", "k1, k2, k3"),
		},
		"content-type": {
			header: http.Header{"content-type": {"application/json"}},
			comps:  signer.DefaultComponents(),
			check:  want("content-type", "application/json"),
		},
		"cookie": {
			header: http.Header{"cookie": {"a=1;b=2"}, "Cookie": {"c=3"}},
			comps:  append(signer.DefaultComponents(), signer.Field("cookie")),
			check:  want("cookie", "c=3; a=1; b=2"),
		},
		"caller's content-digest": {
			header: http.Header{"content-digest": {digest}},
			comps:  signer.DefaultComponents(),
			check:  want("content-digest", digest),
		},
	}
	for _, h2 := range []bool{false, true} {
		for name, c := range cases {
			srv := protoServer(t, h2, c.check)
			rt := signedClient(t, srv, c.comps...)
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/p", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header = c.header.Clone()
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Errorf("%s, %s: %v", protoName(h2), name, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s, %s: %d %s", protoName(h2), name, resp.StatusCode, strings.TrimSpace(string(b)))
			}
			if !equalHeader(req.Header, c.header) {
				t.Errorf("%s, %s: caller's header changed: %q", protoName(h2), name, req.Header)
			}
		}
	}
}

// A caller's Signature-Input under a non-canonical key with the signer's
// label is a label in use, as under the canonical key: it was not seen,
// the request went out with two sig1 members, and the receiver's
// dictionary kept the caller's (the last one over HTTP/1.1).
func TestSignNonCanonicalSignatureInputLabelInUse(t *testing.T) {
	srv := protoServer(t, false, func(*http.Request, *signer.Result) string { return "" })
	rt := signedClient(t, srv, signer.DefaultComponents()...)
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/p", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header["signature-input"] = []string{`sig1=("@method");created=1`}
	req.Header["signature"] = []string{`sig1=:AAAA:`}
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("sent: %d", resp.StatusCode)
	}
	if !errors.Is(err, signer.ErrLabelInUse) {
		t.Errorf("err = %v, want ErrLabelInUse", err)
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
