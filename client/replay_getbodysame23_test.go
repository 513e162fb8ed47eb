package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestResendGetBodyReturningTheBody: a request whose GetBody returns its
// own streamed Body (a common mistake) was re-sent by the retry layer
// after a 503, and by the auth layer after a 401, with that body, which
// the first send had read to the end: the server got the request again
// with an empty body (unknown length), or net/http failed the re-send
// (known length). The layers now take such a "copy" for none: the retry
// stops with a *RetryError (StopBody) wrapping signer.ErrBodyNotReplayable
// and the 503 kept in it, the 401 is returned as it is; the server sees
// the request once, with its body.
func TestResendGetBodyReturningTheBody(t *testing.T) {
	const payload = `{"a":1}`
	type seen struct{ path, body string }
	var mu sync.Mutex
	var got []seen
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.URL.Path, string(b)})
		mu.Unlock()
		switch r.URL.Path {
		case "/busy":
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/auth":
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	var n int
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		mu.Lock()
		defer mu.Unlock()
		n++
		return tokens.NewToken(fmt.Sprintf("tok-%d", n), "Bearer", time.Now().Add(time.Hour)), nil
	})
	rc := transport.StandardPreset()
	rc.Retry.BaseDelay = time.Millisecond
	rc.Retry.MaxDelay = time.Millisecond
	for _, path := range []string{"/busy", "/auth"} {
		// A client each: the 503s count against the breaker.
		c, err := client.New(opts(loopback(),
			client.WithOrigins(srv.URL),
			client.WithTokenSource(src),
			client.WithResilience(rc),
		)...)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, length := range []int64{-1, int64(len(payload))} {
			name := fmt.Sprintf("%s/length=%d", path, length)
			mu.Lock()
			got = nil
			mu.Unlock()
			req, _ := http.NewRequest(http.MethodPut, srv.URL+path, &stream23{strings.NewReader(payload)})
			req.ContentLength = length
			req.GetBody = func() (io.ReadCloser, error) { return req.Body, nil }
			resp, err := c.Do(req)
			switch path {
			case "/busy":
				var re *transport.RetryError
				if !errors.As(err, &re) || re.Reason != transport.StopBody || re.Status != http.StatusServiceUnavailable || !errors.Is(err, signer.ErrBodyNotReplayable) {
					if err == nil {
						resp.Body.Close()
					}
					t.Errorf("%s: Do = %v, %v; want a *RetryError (request_body, status 503) wrapping signer.ErrBodyNotReplayable", name, resp, err)
				}
			case "/auth":
				if err != nil {
					t.Errorf("%s: Do = %v; want the server's 401", name, err)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s: status %d; want the server's 401", name, resp.StatusCode)
				}
			}
			mu.Lock()
			if len(got) != 1 || got[0].body != payload {
				t.Errorf("%s: the server received %q; want the request once, with its body", name, got)
			}
			mu.Unlock()
		}
	}
}
