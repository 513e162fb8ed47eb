package client_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
)

// stream23 is a streamed body (not one the stack knows to be in memory,
// so the breaker layer watches it through a wrapper of its own).
type stream23 struct{ r io.Reader }

func (s *stream23) Read(p []byte) (int, error) { return s.r.Read(p) }
func (s *stream23) Close() error               { return nil }

// TestSignedRequestGetBodyReturningTheBody: through a client.New stack, a
// request whose GetBody returns its own streamed Body had that body read
// to the end by the sign layer's Content-Digest, and went out without
// it (one of unknown length sent empty under the digest of the content,
// one of known length failed by net/http): the signer's check for a
// GetBody returning the request's Body did not see it behind the breaker
// layer's wrapper of the body. The call now fails before anything is
// sent with an error wrapping signer.ErrBodyNotReplayable, and the
// server never sees the request.
func TestSignedRequestGetBodyReturningTheBody(t *testing.T) {
	keys := hmacKeys(t)
	v, err := signer.NewVerifier(signer.VerifierOptions{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	var got atomic.Int32 // requests that reached the server, verified or not
	verified := v.Middleware(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		verified.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL), client.WithHMACSigning(keys))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const payload = `{"a":1}`
	// The last with a declared trailer, whose body a second wrapper holds.
	for i, length := range []int64{-1, int64(len(payload)), -1} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/items", &stream23{strings.NewReader(payload)})
		req.ContentLength = length
		if i == 2 {
			req.Trailer = http.Header{"X-Checksum": nil}
		}
		req.GetBody = func() (io.ReadCloser, error) { return req.Body, nil }
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Errorf("length %d: Do = %s; want an error wrapping signer.ErrBodyNotReplayable", length, resp.Status)
			continue
		}
		if !errors.Is(err, signer.ErrBodyNotReplayable) {
			t.Errorf("length %d: Do = %v; want an error wrapping signer.ErrBodyNotReplayable", length, err)
		}
	}
	if n := got.Load(); n != 0 {
		t.Errorf("the server received %d requests; want none sent", n)
	}
}
