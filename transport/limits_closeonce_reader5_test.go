package transport_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// onceBody is a body of a transport of the caller's own (a WithBaseTransport,
// a stack built by hand) that counts its Closes: io.Closer leaves a second
// Close undefined, and many bodies (a pooled buffer's, one closing a
// channel) do not take it.
type onceBody struct {
	io.Reader
	closes atomic.Int32
}

func (b *onceBody) Close() error {
	if b.closes.Add(1) > 1 {
		return errors.New("body closed twice")
	}
	return nil
}

type onceBodyRT struct{ body *onceBody }

func (rt onceBodyRT) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		ContentLength: -1, Body: rt.body, Request: req}, nil
}

// TestLimitedBodyClosesInnerBodyOnce: since ad39562 the limits layer closes
// the body below it when a read goes past MaxBodyBytes; the caller's own
// Close, which every caller makes, must not close it a second time.
func TestLimitedBodyClosesInnerBodyOnce(t *testing.T) {
	body := &onceBody{Reader: strings.NewReader(strings.Repeat("x", 100))}
	rt, err := transport.NewLimits(onceBodyRT{body}, transport.LimitsConfig{MaxBodyBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, transport.ErrResponseTooLarge) {
		t.Fatalf("read err = %v, want ErrResponseTooLarge", err)
	}
	if n := body.closes.Load(); n != 1 {
		t.Fatalf("inner body closed %d times at the too-large read, want 1", n)
	}
	if err := resp.Body.Close(); err != nil {
		t.Errorf("caller's Close = %v", err)
	}
	if n := body.closes.Load(); n != 1 {
		t.Errorf("inner body closed %d times after the caller's Close, want 1", n)
	}
}

// TestLimitedBodyCloseRacingRead: a caller closing the body on one
// goroutine while another reads it past the limit (-race).
func TestLimitedBodyCloseRacingRead(t *testing.T) {
	for range 200 {
		body := &onceBody{Reader: strings.NewReader(strings.Repeat("x", 100))}
		rt, err := transport.NewLimits(onceBodyRT{body}, transport.LimitsConfig{MaxBodyBytes: 10})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { io.ReadAll(resp.Body) })
		wg.Go(func() { resp.Body.Close() })
		wg.Wait()
		if n := body.closes.Load(); n != 1 {
			t.Fatalf("inner body closed %d times, want 1", n)
		}
	}
}
