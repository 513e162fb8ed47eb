package client_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
)

// waitConns polls a connCounter until no connection is open, for up to 15 s
// (the idle timeout is 90 s).
func waitConns(t *testing.T, name string, cc *connCounter) {
	t.Helper()
	var open, seen int
	for range 1500 {
		if open, seen = cc.counts(); open == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%s: %d of %d connections still open after Close", name, open, seen)
}

// TestCloseClosesBaseTransportIdleConnections: Close closes the
// idle connections of a WithBaseTransport that has CloseIdleConnections,
// as each call ending after Close already does: a client closed with no
// call in flight left its pooled connection open until the idle timeout.
func TestCloseClosesBaseTransportIdleConnections(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("h2=%v", h2), func(t *testing.T) {
			srv, conns := newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}))
			ca, _ := testPKI()
			tr := &http.Transport{TLSClientConfig: testpkiTrust(ca), ForceAttemptHTTP2: h2}
			c, err := client.New(client.WithOrigins(srv.URL), client.WithBaseTransport(tr))
			if err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if open, _ := conns.counts(); open != 1 {
				t.Fatalf("%d connections open before Close, want 1", open)
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			waitConns(t, "server", conns)
		})
	}
}
