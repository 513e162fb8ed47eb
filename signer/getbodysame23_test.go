package signer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSignRefusesGetBodyReturningTheBody: a GetBody returning the
// request's own Body (req.GetBody = func() (io.ReadCloser, error) {
// return req.Body, nil }, a common mistake for a streamed body) gave Sign
// no fresh copy but the body itself, which it read to the end to compute
// Content-Digest (or to check the caller's): the request then went out
// with an empty body (net/http failing one of known length, sending one
// of unknown length empty, under a digest of the content the server then
// refused). Sign now refuses it before reading anything, with an error
// wrapping ErrBodyNotReplayable that names GetBody, and the body is left
// whole.
func TestSignRefusesGetBodyReturningTheBody(t *testing.T) {
	k := testKey(t, "k")
	s := mustSigner(t, Options{Keys: StaticKey(k)})
	const payload = `{"n":1}`
	want, _ := ContentDigest(strings.NewReader(payload))
	for _, tc := range []struct {
		name   string
		length int64
		digest string
	}{
		{"unknown length", 0, ""},
		{"known length", int64(len(payload)), ""},
		{"caller's digest", int64(len(payload)), want},
	} {
		req, err := http.NewRequest("POST", "https://api.example.com/orders", io.NopCloser(strings.NewReader(payload)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = tc.length
		req.GetBody = func() (io.ReadCloser, error) { return req.Body, nil }
		if tc.digest != "" {
			req.Header.Set("Content-Digest", tc.digest)
		}
		err = s.Sign(context.Background(), req, t0)
		if !errors.Is(err, ErrBodyNotReplayable) || !strings.Contains(err.Error(), "GetBody") {
			t.Errorf("%s: Sign = %v; want an error wrapping ErrBodyNotReplayable naming GetBody", tc.name, err)
		}
		if b, _ := io.ReadAll(req.Body); string(b) != payload {
			t.Errorf("%s: the body left to send is %q; want %q", tc.name, b, payload)
		}
	}

	// A GetBody returning a nil body and no error: refused, not a panic.
	req, _ := http.NewRequest("POST", "https://api.example.com/orders", io.NopCloser(strings.NewReader(payload)))
	req.GetBody = func() (io.ReadCloser, error) { return nil, nil }
	if err := s.Sign(context.Background(), req, t0); !errors.Is(err, ErrBodyNotReplayable) {
		t.Errorf("nil copy: Sign = %v; want ErrBodyNotReplayable", err)
	}

	// Fresh copies of a type that cannot be compared (a struct holding a
	// slice): signed, the comparison does not panic.
	req, _ = http.NewRequest("POST", "https://api.example.com/orders", sliceBody23{p: []byte(payload), r: strings.NewReader(payload)})
	req.ContentLength = int64(len(payload))
	req.GetBody = func() (io.ReadCloser, error) {
		return sliceBody23{p: []byte(payload), r: strings.NewReader(payload)}, nil
	}
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Errorf("uncomparable fresh copies: Sign = %v", err)
	} else if got := req.Header.Get("Content-Digest"); got != want {
		t.Errorf("uncomparable fresh copies: Content-Digest %q; want %q", got, want)
	}

	// A GetBody returning a fresh copy each time is signed as before.
	req, _ = http.NewRequest("POST", "https://api.example.com/orders", strings.NewReader(payload))
	if err := s.Sign(context.Background(), req, t0); err != nil {
		t.Fatalf("fresh copies: Sign = %v", err)
	}
	if b, _ := io.ReadAll(req.Body); string(b) != payload {
		t.Errorf("fresh copies: body %q", b)
	}
}

// sliceBody23 is a body whose type cannot be compared.
type sliceBody23 struct {
	p []byte
	r *strings.Reader
}

func (b sliceBody23) Read(p []byte) (int, error) { return b.r.Read(p) }
func (sliceBody23) Close() error                 { return nil }
