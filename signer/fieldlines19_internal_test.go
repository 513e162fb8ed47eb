package signer

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// zeroReader hands out zero bytes: the same nonce for every signature.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestSignFieldLinesFromWalkAgree: Sign takes the lines of the fields it
// covers from mergeKeys' walk over the header's keys (Signer.fieldKeys),
// not from a lookup of each; its Signature-Input, Signature, Content-Digest
// and errors are those of a Signer looking every field up, byte for byte:
// with keys merged (the lines then looked up), a Content-Digest the caller
// set or Sign added, a covered Signature field, an empty User-Agent, the
// fields Sign never reads from the header or rewrites (host,
// content-length, cookie), and more fields than the walk keeps.
func TestSignFieldLinesFromWalkAgree(t *testing.T) {
	key, err := NewHMACKey("k", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	extra := []Component{Field("user-agent").IfPresent(), Field("x-api-key").IfPresent(),
		FieldKey("signature", "other").IfPresent(), Field("host"), Field("content-length").IfPresent(),
		Field("cookie").IfPresent(), Field("accept").IfPresent()}
	many := []Component{Method}
	for i := range maxFieldKeys + 3 {
		many = append(many, Field("x-f"+strings.Repeat("f", i)).IfPresent())
	}
	comps := map[string][]Component{
		"default": DefaultComponents(),
		"extra":   append(DefaultComponents(), extra...),
		"many":    append(many, Field("content-digest").IfPresent(), Field("authorization").IfPresent()),
	}
	const body = `{"a":1}`
	digest, err := ContentDigest(strings.NewReader(body), DigestSHA256)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]http.Header{
		"none":       {},
		"canonical":  {"Authorization": {"Bearer x"}, "Content-Type": {"application/json"}, "Accept": {"*/*"}, "X-Api-Key": {"k1", "k2"}},
		"odd keys":   {"authorization": {"Bearer y"}, "CONTENT-TYPE": {"text/plain"}, "x-api-key": {"k"}, "X-Api-Key": {"K"}},
		"digest":     {"Content-Digest": {digest}, "Content-Type": {"application/json"}},
		"bad digest": {"Content-Digest": {"sha-256=:AAAA:"}},
		"signed":     {"Signature-Input": {`other=("@method")`}, "Signature": {"other=:AAAA:"}, "Authorization": {"Bearer z"}},
		"user-agent": {"User-Agent": {""}, "Cookie": {"a=1", "b=2"}, "Host": {"evil.example"}, "Content-Length": {"99"}},
		"many":       {"X-F": {"0"}, "X-Fff": {"2"}, "X-Ffffffffff": {"10"}, "X-Fffffffffff": {"11"}, "Authorization": {"Bearer m"}},
	}
	now := time.Unix(1_700_000_000, 0)
	for cname, cs := range comps {
		walk, err := New(Options{Keys: StaticKey(key), Components: cs, Nonce: zeroReader{}})
		if err != nil {
			t.Fatal(err)
		}
		look, err := New(Options{Keys: StaticKey(key), Components: cs, Nonce: zeroReader{}})
		if err != nil {
			t.Fatal(err)
		}
		if len(walk.fieldKeys) == 0 {
			t.Fatalf("%s: no field keys taken from the walk", cname)
		}
		clear(look.slots) // every field looked up
		look.digestSlot = 0
		for hname, h := range headers {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				sign := func(s *Signer) (http.Header, error) {
					var rd io.Reader
					if method == http.MethodPost {
						rd = strings.NewReader(body)
					}
					req, err := http.NewRequest(method, "https://api.example.test/v1/items?page=2", rd)
					if err != nil {
						t.Fatal(err)
					}
					for k, vs := range h {
						req.Header[k] = append([]string(nil), vs...)
					}
					err = s.Sign(context.Background(), req, now)
					return req.Header, err
				}
				got, gerr := sign(walk)
				want, werr := sign(look)
				if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
					t.Errorf("%s/%s/%s: error %v, looked up %v", cname, hname, method, gerr, werr)
					continue
				}
				for _, k := range []string{"Signature-Input", "Signature", "Content-Digest", "Cookie"} {
					if g, w := strings.Join(got[k], "\n"), strings.Join(want[k], "\n"); g != w {
						t.Errorf("%s/%s/%s: %s %q, looked up %q", cname, hname, method, k, g, w)
					}
				}
			}
		}
	}
}
