package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
)

// TestDoTimeoutReportsTimeout: Do returns a *url.Error "as with
// http.Client", whose Timeout method reports a timed-out call. Code written
// against net/http (urlErr.Timeout(), os.IsTimeout, errors.As to a
// net.Error) must see a timeout as one, not only errors.Is with
// context.DeadlineExceeded. A refused connection is no timeout.
func TestDoTimeoutReportsTimeout(t *testing.T) {
	srv := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	c, err := client.New(opts(loopback(),
		client.WithOrigins(srv.URL),
		client.WithMaxAttempts(1),
		client.WithoutBreaker(),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/slow", nil)
	_, err = c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caller deadline: err = %v, want a deadline", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("caller deadline: (*url.Error).Timeout() = false for %v", err)
	}
	if !os.IsTimeout(err) {
		t.Errorf("caller deadline: os.IsTimeout = false")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("caller deadline: net.Error Timeout() = false")
	}

	// Through the client's own total timeout (WithTimeout), across attempts.
	c2, err := client.New(opts(loopback(),
		client.WithOrigins(srv.URL),
		client.WithTimeout(300*time.Millisecond),
		client.WithoutBreaker(),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/slow", nil)
	_, err = c2.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ue) || !ue.Timeout() {
		t.Errorf("WithTimeout: Timeout() false or no deadline: %v", err)
	}

	// Not a timeout: a refused connection is no timeout either.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + ln.Addr().String()
	ln.Close()
	c3, err := client.New(opts(loopback(), client.WithOrigins(dead), client.WithMaxAttempts(1))...)
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	req, _ = http.NewRequest(http.MethodGet, dead+"/", nil)
	_, err = c3.Do(req)
	if err == nil || os.IsTimeout(err) {
		t.Errorf("refused connection: err = %v, os.IsTimeout = true", err)
	}
}
