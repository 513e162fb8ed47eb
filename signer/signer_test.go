package signer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef") // 32 bytes

func testKey(t testing.TB, id string) *Key {
	t.Helper()
	k, err := NewHMACKey(id, append([]byte(id+"-"), testSecret...))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testEdKey(t testing.TB, id string) *Key {
	t.Helper()
	seed := bytes.Repeat([]byte{byte(len(id))}, ed25519.SeedSize)
	k, err := NewEd25519Key(id, ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustSigner(t testing.TB, opts Options) *Signer {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countingReader yields 0x00, 0x01, ... and counts bytes read.
type countingReader struct{ n atomic.Int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.n.Add(1))
	}
	return len(p), nil
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func TestNewHMACKeyRefusesShortSecret(t *testing.T) {
	_, err := NewHMACKey("k", bytes.Repeat([]byte{1}, MinHMACKeySize-1))
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, ErrWeakKey) || ce.Option != "secret" {
		t.Fatalf("err = %v", err)
	}
	// MinHMACKeySize bytes are enough (not zero bytes: an all-zero secret
	// is refused, TestNewHMACKeyRefusesAllZeroSecret).
	if _, err := NewHMACKey("k", bytes.Repeat([]byte{1}, MinHMACKeySize)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", "tab\tin", "é"} {
		if _, err := NewHMACKey(id, testSecret); !errors.As(err, &ce) {
			t.Errorf("key id %q: err = %v", id, err)
		}
	}
	if _, err := NewEd25519Key("k", make(ed25519.PrivateKey, 10)); !errors.Is(err, ErrWeakKey) {
		t.Errorf("short ed25519 key: %v", err)
	}
	bad := ed25519.NewKeyFromSeed(make([]byte, 32))
	bad[63] ^= 1
	if _, err := NewEd25519Key("k", bad); !errors.Is(err, ErrWeakKey) {
		t.Errorf("mismatched ed25519 halves: %v", err)
	}
	if _, err := NewEd25519PublicKey("k", make([]byte, 5)); !errors.Is(err, ErrWeakKey) {
		t.Errorf("short public key: %v", err)
	}
}

func TestKeyNeverPrintsMaterial(t *testing.T) {
	secret := []byte("SUPERSECRETSUPERSECRETSUPERSECRET!")
	k, _ := NewHMACKey("kid", secret)
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("key", "k", k)
	out := fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k) + logs.String()
	for _, leak := range []string{"SUPERSECRET", fmt.Sprintf("%x", secret[:8]), "U1VQRVJTRUNSRVQ"} {
		if strings.Contains(out, leak) {
			t.Fatalf("key material printed: %s", out)
		}
	}
	if !strings.Contains(out, "kid") {
		t.Errorf("key id missing: %s", out)
	}
	ed := testEdKey(t, "ed")
	out = fmt.Sprintf("%v %+v %#v", ed, ed, ed)
	if strings.Contains(out, fmt.Sprintf("%x", ed.priv().Seed()[:6])) {
		t.Fatalf("ed25519 seed printed: %s", out)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	ks := StaticKey(testKey(t, "k"))
	bad := []struct {
		field string
		opts  Options
	}{
		{"Options.Keys", Options{}},
		{"Options.Label", Options{Keys: ks, Label: "Sig"}},
		{"Options.Components", Options{Keys: ks, Components: []Component{Method, Method}}},
		{"Options.Components", Options{Keys: ks, Components: []Component{Field("authorization").IfPresent()}}},
		{"Options.Components[0]", Options{Keys: ks, Components: []Component{{}}}},
		{"Options.Components[1]", Options{Keys: ks, Components: []Component{Method, Field("bad header")}}},
		{"Options.Components[0]", Options{Keys: ks, Components: []Component{FieldSF("x-unknown")}}},
		{"Options.Params", Options{Keys: ks, Params: []Param{ParamCreated, ParamCreated}}},
		{"Options.Params", Options{Keys: ks, Params: []Param{"bogus"}}},
		{"Options.Params", Options{Keys: ks, Params: []Param{ParamExpires}}},
		{"Options.Params", Options{Keys: ks, Params: []Param{ParamCreated}, Expires: time.Minute}},
		{"Options.Params", Options{Keys: ks, Params: []Param{ParamTag}}},
		{"Options.Params", Options{Keys: ks, Params: []Param{ParamCreated}, Tag: "t"}},
		{"Options.Expires", Options{Keys: ks, Expires: -time.Second}},
		{"Options.Expires", Options{Keys: ks, Expires: time.Millisecond}},
		{"Options.Tag", Options{Keys: ks, Tag: "line\nbreak"}},
		{"Options.NonceSize", Options{Keys: ks, NonceSize: 8}},
		{"Options.NonceSize", Options{Keys: ks, NonceSize: 65}},
		{"Options.Digest", Options{Keys: ks, Digest: "md5"}},
	}
	for _, tc := range bad {
		_, err := New(tc.opts)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.field {
			t.Errorf("%+v: err = %v, want ConfigError on %s", tc.opts, err, tc.field)
		}
	}
	s := mustSigner(t, Options{Keys: ks, Expires: time.Minute, Tag: "app"})
	want := []Param{ParamCreated, ParamExpires, ParamNonce, ParamKeyID, ParamAlg, ParamTag}
	if fmt.Sprint(s.Params()) != fmt.Sprint(want) || s.Label() != DefaultLabel || len(s.Components()) != len(DefaultComponents()) {
		t.Errorf("defaults: params %v label %q comps %v", s.Params(), s.Label(), s.Components())
	}
}

func TestSignDefaultComponents(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k1")), Nonce: &countingReader{}})

	get, _ := http.NewRequest("GET", "https://API.example.com:443/v1/items?limit=10", nil)
	if err := s.Sign(context.Background(), get, t0); err != nil {
		t.Fatal(err)
	}
	in := get.Header.Get("Signature-Input")
	want := `sig1=("@method" "@authority" "@path" "@query");created=1777636800;nonce="AQIDBAUGBwgJCgsMDQ4PEA";keyid="k1";alg="hmac-sha256"`
	if in != want {
		t.Errorf("GET Signature-Input\n got %s\nwant %s", in, want)
	}
	if get.Header.Get("Content-Digest") != "" {
		t.Error("GET without body got a Content-Digest")
	}

	post, _ := http.NewRequest("POST", "https://api.example.com/v1/items", strings.NewReader(`{"a":1}`))
	post.Header.Set("Content-Type", "application/json")
	post.Header.Set("Authorization", "Bearer t0ken")
	post.Header.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	if err := s.Sign(context.Background(), post, t0); err != nil {
		t.Fatal(err)
	}
	ins, err := ParseSignatureInput(post.Header.Values("Signature-Input")...)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, c := range ins[0].Components {
		ids = append(ids, c.String())
	}
	if got := strings.Join(ids, " "); got != `"@method" "@authority" "@path" "@query" "content-digest" "content-type" "authorization"` {
		t.Errorf("POST components: %s", got)
	}
	if cd, _ := ContentDigest(strings.NewReader(`{"a":1}`)); post.Header.Get("Content-Digest") != cd {
		t.Errorf("Content-Digest = %q, want %q", post.Header.Get("Content-Digest"), cd)
	}
	if in := ins[0]; !in.Created.Equal(t0) || in.KeyID != "k1" || in.Alg != HMACSHA256 || len(in.Nonce) != 22 || in.Label != "sig1" {
		t.Errorf("parsed input %+v", in)
	}
}

func TestSignNoncesAreFreshAndSized(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method}})
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		r, _ := http.NewRequest("GET", "https://example.com/", nil)
		if err := s.Sign(context.Background(), r, t0); err != nil {
			t.Fatal(err)
		}
		ins, _ := ParseSignatureInput(r.Header.Values("Signature-Input")...)
		n := ins[0].Nonce
		if len(n) != 22 || seen[n] {
			t.Fatalf("nonce %q (len %d, seen %v)", n, len(n), seen[n])
		}
		seen[n] = true
	}
	big := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method}, NonceSize: 32})
	r, _ := http.NewRequest("GET", "https://example.com/", nil)
	_ = big.Sign(context.Background(), r, t0)
	ins, _ := ParseSignatureInput(r.Header.Values("Signature-Input")...)
	if len(ins[0].Nonce) != 43 {
		t.Errorf("32-byte nonce encoded as %q", ins[0].Nonce)
	}
	// A nonce source that runs dry is an error, never a short nonce.
	short := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method}, Nonce: bytes.NewReader(make([]byte, 10))})
	r, _ = http.NewRequest("GET", "https://example.com/", nil)
	if err := short.Sign(context.Background(), r, t0); err == nil || r.Header.Get("Signature") != "" {
		t.Fatalf("short nonce source: err = %v, header %q", err, r.Header.Get("Signature"))
	}
}

// bodyTracker fails the test's expectations if the signer reads req.Body.
type bodyTracker struct {
	io.Reader
	reads, closes int
}

func (b *bodyTracker) Read(p []byte) (int, error) { b.reads++; return b.Reader.Read(p) }
func (b *bodyTracker) Close() error               { b.closes++; return nil }

func TestSignNeverReadsBody(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	content := []byte(strings.Repeat("x", 100_000))
	body := &bodyTracker{Reader: bytes.NewReader(content)}
	var fresh []*bodyTracker
	req, _ := http.NewRequest("PUT", "https://example.com/blob", nil)
	req.Body = body
	req.ContentLength = int64(len(content))
	req.GetBody = func() (io.ReadCloser, error) {
		b := &bodyTracker{Reader: bytes.NewReader(content)}
		fresh = append(fresh, b)
		return b, nil
	}
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if body.reads != 0 || body.closes != 0 {
		t.Errorf("req.Body read %d times, closed %d times", body.reads, body.closes)
	}
	if len(fresh) != 1 || fresh[0].closes != 1 {
		t.Errorf("GetBody copies: %d, closed: %v", len(fresh), fresh)
	}
	if err := VerifyContentDigest(bytes.NewReader(content), req.Header.Get("Content-Digest")); err != nil {
		t.Error(err)
	}

	// A body without GetBody cannot be hashed without consuming it.
	req2, _ := http.NewRequest("PUT", "https://example.com/blob", nil)
	req2.Body = &bodyTracker{Reader: bytes.NewReader(content)}
	if err := s.Sign(context.Background(), req2, t0); !errors.Is(err, ErrBodyNotReplayable) {
		t.Errorf("no GetBody: err = %v", err)
	}
	// GetBody failing is reported.
	req3, _ := http.NewRequest("PUT", "https://example.com/blob", bytes.NewReader(content))
	req3.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("gone") }
	if err := s.Sign(context.Background(), req3, t0); err == nil || !strings.Contains(err.Error(), "gone") {
		t.Errorf("GetBody error: %v", err)
	}
	// A caller-supplied Content-Digest is covered as is.
	req4, _ := http.NewRequest("PUT", "https://example.com/blob", bytes.NewReader(content))
	req4.Header.Set("Content-Digest", "sha-512=:AAAA:")
	req4.GetBody = nil
	if err := s.Sign(context.Background(), req4, t0); err != nil || req4.Header.Get("Content-Digest") != "sha-512=:AAAA:" {
		t.Errorf("caller digest: %v %q", err, req4.Header.Get("Content-Digest"))
	}
}

func TestSignSHA512Digest(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Digest: DigestSHA512})
	req, _ := http.NewRequest("POST", "https://example.com/foo", strings.NewReader(`{"hello": "world"}`))
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	// RFC 9530 Appendix D / RFC 9421 B.2 value.
	if got := req.Header.Get("Content-Digest"); got != "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:" {
		t.Errorf("Content-Digest = %s", got)
	}
}

func TestSignMissingComponent(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, Field("date")}})
	req, _ := http.NewRequest("GET", "https://example.com/", nil)
	if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrMissingComponent) {
		t.Fatalf("err = %v", err)
	}
	if req.Header.Get("Signature") != "" || req.Header.Get("Signature-Input") != "" {
		t.Error("a failed Sign left headers behind")
	}
	opt := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k")), Components: []Component{Method, Field("date").IfPresent()}})
	if err := opt.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(req.Header.Get("Signature-Input"), `sig1=("@method");`) {
		t.Errorf("IfPresent component covered while absent: %s", req.Header.Get("Signature-Input"))
	}
}

func TestSignErrors(t *testing.T) {
	failing := KeySourceFunc(func(context.Context) (*Key, error) { return nil, errors.New("keyring locked") })
	s := mustSigner(t, Options{Keys: failing})
	req, _ := http.NewRequest("GET", "https://example.com/", nil)
	if err := s.Sign(context.Background(), req, t0); err == nil || !strings.Contains(err.Error(), "keyring locked") {
		t.Errorf("key source error: %v", err)
	}
	// New refuses StaticKey of a public key; a source it cannot see
	// through is caught by Sign.
	pub := testEdKey(t, "ed").Public()
	pubOnly := mustSigner(t, Options{Keys: KeySourceFunc(func(context.Context) (*Key, error) { return pub, nil })})
	if err := pubOnly.Sign(context.Background(), req, t0); err == nil {
		t.Error("signed with a public key")
	}
	ok := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	if err := ok.Sign(context.Background(), req, time.Time{}); err == nil {
		t.Error("signed at the zero time")
	}
	if err := ok.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if err := ok.Sign(context.Background(), req, t0); !errors.Is(err, ErrLabelInUse) {
		t.Errorf("second signature with the same label: %v", err)
	}
}

// KeySourceFunc adapts a function for the tests.
type KeySourceFunc func(context.Context) (*Key, error)

func (f KeySourceFunc) SigningKey(ctx context.Context) (*Key, error) { return f(ctx) }

// TestMultipleSignatures: an HMAC signature and an Ed25519 signature that
// covers the first one (RFC 9421 §4.3) on one request; each verifies.
func TestMultipleSignatures(t *testing.T) {
	hk, ek := testKey(t, "hmac-key"), testEdKey(t, "ed-key")
	s1 := mustSigner(t, Options{Keys: StaticKey(hk), Label: "sig1"})
	s2 := mustSigner(t, Options{Keys: StaticKey(ek), Label: "proxy",
		Components: []Component{Method, Authority, Path, Query, FieldKey("signature", "sig1"), FieldKey("signature-input", "sig1")}})
	req, _ := http.NewRequest("GET", "https://example.com/a?b=c", nil)
	if err := s1.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if err := s2.Sign(context.Background(), req, t0); err != nil {
		t.Fatal(err)
	}
	if n := len(req.Header.Values("Signature")); n != 2 {
		t.Fatalf("%d Signature lines", n)
	}
	ks, _ := NewKeySet(nil, hk, ek.Public())
	for _, label := range []string{"sig1", "proxy"} {
		v, _ := NewVerifier(VerifierOptions{Keys: ks, Label: label})
		if _, err := v.Verify(serverView(t, req), t0); err != nil {
			t.Errorf("%s: %v", label, err)
		}
	}
	// Tampering with the inner signature breaks the outer one too.
	tampered := serverView(t, req)
	tampered.Header["Signature"][0] = strings.Replace(tampered.Header["Signature"][0], "sig1=:", "sig1=:AA", 1)
	v, _ := NewVerifier(VerifierOptions{Keys: ks, Label: "proxy"})
	if _, err := v.Verify(tampered, t0); !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrMalformed) {
		t.Errorf("tampered inner signature: %v", err)
	}
}

func TestKeySetRotation(t *testing.T) {
	k1, k2 := testKey(t, "2026-01"), testKey(t, "2026-02")
	ks, err := NewKeySet(k1)
	if err != nil {
		t.Fatal(err)
	}
	s := mustSigner(t, Options{Keys: ks})
	verifierKeys, _ := NewKeySet(nil, k1)
	v, _ := NewVerifier(VerifierOptions{Keys: verifierKeys})
	sign := func() *http.Request {
		r, _ := http.NewRequest("GET", "https://example.com/", nil)
		if err := s.Sign(context.Background(), r, t0); err != nil {
			t.Fatal(err)
		}
		return r
	}
	old := sign()
	if err := verifierKeys.Add(k2); err != nil { // step 1: verifiers learn k2
		t.Fatal(err)
	}
	if err := ks.Rotate(k2); err != nil { // step 2: signers switch
		t.Fatal(err)
	}
	fresh := sign()
	if ins, _ := ParseSignatureInput(fresh.Header.Values("Signature-Input")...); ins[0].KeyID != "2026-02" {
		t.Fatalf("after Rotate keyid = %s", ins[0].KeyID)
	}
	for _, r := range []*http.Request{old, fresh} {
		if _, err := v.Verify(serverView(t, r), t0); err != nil {
			t.Errorf("during rotation: %v", err)
		}
	}
	if err := verifierKeys.Remove("2026-01"); err != nil { // step 3
		t.Fatal(err)
	}
	if _, err := v.Verify(serverView(t, old), t0); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("retired key: %v", err)
	}
	if err := ks.Remove("2026-02"); err == nil {
		t.Error("removed the current key")
	}
	if err := ks.Add(testKey(t, "2026-02")); err == nil {
		t.Error("Add replaced a key under an existing id")
	}
	if err := ks.Rotate(testEdKey(t, "pub").Public()); err == nil {
		t.Error("rotated to a verification-only key")
	}
	if ids := ks.IDs(); fmt.Sprint(ids) != "[2026-02 2026-01]" {
		t.Errorf("IDs = %v", ids)
	}
	if _, err := NewKeySet(k1, k1); err == nil {
		t.Error("duplicate ids accepted")
	}
}
