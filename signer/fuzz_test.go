package signer

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; CI runs each target
// briefly with -fuzz. The properties: no panic, and whatever parses
// re-serialises to something that parses to the same value.

func FuzzParseSignatureInput(f *testing.F) {
	f.Add(`sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"`)
	f.Add(`sig1=("@method" "@query-param";name="Pet" "example-dict";key="a" "x";sf "y";bs);created=1;expires=2;nonce="n";alg="ed25519";tag="t";foo=?1`)
	f.Fuzz(func(t *testing.T, s string) {
		ins, err := ParseSignatureInput(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		var parts []string
		for _, in := range ins {
			parts = append(parts, in.Label+"="+in.SignatureParams())
		}
		again, err := ParseSignatureInput(strings.Join(parts, ", "))
		if err != nil {
			t.Fatalf("re-serialised %q does not parse: %v", strings.Join(parts, ", "), err)
		}
		if len(again) != len(ins) {
			t.Fatalf("%d members, then %d", len(ins), len(again))
		}
		for i := range ins {
			a, b := ins[i], again[i]
			if a.Label != b.Label || a.SignatureParams() != b.SignatureParams() || len(a.Components) != len(b.Components) ||
				!a.Created.Equal(b.Created) || !a.Expires.Equal(b.Expires) || a.Nonce != b.Nonce || a.KeyID != b.KeyID || a.Alg != b.Alg || a.Tag != b.Tag {
				t.Fatalf("round trip changed %+v into %+v", a, b)
			}
			for j := range a.Components {
				if !a.Components[j].Equal(b.Components[j]) || a.Components[j].String() != b.Components[j].String() {
					t.Fatalf("component %s became %s", a.Components[j], b.Components[j])
				}
			}
		}
	})
}

func FuzzParseSignature(f *testing.F) {
	f.Add(`sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:`)
	f.Add(`a=:AA==:, b=:AQID:;p=1`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseSignature(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		for label, sig := range m {
			again, err := ParseSignature(label + "=:" + base64.StdEncoding.EncodeToString(sig) + ":")
			if err != nil || !bytes.Equal(again[label], sig) {
				t.Fatalf("%s round trip: %v", label, err)
			}
		}
	})
}

func FuzzParseContentDigest(f *testing.F) {
	f.Add("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", []byte(`{"hello": "world"}`))
	f.Add("sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg==:", []byte("{\"hello\": \"world\"}\n"))
	f.Add("sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:, md5=:Sd/dVLAcvNLSq16eXua5uQ==:", []byte(`{"hello": "world"}`))
	f.Fuzz(func(t *testing.T, field string, content []byte) {
		ds, err := ParseContentDigest(field)
		verr := VerifyContentDigest(bytes.NewReader(content), field)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || verr == nil {
				t.Fatalf("parse error %v, verify error %v", err, verr)
			}
			return
		}
		// Accepted only if every supported member matches the content.
		want, _ := ContentDigest(bytes.NewReader(content), DigestSHA256, DigestSHA512)
		good, _ := ParseContentDigest(want)
		supported, matching := 0, 0
		for _, d := range ds {
			for _, g := range good {
				if d.Algorithm == g.Algorithm {
					supported++
					if bytes.Equal(d.Value, g.Value) {
						matching++
					}
				}
			}
		}
		if accept := supported > 0 && supported == matching; accept != (verr == nil) {
			t.Fatalf("field %q content %q: verify err %v, expected accept=%v", field, content, verr, accept)
		}
	})
}

func FuzzParseComponent(f *testing.F) {
	for _, s := range []string{`"@method"`, `"@query-param";name="a%20b"`, `"example-dict";key="a"`, `"x";sf`, `"x";bs`, `"@status"`, `"Date"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseComponent(s)
		if err != nil {
			return
		}
		again, err := ParseComponent(c.String())
		if err != nil || !again.Equal(c) || again.String() != c.String() {
			t.Fatalf("%q -> %s -> %s, %v", s, c, again, err)
		}
	})
}

// FuzzSignVerify signs random requests, sends them through the wire format
// to a verifier, and checks that the untouched request verifies and that
// any change to a covered part is refused.
func FuzzSignVerify(f *testing.F) {
	f.Add("GET", "/v1/items", "limit=10&q=a+b", "Bearer abc", "", "x-value")
	f.Add("POST", "/orders/%2F/x", "", "", `{"item":42}`, "a, b")
	f.Add("PUT", "/", "a=1&a=2&%FF=%zz", "", "\x00\x01binary", "")
	k := testKey(f, "fuzz")
	s := mustSigner(f, Options{Keys: StaticKey(k), Expires: time.Minute,
		Components: append(DefaultComponents(), TargetURI, Field("x-custom").IfPresent(), QueryParam("a").IfPresent())})
	f.Fuzz(func(t *testing.T, method, path, query, auth, body, custom string) {
		u := &url.URL{Scheme: "https", Host: "api.example.com", Path: path, RawQuery: query}
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, u.String(), rd)
		if err != nil {
			return
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if custom != "" {
			req.Header.Set("X-Custom", custom)
		}
		if err := s.Sign(context.Background(), req, t0); err != nil {
			return // unsignable input (control characters, ...)
		}
		wire, ok := toWire(req)
		if !ok {
			return // net/http itself refuses to send it
		}
		v := newTestVerifier(t, VerifierOptions{Keys: StaticKey(k), Nonces: acceptAll{}})
		if _, err := v.Verify(wire(), t0); err != nil {
			t.Fatalf("%s %s: signed request refused: %v\n%v", method, u, err, req.Header)
		}
		tamper := []func(*http.Request){
			func(r *http.Request) { r.URL.RawQuery += "&injected=1" },
			func(r *http.Request) { r.Host = "evil.example.com" },
		}
		if auth != "" {
			tamper = append(tamper, func(r *http.Request) { r.Header.Set("Authorization", auth+"x") })
		}
		if body != "" {
			tamper = append(tamper, func(r *http.Request) {
				b := []byte(body)
				b[0] ^= 0x20
				r.Body = io.NopCloser(bytes.NewReader(b))
			})
		}
		if custom != "" && strings.TrimSpace(custom) != "" {
			tamper = append(tamper, func(r *http.Request) { r.Header.Set("X-Custom", "changed:"+custom) })
		}
		for i, f := range tamper {
			r := wire()
			f(r)
			if _, err := v.Verify(r, t0); err == nil {
				t.Fatalf("tampered request %d accepted: %s %s", i, method, u)
			}
		}
	})
}

// toWire returns a function producing req as a server parses it, or false
// when net/http cannot write or read it.
func toWire(req *http.Request) (func() *http.Request, bool) {
	out := req.Clone(context.Background())
	if req.GetBody != nil {
		out.Body, _ = req.GetBody()
	}
	var buf bytes.Buffer
	if err := out.Write(&buf); err != nil {
		return nil, false
	}
	raw := buf.Bytes()
	parse := func() *http.Request {
		r, err := http.ReadRequest(bufioReader(raw))
		if err != nil {
			return nil
		}
		r.TLS = tlsState
		return r
	}
	if parse() == nil {
		return nil, false
	}
	return parse, true
}
