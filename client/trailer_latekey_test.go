package client_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
)

// lateKeyBody is a request body that, at EOF, fills its request's
// declared trailer field and also adds a field that was never declared
// (one the checks made before sending never saw).
type lateKeyBody struct {
	r   io.Reader
	req *http.Request
}

func (b *lateKeyBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.req.Trailer.Set("X-Sum", "filled")
		b.req.Trailer.Set("Authorization", "Bearer CANARY-late")
	}
	return n, err
}

func (b *lateKeyBody) Close() error { return nil }

// TestLateTrailerKeyNeverSent: over plain http, a trailer key the caller's
// body adds while it is read (after the credential check saw the declared
// keys) is not sent; the values of the declared keys filled meanwhile are.
func TestLateTrailerKeyNeverSent(t *testing.T) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, r.Trailer.Clone())
		mu.Unlock()
	}))
	defer srv.Close()
	c, err := client.New(client.WithOrigins(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/x", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Body = &lateKeyBody{r: strings.NewReader("payload"), req: req}
	req.ContentLength = -1 // chunked: HTTP/1.1 sends the trailer
	req.Trailer = http.Header{"X-Sum": nil}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(got))
	}
	for i, tr := range got {
		if v := tr.Get("X-Sum"); v != "filled" {
			t.Errorf("attempt %d: declared trailer X-Sum = %q, want %q", i, v, "filled")
		}
		for k, vs := range tr {
			for _, v := range vs {
				if strings.Contains(v, "CANARY") {
					t.Errorf("attempt %d: server received undeclared trailer %s: %q over plain http", i, k, v)
				}
			}
		}
	}
}
