package signer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSignRefusesGetBodyOfAnotherLength: Sign hashes a GetBody copy of the
// body while net/http sends Request.Body, which it cuts or refuses at
// ContentLength. A GetBody that returned more or fewer bytes than the
// declared ContentLength (a file reopened after it grew, a closure over a
// buffer written to later) was signed with a Content-Digest of content
// that is not the body sent: the server got ContentLength bytes and
// refused the request (digest mismatch, 401), blaming the signature.
// Sign now refuses it (an error wrapping ErrDigestMismatch that names
// GetBody and both lengths) and sets no field; a GetBody of the declared
// length, or a body of unknown length, is signed as before.
func TestSignRefusesGetBodyOfAnotherLength(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	for _, copyBody := range []string{"hello world", "hell"} {
		req, _ := http.NewRequest("POST", "https://api.example.com/up", strings.NewReader("hello"))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(copyBody)), nil }
		err := s.Sign(context.Background(), req, t0)
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "GetBody") {
			t.Errorf("GetBody of %q for ContentLength 5: Sign = %v; want an error wrapping ErrDigestMismatch naming GetBody", copyBody, err)
		}
		if len(req.Header["Signature"]) != 0 || len(req.Header["Content-Digest"]) != 0 {
			t.Errorf("GetBody of %q: fields set: %v", copyBody, req.Header)
		}
	}
	req, _ := http.NewRequest("POST", "https://api.example.com/up", strings.NewReader("hello"))
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Errorf("GetBody of the declared length: %v", err)
	}
	req, _ = http.NewRequest("POST", "https://api.example.com/up", io.NopCloser(strings.NewReader("hello")))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("hello")), nil }
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Errorf("body of unknown length: %v", err)
	}
}

// TestSignRefusesGetBodyOfAnotherLengthCallerDigest: the same on the path
// of a Content-Digest the caller set, which Sign checks against a GetBody
// copy: a copy longer or shorter than ContentLength that the caller's
// digest matched was signed, though the body sent is ContentLength bytes
// of another content. Sign refuses it as it refuses a digest it computes.
func TestSignRefusesGetBodyOfAnotherLengthCallerDigest(t *testing.T) {
	s := mustSigner(t, Options{Keys: StaticKey(testKey(t, "k"))})
	for _, copyBody := range []string{"hello world", "hell"} {
		req, _ := http.NewRequest("POST", "https://api.example.com/up", strings.NewReader("hello"))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(copyBody)), nil }
		d, _ := ContentDigest(strings.NewReader(copyBody))
		req.Header.Set("Content-Digest", d)
		err := s.Sign(context.Background(), req, t0)
		if !errors.Is(err, ErrDigestMismatch) || !strings.Contains(err.Error(), "GetBody") {
			t.Errorf("GetBody of %q for ContentLength 5, its digest set: Sign = %v; want an error wrapping ErrDigestMismatch naming GetBody", copyBody, err)
		}
	}
	req, _ := http.NewRequest("POST", "https://api.example.com/up", strings.NewReader("hello"))
	d, _ := ContentDigest(strings.NewReader("hello"))
	req.Header.Set("Content-Digest", d)
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Errorf("the caller's digest of the declared length: %v", err)
	}
}
