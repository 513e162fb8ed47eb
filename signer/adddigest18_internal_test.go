package signer

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"testing"
)

// rewindBody is a request body GetBody hands out again without allocating:
// the allocations counted are addDigest's own.
type rewindBody struct{ *bytes.Reader }

func (rewindBody) Close() error { return nil }

// TestAddDigestAllocs: addDigest sets Content-Digest with one allocation,
// the field's value and the []string that holds it together
// (newFieldValues), for both algorithms;
// the digest it encodes is summed into the pooled copy buffer, free once
// the body has been streamed through the hash (an array on the stack
// escapes through hash.Hash.Sum: 64 B more per signed body). The value is
// still the body's digest.
func TestAddDigestAllocs(t *testing.T) {
	content := bytes.Repeat([]byte("securecall "), 100)
	for _, alg := range []DigestAlgorithm{DigestSHA256, DigestSHA512} {
		s := &Signer{digest: alg}
		body := rewindBody{bytes.NewReader(content)}
		req := &http.Request{
			Method: http.MethodPost,
			URL:    &url.URL{Scheme: "https", Host: "api.example.test", Path: "/"},
			Header: http.Header{"Content-Digest": nil}, // the map has its slot: setting it does not grow it
			GetBody: func() (io.ReadCloser, error) {
				body.Reset(content)
				return body, nil
			},
		}
		if err := s.addDigest(req); err != nil {
			t.Fatal(err)
		}
		want, err := ContentDigest(bytes.NewReader(content), alg)
		if err != nil {
			t.Fatal(err)
		}
		if got := req.Header["Content-Digest"]; len(got) != 1 || got[0] != want {
			t.Fatalf("%s: Content-Digest %q, want [%q]", alg, got, want)
		}
		if raceEnabled {
			continue // the race detector allocates on its own
		}
		if n := testing.AllocsPerRun(100, func() { _ = s.addDigest(req) }); n > 1 {
			t.Errorf("%s: addDigest made %v allocations, want at most 1 (the value with its []string)", alg, n)
		}
	}
}
