package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
)

// TestClosedClientRefusesFollowUpBuiltFromRedirectedResponse: after Close,
// a request through HTTPClient or Transport fails with ErrClosed and
// nothing is sent; only the redirect hops of a call in flight go ahead. A
// follow-up call built from the response of a call that was redirected
// (resp.Request.Clone, a next page) carries req.Response (Clone copies it)
// and is no redirect hop: it is refused too.
func TestClosedClientRefusesFollowUpBuiltFromRedirectedResponse(t *testing.T) {
	srv := newRecordingServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/old" {
			http.Redirect(w, r, "/new", http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	})
	c, err := client.New(client.WithOrigins(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	hc, rt := c.HTTPClient(), c.Transport()
	resp, err := hc.Get(srv.URL + "/old")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.Request.Response == nil {
		t.Fatal("resp.Request of a redirected call has no Response: nothing to check")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	before := len(srv.requests())
	for name, send := range map[string]func(*http.Request) (*http.Response, error){
		"HTTPClient": hc.Do,
		"Transport":  rt.RoundTrip,
	} {
		next := resp.Request.Clone(context.Background())
		r, err := send(next)
		if err == nil {
			r.Body.Close()
		}
		if !errors.Is(err, client.ErrClosed) {
			t.Errorf("%s: follow-up after Close: err = %v, want ErrClosed", name, err)
		}
	}
	if n := len(srv.requests()) - before; n != 0 {
		t.Errorf("server got %d requests after Close, want 0", n)
	}
}
