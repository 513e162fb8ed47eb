package transport_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// NewTotalTimeout under an http.Client that follows redirects: every hop
// ran under a new total from its own start, so a chain of redirects of
// 1.5 s each under a 2 s total ran for 10 hops. A hop keeps its call's
// deadline; a new call (no hop) gets its own.
func TestTotalTimeoutHopKeepsCallDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			n := sent.Add(1)
			select {
			case <-time.After(1500 * time.Millisecond):
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
			h := http.Header{"Location": {"/hop" + strconv.Itoa(int(n))}}
			return &http.Response{StatusCode: http.StatusFound, Header: h, Body: http.NoBody, Request: r}, nil
		})
		rt, err := transport.NewTotalTimeout(next, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: rt}
		for call := range 2 { // the second call gets a deadline of its own
			sent.Store(0)
			resp, err := hc.Get("https://api.example.test/v1")
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("call %d: err = %v, want context.DeadlineExceeded", call, err)
			}
			if n := sent.Load(); n != 2 {
				t.Errorf("call %d: %d hops sent, want 2 (the second cut at the call's 2 s)", call, n)
			}
		}
	})
}

// A hop that starts once its call's deadline has passed (a CheckRedirect
// that took its time) is not sent, even through a transport that never
// looks at the context: the call fails with context.DeadlineExceeded.
func TestTotalTimeoutHopAfterDeadlineNotSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		next := transporttest.RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			time.Sleep(1500 * time.Millisecond) // deaf to the context
			return &http.Response{StatusCode: http.StatusFound, Header: http.Header{"Location": {"/next"}}, Body: http.NoBody, Request: r}, nil
		})
		rt, err := transport.NewTotalTimeout(next, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: rt, CheckRedirect: func(_ *http.Request, via []*http.Request) error {
			if len(via) > 3 {
				return http.ErrUseLastResponse
			}
			time.Sleep(time.Second)
			return nil
		}}
		resp, err := hc.Get("https://api.example.test/v1")
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
		if n := sent.Load(); n != 1 {
			t.Errorf("%d requests sent, want 1 (the hop starts at 2.5 s, past the call's 2 s)", n)
		}
	})
}
