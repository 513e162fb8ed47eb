package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// TestSlotFreedWhenBodysCallEnds: with MaxConcurrent 1, a response body
// its caller never closes holds the host's only slot while its call's
// context lives (the body is still readable), and gives it back once that
// context ends (net/http has then aborted the body): a later call gets the
// slot. Closing the body afterwards gives no second slot back.
func TestSlotFreedWhenBodysCallEnds(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "h1", true: "h2"}[h2], func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			var sent atomic.Int32
			srv, _ := bodyServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sent.Add(1)
				w.WriteHeader(200)
				_, _ = w.Write([]byte("partial"))
				w.(http.Flusher).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
				}
			}))
			c, _ := bodyClient(t, srv.URL, 30*time.Second)

			// refused: a call that must find the slot taken. Its own short
			// deadline ends its wait for the slot.
			refused := func(path string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				resp, err := c.Do(mustReq(t, http.MethodGet, srv.URL+path).WithContext(ctx))
				if err == nil {
					resp.Body.Close()
					t.Fatalf("%s: got the slot while a body with a live call held it", path)
				}
				if !errors.Is(err, transport.ErrRateLimited) && !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("%s: %v, want a wait for the slot that ran out", path, err)
				}
			}

			ctx1, cancel1 := context.WithCancel(context.Background())
			defer cancel1()
			first, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/first").WithContext(ctx1))
			if err != nil {
				t.Fatal(err)
			}
			defer first.Body.Close()
			buf := make([]byte, len("partial"))
			if _, err := io.ReadFull(first.Body, buf); err != nil {
				t.Fatalf("first body: %v", err)
			}
			// The body is readable, its call alive: the slot stays taken.
			refused("/early")

			cancel1() // the first call ends, its body never closed
			if _, err := first.Body.Read(buf); err == nil {
				t.Fatal("the first body is still readable after its call's context ended")
			}
			second, err := c.Do(mustReq(t, http.MethodGet, srv.URL+"/second"))
			if err != nil {
				t.Fatalf("second call: %v (the first body's ended call still holds the slot)", err)
			}
			defer second.Body.Close()
			if n := sent.Load(); n != 2 {
				t.Fatalf("%d requests reached the server, want 2", n)
			}

			// Closing the first body now gives no second slot back: the
			// second body (its call alive) still holds the only one.
			first.Body.Close()
			refused("/third")
			if n := sent.Load(); n != 2 {
				t.Fatalf("%d requests reached the server, want 2", n)
			}
		})
	}
}
