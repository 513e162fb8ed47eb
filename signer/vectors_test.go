package signer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The vectors are byte-exact copies of ../shared/vectors (see
// testdata/vectors/README.md). Nothing here is derived from our own code.

func vector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unwrap8792 undoes RFC 8792 §7 single-backslash wrapping: it drops the
// NOTE line and the blank line after it, and joins a line ending in '\'
// with the next one stripped of its leading spaces.
func unwrap8792(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "NOTE: '\\' line wrapping per RFC 8792") {
			if i+1 < len(lines) && lines[i+1] == "" {
				i++
			}
			continue
		}
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l = l[:len(l)-1] + strings.TrimLeft(lines[i], " ")
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func rfcHMACKey(t testing.TB) *Key {
	t.Helper()
	secret, err := base64.StdEncoding.DecodeString(string(vector(t, "rfc9421/B.1.5-test-shared-secret.b64")))
	if err != nil {
		t.Fatal(err)
	}
	k, err := NewHMACKey("test-shared-secret", secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rfcEd25519Key(t testing.TB) *Key {
	t.Helper()
	rest := vector(t, "rfc9421/B.1.4-test-key-ed25519.pem")
	var priv ed25519.PrivateKey
	var pub ed25519.PublicKey
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			priv = k.(ed25519.PrivateKey)
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			pub = k.(ed25519.PublicKey)
		}
	}
	// Cross-check the PEM against the JWK form of the same key.
	var jwk struct{ D, X string }
	if err := json.Unmarshal(vector(t, "rfc9421/B.1.4-test-key-ed25519.jwk.json"), &jwk); err != nil {
		t.Fatal(err)
	}
	d, _ := base64.RawURLEncoding.DecodeString(jwk.D)
	x, _ := base64.RawURLEncoding.DecodeString(jwk.X)
	if !bytes.Equal(priv.Seed(), d) || !bytes.Equal(pub, x) || !bytes.Equal(priv.Public().(ed25519.PublicKey), pub) {
		t.Fatal("B.1.4 PEM and JWK disagree")
	}
	k, err := NewEd25519Key("test-key-ed25519", priv)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rfcRequest parses the B.2 test-request as a server would receive it.
func rfcRequest(t testing.TB) *http.Request {
	t.Helper()
	raw := vector(t, "rfc9421/B.2-test-request.http")
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != `{"hello": "world"}` {
		t.Fatalf("test-request body = %q", body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return req
}

// rfcClientRequest builds the same request the way a Go client would.
func rfcClientRequest(t testing.TB) *http.Request {
	t.Helper()
	req, err := http.NewRequest("POST", "https://example.com/foo?param=Value&Pet=dog", strings.NewReader(`{"hello": "world"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:")
	return req
}

var rfcCreated = time.Unix(1618884473, 0)

type rfcCase struct {
	name, label, prefix string
	key                 func(testing.TB) *Key
	comps               []Component
}

func rfcCases() []rfcCase {
	return []rfcCase{
		{"B.2.5", "sig-b25", "rfc9421/B.2.5-", rfcHMACKey,
			[]Component{Field("date"), Authority, Field("content-type")}},
		{"B.2.6", "sig-b26", "rfc9421/B.2.6-", rfcEd25519Key,
			[]Component{Field("date"), Method, Path, Authority, Field("content-type"), Field("content-length")}},
	}
}

func TestRFC9421VectorFilesConsistent(t *testing.T) {
	for _, tc := range rfcCases() {
		t.Run(tc.name, func(t *testing.T) {
			fields := unwrap8792(string(vector(t, tc.prefix+"signed-fields.rfc8792.http")))
			want := "Signature-Input: " + string(vector(t, tc.prefix+"signature-input.txt")) + "\n" +
				"Signature: " + string(vector(t, tc.prefix+"signature.txt"))
			if strings.TrimRight(fields, "\n") != want {
				t.Errorf("unwrapped signed fields:\n%s\nwant:\n%s", fields, want)
			}
			base := unwrap8792(string(vector(t, tc.prefix+"signature-base.rfc8792.txt")))
			if strings.TrimRight(base, "\n") != string(vector(t, tc.prefix+"signature-base.txt")) {
				t.Errorf("unwrapped base differs from %ssignature-base.txt", tc.prefix)
			}
		})
	}
}

// TestRFC9421SignReproduces signs the RFC test request with the B.2.5 and
// B.2.6 parameters and compares Signature-Input, Signature and the
// signature base byte for byte with the published values.
func TestRFC9421SignReproduces(t *testing.T) {
	for _, tc := range rfcCases() {
		for _, form := range []string{"received", "client"} {
			t.Run(tc.name+"/"+form, func(t *testing.T) {
				req := rfcRequest(t)
				if form == "client" {
					req = rfcClientRequest(t)
				}
				s, err := New(Options{
					Keys:       StaticKey(tc.key(t)),
					Components: tc.comps,
					Label:      tc.label,
					Params:     []Param{ParamCreated, ParamKeyID},
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Sign(context.Background(), req, rfcCreated); err != nil {
					t.Fatal(err)
				}
				wantInput := tc.label + "=" + strings.TrimPrefix(string(vector(t, tc.prefix+"signature-input.txt")), tc.label+"=")
				if got := req.Header.Get("Signature-Input"); got != wantInput {
					t.Errorf("Signature-Input\n got %s\nwant %s", got, wantInput)
				}
				if got, want := req.Header.Get("Signature"), string(vector(t, tc.prefix+"signature.txt")); got != want {
					t.Errorf("Signature\n got %s\nwant %s", got, want)
				}
				// The verifier's reconstruction of the base, from the
				// Signature-Input we emitted, is the published base.
				ins, err := ParseSignatureInput(req.Header.Values("Signature-Input")...)
				if err != nil {
					t.Fatal(err)
				}
				m := message{req: req, scheme: "https", isServer: form == "received"}
				var base []byte
				for i := range ins[0].Components {
					if base, err = m.appendLines(base, &ins[0].Components[i]); err != nil {
						t.Fatal(err)
					}
				}
				base = append(base, `"@signature-params": `...)
				base = append(base, ins[0].SignatureParams()...)
				if want := vector(t, tc.prefix+"signature-base.txt"); !bytes.Equal(base, want) {
					t.Errorf("signature base\n got %q\nwant %q", base, want)
				}
			})
		}
	}
}

func rfcVerifier(t testing.TB, opts VerifierOptions) *Verifier {
	t.Helper()
	ks, err := NewKeySet(nil, rfcHMACKey(t), rfcEd25519Key(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Keys == nil {
		opts.Keys = ks
	}
	v, err := NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// rfcSigned returns the test request carrying the published signature
// fields of the given cases, as one Dictionary per field.
func rfcSigned(t testing.TB, client bool, cases ...rfcCase) *http.Request {
	req := rfcRequest(t)
	if client {
		req = rfcClientRequest(t)
	}
	var ins, sigs []string
	for _, tc := range cases {
		ins = append(ins, string(vector(t, tc.prefix+"signature-input.txt")))
		sigs = append(sigs, string(vector(t, tc.prefix+"signature.txt")))
	}
	req.Header.Set("Signature-Input", strings.Join(ins, ", "))
	req.Header.Set("Signature", strings.Join(sigs, ", "))
	return req
}

// vectorPolicy is the policy the published signatures satisfy: they cover
// neither @method (B.2.5) nor content-digest, and carry no nonce.
var vectorPolicy = VerifierOptions{
	Required:          []Component{Authority, Field("date")},
	AllowUnsignedBody: true,
	AllowMissingNonce: true,
}

func TestRFC9421PublishedSignaturesVerify(t *testing.T) {
	now := rfcCreated.Add(5 * time.Second)
	for _, tc := range rfcCases() {
		for _, client := range []bool{false, true} {
			opts := vectorPolicy
			opts.Label = tc.label
			v := rfcVerifier(t, opts)
			res, err := v.Verify(rfcSigned(t, client, tc), now)
			if err != nil {
				t.Fatalf("%s (client=%v): %v", tc.name, client, err)
			}
			if res.Label != tc.label || !res.Created.Equal(rfcCreated) || res.Algorithm != tc.key(t).Algorithm() {
				t.Errorf("%s: result %+v", tc.name, res)
			}
		}
	}
	// Both signatures on one message: each label verifies on its own.
	both := rfcSigned(t, false, rfcCases()...)
	for _, tc := range rfcCases() {
		opts := vectorPolicy
		opts.Label = tc.label
		if _, err := rfcVerifier(t, opts).Verify(both, now); err != nil {
			t.Errorf("%s among two signatures: %v", tc.name, err)
		}
	}
}

func TestRFC9421PublishedSignaturesRejected(t *testing.T) {
	b25 := rfcCases()[0]
	now := rfcCreated.Add(5 * time.Second)
	tests := []struct {
		name   string
		opts   func(*VerifierOptions)
		mutate func(*http.Request)
		now    time.Time
		want   error
	}{
		{name: "default policy wants content-digest covered", opts: func(o *VerifierOptions) { o.AllowUnsignedBody = false }, want: ErrMissingComponent},
		{name: "default policy wants @method", opts: func(o *VerifierOptions) { o.Required = nil }, want: ErrMissingComponent},
		{name: "default policy wants a nonce", opts: func(o *VerifierOptions) { o.AllowMissingNonce = false }, want: ErrMissingParameter},
		{name: "tampered date", mutate: func(r *http.Request) { r.Header.Set("Date", "Tue, 20 Apr 2021 02:07:56 GMT") }, want: ErrInvalidSignature},
		{name: "tampered host", mutate: func(r *http.Request) { r.Host = "example.org" }, want: ErrInvalidSignature},
		{name: "flipped signature bit", mutate: func(r *http.Request) {
			r.Header.Set("Signature", "sig-b25=:qxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:")
		}, want: ErrInvalidSignature},
		{name: "alg downgrade", mutate: func(r *http.Request) {
			r.Header.Set("Signature-Input", `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret";alg="ed25519"`)
		}, want: ErrAlgorithmMismatch},
		{name: "unknown key", mutate: func(r *http.Request) {
			r.Header.Set("Signature-Input", `sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="nobody"`)
		}, want: ErrUnknownKey},
		{name: "key id not accepted", opts: func(o *VerifierOptions) { o.KeyIDs = []string{"test-key-ed25519"} }, want: ErrUnknownKey},
		{name: "stale", now: rfcCreated.Add(DefaultMaxAge + DefaultClockSkew + time.Second), want: ErrStale},
		{name: "future", now: rfcCreated.Add(-DefaultClockSkew - time.Second), want: ErrFuture},
		{name: "tag required", opts: func(o *VerifierOptions) { o.Tag = "app" }, want: ErrMissingParameter},
		{name: "no signature", mutate: func(r *http.Request) { r.Header.Del("Signature") }, want: ErrMissingSignature},
		{name: "other label", opts: func(o *VerifierOptions) { o.Label = "sig1" }, want: ErrMissingSignature},
		{name: "malformed input", mutate: func(r *http.Request) { r.Header.Set("Signature-Input", `sig-b25=("date"`) }, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := vectorPolicy
			opts.Label = b25.label
			if tt.opts != nil {
				tt.opts(&opts)
			}
			req := rfcSigned(t, false, b25)
			if tt.mutate != nil {
				tt.mutate(req)
			}
			at := now
			if !tt.now.IsZero() {
				at = tt.now
			}
			_, err := rfcVerifier(t, opts).Verify(req, at)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("err %T is not a *VerifyError", err)
			}
		})
	}
}

// TestRFC9421TestResponseDigestRejected: the published test-response
// carries a Content-Digest that does not match its body (erratum, PR
// #2669); recomputing it must fail. The test-request's digest is correct.
func TestRFC9421TestResponseDigestRejected(t *testing.T) {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(vector(t, "rfc9421/B.2-test-response.http"))), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	err = VerifyContentDigest(resp.Body, resp.Header.Values("Content-Digest")...)
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("published test-response digest: err = %v, want ErrDigestMismatch", err)
	}
	req := rfcRequest(t)
	if err := VerifyContentDigest(req.Body, req.Header.Values("Content-Digest")...); err != nil {
		t.Fatalf("test-request digest: %v", err)
	}
}

type digestVector struct {
	Source         string `json:"source"`
	ContentHex     string `json:"content_hex"`
	Algorithm      string `json:"algorithm"`
	PublishedValue string `json:"published_value"`
	ComputedValue  string `json:"computed_value"`
	Matches        bool   `json:"matches"`
}

func TestRFC9530DigestVectors(t *testing.T) {
	var vs []digestVector
	if err := json.Unmarshal(vector(t, "rfc9530/digest-vectors.json"), &vs); err != nil {
		t.Fatal(err)
	}
	var pass, fail int
	for _, v := range vs {
		content, err := hex.DecodeString(v.ContentHex)
		if err != nil {
			t.Fatal(err)
		}
		alg := DigestAlgorithm(v.Algorithm)
		field := v.Algorithm + "=:" + v.PublishedValue + ":"
		got, err := ContentDigest(bytes.NewReader(content), alg)
		if err != nil {
			t.Fatal(err)
		}
		verr := VerifyContentDigest(bytes.NewReader(content), field)
		if v.Matches {
			pass++
			if got != field {
				t.Errorf("%s: computed %s, published %s", v.Source, got, field)
			}
			if verr != nil {
				t.Errorf("%s: published value rejected: %v", v.Source, verr)
			}
		} else {
			fail++
			if got == field {
				t.Errorf("%s: known-wrong value reproduced", v.Source)
			}
			if !errors.Is(verr, ErrDigestMismatch) {
				t.Errorf("%s: known-wrong value: err = %v, want ErrDigestMismatch", v.Source, verr)
			}
			if want := v.Algorithm + "=:" + v.ComputedValue + ":"; got != want {
				t.Errorf("%s: computed %s, want the recomputed %s", v.Source, got, want)
			}
		}
	}
	if pass != 11 || fail != 2 {
		t.Errorf("ran %d matching and %d wrong vectors, want 11 and 2", pass, fail)
	}
}

// TestRFC9530Section2Examples: the first example verifies against its
// content; the two-member example pairs a wrong sha-256 with a correct
// sha-512 and must be rejected (every supported member must match).
func TestRFC9530Section2Examples(t *testing.T) {
	text := unwrap8792(string(vector(t, "rfc9530/section-2-content-digest-examples.rfc8792.txt")))
	var fields []string
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, "Content-Digest: "); ok {
			fields = append(fields, v)
		}
	}
	if len(fields) != 2 {
		t.Fatalf("found %d Content-Digest examples, want 2", len(fields))
	}
	content := []byte("{\"hello\": \"world\"}\n")
	if err := VerifyContentDigest(bytes.NewReader(content), fields[0]); err != nil {
		t.Errorf("example 1: %v", err)
	}
	ds, err := ParseContentDigest(fields[1])
	if err != nil || len(ds) != 2 {
		t.Fatalf("example 2 parse: %v, %d members", err, len(ds))
	}
	if err := VerifyContentDigest(bytes.NewReader(content), fields[1]); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("example 2: err = %v, want ErrDigestMismatch", err)
	}
}

func TestRFC9530AppendixDSampleValues(t *testing.T) {
	text := unwrap8792(string(vector(t, "rfc9530/appendix-D-sample-digest-values.rfc8792.txt")))
	content := strings.NewReader(`{"hello": "world"}`)
	got, err := ContentDigest(content, DigestSHA512, DigestSHA256)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range strings.Split(text, "\n") {
		alg, val, ok := strings.Cut(l, " -")
		if !ok || (alg != "sha-512" && alg != "sha-256") {
			continue
		}
		want = append(want, alg+"="+strings.TrimSpace(val))
	}
	if w := strings.Join(want, ", "); got != w {
		t.Errorf("got %s\nwant %s", got, w)
	}
	// Deprecated algorithms are never trusted on their own.
	if err := VerifyContentDigest(strings.NewReader(`{"hello": "world"}`), "md5=:Sd/dVLAcvNLSq16eXua5uQ==:, sha=:07CavjDP4u3/TungoUHJO/Wzr4c=:"); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("md5+sha only: err = %v, want ErrDigestMismatch", err)
	}
}

func TestParseContentDigestMalformed(t *testing.T) {
	bad := []string{
		"sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg==:",  // B.5, B.6, B.11, C.1 as printed
		"SHA-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",   // upper-case key
		"sha-256=RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=",     // not a byte sequence
		"sha-256=\"RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=\"", // a string
		"sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=",    // unterminated
		"sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuA==:",   // 31 bytes
		"sha-512=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:",   // sha-256 size under sha-512
		"sha-256=(:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:)", // inner list
		"",
		"sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:,",
	}
	for _, v := range bad {
		if _, err := ParseContentDigest(v); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseContentDigest(%q) err = %v, want ErrMalformed", v, err)
		}
		if err := VerifyContentDigest(strings.NewReader("{\"hello\": \"world\"}\n"), v); err == nil {
			t.Errorf("VerifyContentDigest(%q) accepted", v)
		}
	}
}
