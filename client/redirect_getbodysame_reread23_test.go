package client_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport"
)

// TestRedirectGetBodyReturningTheBody: a request whose GetBody returns its
// own streamed Body (the mistake the sign, retry and auth layers refuse
// since session 23) answered 307 or 308 was followed by http.Client with
// the body GetBody gave, the one the first send had read to the end: the
// redirect's target got the PUT with an empty body (unknown length), or
// net/http failed the hop (known length). The redirect policy now refuses
// such a hop (a *transport.RedirectError saying why, ErrRedirectDenied)
// before it is sent: the target never sees the request without its body.
func TestRedirectGetBodyReturningTheBody(t *testing.T) {
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
		case "/307":
			http.Redirect(w, r, "/new", http.StatusTemporaryRedirect)
		case "/308":
			http.Redirect(w, r, "/new", http.StatusPermanentRedirect)
		}
	}))
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, path := range []string{"/307", "/308"} {
		for _, length := range []int64{-1, int64(len(payload))} {
			name := fmt.Sprintf("%s/length=%d", path, length)
			mu.Lock()
			got = nil
			mu.Unlock()
			req, _ := http.NewRequest(http.MethodPut, srv.URL+path, &stream23{strings.NewReader(payload)})
			req.ContentLength = length
			req.GetBody = func() (io.ReadCloser, error) { return req.Body, nil }
			resp, err := c.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			if !errors.Is(err, transport.ErrRedirectDenied) || !strings.Contains(err.Error(), "GetBody") {
				t.Errorf("%s: Do = %v, %v; want the hop refused (ErrRedirectDenied), naming GetBody", name, resp, err)
			}
			mu.Lock()
			if len(got) != 1 || got[0] != (seen{path, payload}) {
				t.Errorf("%s: the server received %q; want the request once, with its body, and no hop", name, got)
			}
			mu.Unlock()
		}
	}
	// A GetBody returning a fresh copy is followed as before.
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/307", strings.NewReader(payload))
	mu.Lock()
	got = nil
	mu.Unlock()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("fresh GetBody: %v", err)
	}
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[1] != (seen{"/new", payload}) {
		t.Errorf("fresh GetBody: the server received %q; want /307 then /new, with the body", got)
	}
}
