package signer

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestSignContentDigestSFBSKey: a Signer told to cover content-digest as
// FieldSF, FieldBS or FieldKey of its Digest algorithm adds Content-Digest
// for a body as it does for Field("content-digest"), checks one the caller
// set, and the request verifies. A ;key= naming the other supported
// algorithm, which the digest it adds would not have, is a *ConfigError.
func TestSignContentDigestSFBSKey(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	k := testKey(t, "k1")
	for _, cd := range []Component{FieldSF("content-digest"), FieldBS("content-digest"),
		FieldKey("content-digest", "sha-256")} {
		t.Run(cd.String(), func(t *testing.T) {
			s := mustSigner(t, Options{Keys: StaticKey(k),
				Components: []Component{Method, Authority, Path, Query, cd}})
			req, _ := http.NewRequest("POST", "https://example.com/orders", strings.NewReader(`{"a":1}`))
			if err := s.Sign(context.Background(), req, now); err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if req.Header.Get("Content-Digest") == "" {
				t.Fatal("no Content-Digest added")
			}
			ks, _ := NewKeySet(nil, k)
			v, err := NewVerifier(VerifierOptions{Keys: ks})
			if err != nil {
				t.Fatal(err)
			}
			body, _ := req.GetBody()
			in := &http.Request{Method: req.Method, URL: req.URL, Host: req.URL.Host, Header: req.Header,
				Body: body, ContentLength: req.ContentLength, RequestURI: "/orders"}
			if _, err := v.Verify(in, now); err != nil {
				t.Fatalf("Verify: %v", err)
			}

			// A Content-Digest of other content is not signed.
			req, _ = http.NewRequest("POST", "https://example.com/orders", strings.NewReader(`{"a":1}`))
			req.Header.Set("Content-Digest", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:")
			if err := s.Sign(context.Background(), req, now); !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("Sign with a wrong Content-Digest: %v, want ErrDigestMismatch", err)
			}
		})
	}
	_, err := New(Options{Keys: StaticKey(k), Components: []Component{Method, FieldKey("content-digest", "sha-512")}})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Option != "Options.Components[1]" {
		t.Fatalf("New with content-digest;key=\"sha-512\" and a sha-256 Digest: %v, want a *ConfigError naming Options.Components[1]", err)
	}
	if _, err := New(Options{Keys: StaticKey(k), Digest: DigestSHA512,
		Components: []Component{Method, FieldKey("content-digest", "sha-512")}}); err != nil {
		t.Fatalf("New with content-digest;key=\"sha-512\" and a sha-512 Digest: %v", err)
	}
}
