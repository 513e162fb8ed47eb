package client_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/client"
)

// Close promises that later calls fail with ErrClosed; a caller that got
// its *http.Client or RoundTripper from the accessors must not keep
// sending through a client whose connection pool, certificate watcher and
// inventory are gone (it would open connections nothing closes any more).
// The request body is closed as on any error.
func TestAccessorsRefuseCallsAfterClose(t *testing.T) {
	srv := newRecordingServer(t, true, nil)
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	hc, rt := c.HTTPClient(), c.Transport() // taken before Close, as a service would
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/rt", body)
	if resp, err := rt.RoundTrip(req); !errors.Is(err, client.ErrClosed) || resp != nil {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("Transport().RoundTrip after Close = %v, %v; want ErrClosed", resp, err)
	}
	if !body.closed {
		t.Error("Transport(): request body not closed")
	}
	body = &closeRecorder{Reader: strings.NewReader("x")}
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/hc", body)
	if resp, err := hc.Do(req); !errors.Is(err, client.ErrClosed) || resp != nil {
		if resp != nil {
			resp.Body.Close()
		}
		t.Errorf("HTTPClient().Do after Close = %v, %v; want ErrClosed", resp, err)
	}
	if !body.closed {
		t.Error("HTTPClient(): request body not closed")
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("%d requests reached the server after Close", n)
	}
}

// Calls in flight when Close is called complete normally, the redirect
// hops they follow after it included.
func TestCloseLetsCallsInFlightComplete(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 3)
	srv := newRecordingServer(t, true, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			arrived <- struct{}{}
			<-release
			http.Redirect(w, r, "/done", http.StatusFound)
			return
		}
		io.WriteString(w, "ok")
	})
	c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/slow", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Errorf("call in flight: %v", err)
				return
			}
			defer resp.Body.Close()
			if b, err := io.ReadAll(resp.Body); string(b) != "ok" || err != nil {
				t.Errorf("call in flight read %q, %v", b, err)
			}
		})
	}
	for range 3 {
		<-arrived
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
}

// A RoundTripper is handed requests by code other than http.Client
// (httputil.ReverseProxy, generated clients); like http.Transport, the
// stack answers one without a URL with an error, not a panic.
func TestTransportRefusesRequestWithoutURL(t *testing.T) {
	c, err := client.New()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req := &http.Request{Method: http.MethodPost, Header: http.Header{}, Body: body}
	var resp *http.Response
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("RoundTrip panicked: %v", r)
			}
		}()
		resp, err = c.Transport().RoundTrip(req)
	}()
	if err == nil || resp != nil {
		t.Fatalf("RoundTrip without URL = %v, %v; want an error", resp, err)
	}
	if !body.closed {
		t.Error("request body not closed")
	}
}
