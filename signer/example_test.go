package signer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/securecall/securecall/signer"
)

// A fixed secret and nonce source keep the examples' output stable (the
// ExampleSigner_Sign values were recomputed with Python hashlib/hmac); real
// code uses a random secret from a secret store and the default nonce
// source (crypto/rand).
var (
	exampleSecret = []byte("an example secret of 32+ bytes!!")
	exampleTime   = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

func ExampleSigner_Sign() {
	key, err := signer.NewHMACKey("client-1", exampleSecret)
	if err != nil {
		panic(err)
	}
	s, err := signer.New(signer.Options{
		Keys:  signer.StaticKey(key),
		Nonce: bytes.NewReader(bytes.Repeat([]byte{0xA5}, 16)), // tests only
	})
	if err != nil {
		panic(err)
	}
	req, _ := http.NewRequest("POST", "https://api.example.com/v1/orders", strings.NewReader(`{"item":42}`))
	req.Header.Set("Content-Type", "application/json")
	if err := s.Sign(context.Background(), req, exampleTime); err != nil {
		panic(err)
	}
	fmt.Println("Content-Digest:", req.Header.Get("Content-Digest"))
	fmt.Println("Signature-Input:", req.Header.Get("Signature-Input"))
	fmt.Println("Signature:", req.Header.Get("Signature"))
	// Output:
	// Content-Digest: sha-256=:vHlB39UT0/KDXUZX5Su9O9WV3NTPa+Ezu9WqOwubvZg=:
	// Signature-Input: sig1=("@method" "@authority" "@path" "@query" "content-digest" "content-type");created=1777636800;nonce="paWlpaWlpaWlpaWlpaWlpQ";keyid="client-1";alg="hmac-sha256"
	// Signature: sig1=:WhuYIgG4i67WfNWxtzFJyapJW/xfzPGPZi2NvfP1J5s=:
}

func ExampleVerifier_Verify() {
	key, _ := signer.NewHMACKey("client-1", exampleSecret)
	s, _ := signer.New(signer.Options{Keys: signer.StaticKey(key)})
	v, _ := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(key)})

	req := httptest.NewRequest("GET", "https://api.example.com/v1/orders/7", nil)
	_ = s.Sign(context.Background(), req, exampleTime)

	res, err := v.Verify(req, exampleTime.Add(2*time.Second))
	fmt.Println("first:", res.KeyID, err)

	_, err = v.Verify(req, exampleTime.Add(3*time.Second))
	fmt.Println("replayed:", errors.Is(err, signer.ErrReplay))

	_, err = v.Verify(req, exampleTime.Add(10*time.Minute))
	fmt.Println("ten minutes later:", errors.Is(err, signer.ErrStale))
	// Output:
	// first: client-1 <nil>
	// replayed: true
	// ten minutes later: true
}

func ExampleVerifier_Middleware() {
	key, _ := signer.NewHMACKey("client-1", exampleSecret)
	v, _ := signer.NewVerifier(signer.VerifierOptions{Keys: signer.StaticKey(key)})
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := signer.ResultFromContext(r.Context())
		fmt.Fprintf(w, "hello %s", res.KeyID)
	}))

	s, _ := signer.New(signer.Options{Keys: signer.StaticKey(key)})
	signed := httptest.NewRequest("GET", "https://api.example.com/hello", nil)
	_ = s.Sign(context.Background(), signed, time.Now())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, signed)
	fmt.Println(rec.Code, rec.Body.String())

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://api.example.com/hello", nil))
	fmt.Println(rec.Code)
	// Output:
	// 200 hello client-1
	// 401
}

func ExampleContentDigest() {
	v, _ := signer.ContentDigest(strings.NewReader(`{"hello": "world"}`), signer.DigestSHA256)
	fmt.Println(v)
	err := signer.VerifyContentDigest(strings.NewReader(`{"hello": "world!"}`), v)
	fmt.Println(errors.Is(err, signer.ErrDigestMismatch))
	// Output:
	// sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:
	// true
}

func ExampleKeySet_Rotate() {
	old, _ := signer.NewHMACKey("2026-04", exampleSecret)
	next, _ := signer.NewHMACKey("2026-05", bytes.Repeat([]byte{7}, 32))
	keys, _ := signer.NewKeySet(old)
	s, _ := signer.New(signer.Options{Keys: keys})

	sign := func() string {
		req, _ := http.NewRequest("GET", "https://api.example.com/", nil)
		_ = s.Sign(context.Background(), req, exampleTime)
		in, _ := signer.ParseSignatureInput(req.Header.Values("Signature-Input")...)
		return in[0].KeyID
	}
	fmt.Println(sign())
	_ = keys.Rotate(next) // the old key stays available to verifiers
	fmt.Println(sign(), keys.IDs())
	// Output:
	// 2026-04
	// 2026-05 [2026-05 2026-04]
}

// Middleware's 401 says that the signature was refused, not a credential
// (WWW-Authenticate: Signature), and what a fresh signature must cover
// (Accept-Signature: the label, the components, content-digest for a
// request with a body, created and the tag; never a keyid or a nonce).
func ExampleVerifier_Middleware_challenge() {
	key, _ := signer.NewHMACKey("client-1", exampleSecret)
	v, _ := signer.NewVerifier(signer.VerifierOptions{
		Keys:  signer.StaticKey(key),
		Label: "orders",
		Tag:   "orders-api",
	})
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "https://api.example.com/v1/orders", nil),
		httptest.NewRequest("POST", "https://api.example.com/v1/orders", strings.NewReader(`{"item":42}`)),
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req) // unsigned: refused
		fmt.Println(req.Method, rec.Code)
		fmt.Println("WWW-Authenticate:", rec.Header().Get("WWW-Authenticate")) // signer.ChallengeScheme
		fmt.Println("Accept-Signature:", rec.Header().Get("Accept-Signature"))
	}
	// Output:
	// GET 401
	// WWW-Authenticate: Signature
	// Accept-Signature: orders=("@method" "@authority" "@path" "@query");created;tag="orders-api"
	// POST 401
	// WWW-Authenticate: Signature
	// Accept-Signature: orders=("@method" "@authority" "@path" "@query" "content-digest");created;tag="orders-api"
}

// Options are checked in New and NewVerifier: a label longer than
// MaxLabelLength, a tag longer than MaxTagLength (or not printable ASCII),
// a key id longer than MaxKeyIDLength would make signatures the verifier
// refuses, and are a *ConfigError naming the option.
func ExampleNew_configError() {
	key, _ := signer.NewHMACKey("client-1", exampleSecret)
	_, err := signer.New(signer.Options{
		Keys:  signer.StaticKey(key),
		Label: strings.Repeat("a", signer.MaxLabelLength+1),
	})
	var ce *signer.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
	}

	_, err = signer.NewVerifier(signer.VerifierOptions{
		Keys: signer.StaticKey(key),
		Tag:  "orders\r\napi",
	})
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
	}

	_, err = signer.NewHMACKey(strings.Repeat("k", signer.MaxKeyIDLength+1), exampleSecret)
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
	}
	// Output:
	// option: Options.Label
	// option: VerifierOptions.Tag
	// option: keyID
}
