package transport_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestThrottleSlotFreedAtBodyEOF: a body read to its end and never closed
// (a common caller bug; net/http itself counts a body read to io.EOF as
// done) gives its host's slot back at the io.EOF: with MaxConcurrent 1 and
// context.Background() (no context end to free it), a second call gets
// through instead of waiting MaxWait and failing. Over the test responder
// and over net/http to a real server.
func TestThrottleSlotFreedAtBodyEOF(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	for name, tc := range map[string]struct {
		next http.RoundTripper
		url  string
	}{
		"responder": {transporttest.NewResponder(transporttest.Respond(200, "ok")), "https://api.example.com/"},
		"net/http":  {srv.Client().Transport, srv.URL},
	} {
		t.Run(name, func(t *testing.T) {
			rt := newThrottle(t, tc.next, transport.ThrottleConfig{
				Limit:           transport.HostLimit{MaxConcurrent: 1},
				MaxWait:         50 * time.Millisecond,
				DisableAdaptive: true,
			})
			for i := range 3 {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, tc.url, nil)
				resp, err := rt.RoundTrip(req)
				if err != nil {
					t.Fatalf("call %d: %v (the slot of a body read to EOF was kept)", i, err)
				}
				b, err := io.ReadAll(resp.Body) // never closed
				if err != nil || string(b) != "ok" {
					t.Fatalf("call %d: body %q, %v", i, b, err)
				}
			}
		})
	}
}

// TestThrottleSlotFreedAtBodyReadError: a read error other than io.EOF
// (here net/http's io.ErrUnexpectedEOF for a connection closed before the
// declared length) ends the body as net/http counts it (it does not reuse
// the connection): the slot is given back at the error, not kept until a
// Close that may never come.
func TestThrottleSlotFreedAtBodyReadError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
		_ = rw.Flush()
	}))
	defer srv.Close()
	rt := newThrottle(t, srv.Client().Transport, transport.ThrottleConfig{
		Limit:           transport.HostLimit{MaxConcurrent: 1},
		MaxWait:         50 * time.Millisecond,
		DisableAdaptive: true,
	})
	for i := range 3 {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("call %d: %v (the slot of a body that failed was kept)", i, err)
		}
		if _, err := io.ReadAll(resp.Body); !errors.Is(err, io.ErrUnexpectedEOF) { // never closed
			t.Fatalf("call %d: read error %v, want io.ErrUnexpectedEOF", i, err)
		}
	}
}

// TestThrottleSlotFreedOnceEOFRacingCloseAndCtxEnd: a body's slot is given
// back exactly once whichever of its io.EOF, its Close and the end of its
// call's context come, in any order or at once: 32 goroutines each make
// 40 calls under a cap of 4, each body ending by a mix of the three (or
// by io.EOF alone, under context.Background(); or with a context ended
// during the call, whose end frees the slot while RoundTrip returns);
// afterwards the cap still
// lets exactly 4 requests in (a slot given back twice would let a fifth
// in, one lost would refuse one of the four).
func TestThrottleSlotFreedOnceEOFRacingCloseAndCtxEnd(t *testing.T) {
	const slots, workers, calls = 4, 32, 40
	next := transporttest.NewResponder(transporttest.Respond(200, "ok"))
	// A request carrying a cancel func has its context ended by the
	// transport once answered, before the throttle hands out its body.
	type cancelKey struct{}
	endsCtx := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if cancel, ok := req.Context().Value(cancelKey{}).(func()); ok {
			cancel()
		}
		return resp, err
	})
	rt := newThrottle(t, endsCtx, transport.ThrottleConfig{
		Limit:           transport.HostLimit{MaxConcurrent: slots},
		MaxWait:         20 * time.Second, // a lost slot fails a call here, or the final count
		DisableAdaptive: true,
	})
	get := func(ctx context.Context) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/", nil)
		return rt.RoundTrip(req)
	}
	errs := make(chan error, workers*calls)
	var all sync.WaitGroup
	for w := range workers {
		all.Go(func() {
			for i := range calls {
				mode := (w + i) % 7
				ctx, cancel := context.Background(), func() {}
				if mode != 0 {
					ctx, cancel = context.WithCancel(context.Background())
				}
				if mode >= 5 {
					// Ended in the call: the context's end frees the slot
					// while RoundTrip is still returning the body.
					ctx = context.WithValue(ctx, cancelKey{}, cancel)
				}
				resp, err := get(ctx)
				if err != nil {
					cancel()
					errs <- err
					return
				}
				read := func() { _, _ = io.Copy(io.Discard, resp.Body) }
				closeBody := func() { resp.Body.Close() }
				var wg sync.WaitGroup
				switch mode {
				case 0: // io.EOF alone
					read()
				case 1: // io.EOF racing Close
					wg.Go(read)
					wg.Go(closeBody)
				case 2: // io.EOF racing the context's end
					wg.Go(read)
					wg.Go(cancel)
				case 3: // all three at once
					wg.Go(read)
					wg.Go(closeBody)
					wg.Go(cancel)
				case 4: // io.EOF, then Close, then the context's end
					read()
					closeBody()
					cancel()
					read()
				case 5: // the context's end (in the call) alone
				case 6: // the context's end (in the call), racing io.EOF and Close
					wg.Go(read)
					wg.Go(closeBody)
				}
				wg.Wait()
				cancel()
			}
		})
	}
	all.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a call failed during the races: %v (a slot was lost)", err)
	}
	// Exactly slots requests now hold a slot each (bodies left unread
	// and open, under context.Background()); one more, its context
	// already canceled so that it does not wait for a slot, is not sent:
	// the transport's count tells.
	for i := range slots {
		resp, err := get(context.Background())
		if err != nil {
			t.Fatalf("slot %d after the races: %v (a slot was lost)", i, err)
		}
		defer resp.Body.Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	resp, err := get(ctx)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("request %d got a slot: a body's slot was given back twice", slots+1)
	}
	if !errors.Is(err, transport.ErrRateLimited) && !errors.Is(err, context.Canceled) {
		t.Fatalf("request %d: %v", slots+1, err)
	}
	if n, want := next.Calls(), workers*calls+slots; n != want {
		t.Errorf("transport called %d times, want %d", n, want)
	}
}

// switchedConnBody is a 101 Switching Protocols body: a connection the caller reads
// and writes.
type switchedConnBody struct {
	io.Reader
	closed bool
}

func (b *switchedConnBody) Write(p []byte) (int, error) { return len(p), nil }
func (b *switchedConnBody) Close() error                { b.closed = true; return nil }

// TestThrottleSlotHeldAfterSwitchingProtocolsEOF: a 101 Switching
// Protocols body whose read side ended (the server half-closed) is still a
// connection the caller may write to: its slot is kept until Close, not
// given back at io.EOF as an ordinary body's.
func TestThrottleSlotHeldAfterSwitchingProtocolsEOF(t *testing.T) {
	calls := 0
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		calls++
		return &http.Response{StatusCode: http.StatusSwitchingProtocols, Header: http.Header{}, Body: &switchedConnBody{Reader: new(bytes.Reader)}, Request: req}, nil
	})
	rt := newThrottle(t, next, transport.ThrottleConfig{Limit: transport.HostLimit{MaxConcurrent: 1}, DisableAdaptive: true})
	get := func(ctx context.Context) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/", nil)
		return rt.RoundTrip(req)
	}
	resp, err := get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.(io.Writer).Write([]byte("still mine")); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel() // does not wait for the slot
	if r, err := get(canceled); err == nil {
		r.Body.Close()
		t.Fatal("a second request got the slot of a 101 body read to EOF but not closed")
	}
	resp.Body.Close()
	r, err := get(canceled)
	if err != nil {
		t.Fatalf("after Close: %v (the 101 body's slot was kept)", err)
	}
	r.Body.Close()
	if calls != 2 {
		t.Errorf("transport called %d times, want 2", calls)
	}
}
