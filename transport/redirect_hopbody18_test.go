package transport_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// hopBodyCounter is a request body that counts its Closes.
type hopBodyCounter struct {
	io.Reader
	mu     sync.Mutex
	closes int
}

func (c *hopBodyCounter) Close() error {
	c.mu.Lock()
	c.closes++
	c.mu.Unlock()
	return nil
}

// TestRedirectRefusedHopBodyClosedOnce: the body http.Client gets from
// GetBody for a 307 hop the policy refuses is closed exactly once.
// http.Client closes the hop's body itself when CheckRedirect fails; Check
// closed it too, so a body whose Close is not idempotent (one that hands
// a buffer back to a pool, say) was closed twice.
func TestRedirectRefusedHopBodyClosedOnce(t *testing.T) {
	own, err := transport.ParseOrigins("https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, location string }{
		{"foreign origin", "https://evil.example.net/x"},
		{"downgrade", "http://api.example.com/x"},
		{"too many", "https://api.example.com/again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &transport.RedirectPolicy{Origins: own, MaxRedirects: 2}
			hc := &http.Client{
				CheckRedirect: p.Check,
				Transport: transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					if req.Body != nil {
						_, _ = io.Copy(io.Discard, req.Body)
						req.Body.Close()
					}
					return &http.Response{
						StatusCode: http.StatusTemporaryRedirect, Header: http.Header{"Location": {tc.location}},
						Body: http.NoBody, Request: req,
					}, nil
				}),
			}
			var mu sync.Mutex
			var bodies []*hopBodyCounter
			newBody := func() *hopBodyCounter {
				b := &hopBodyCounter{Reader: strings.NewReader("payload")}
				mu.Lock()
				bodies = append(bodies, b)
				mu.Unlock()
				return b
			}
			req, err := http.NewRequest(http.MethodPut, "https://api.example.com/a", newBody())
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = int64(len("payload"))
			req.GetBody = func() (io.ReadCloser, error) { return newBody(), nil }
			resp, err := hc.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("redirect followed, want it refused")
			}
			last := bodies[len(bodies)-1]
			last.mu.Lock()
			defer last.mu.Unlock()
			if last.closes != 1 {
				t.Errorf("refused hop's body (GetBody #%d) closed %d times, want 1 (%v)", len(bodies)-1, last.closes, err)
			}
		})
	}
}
