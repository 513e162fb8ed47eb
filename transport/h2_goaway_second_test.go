package transport_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// write204 answers stream id with an empty 204.
func write204(fr *http2.Framer, id uint32) {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "204"})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: true})
}

// goAwayCall sends one POST (no Idempotency-Key) through the retry layer
// to a raw HTTP/2 server whose first request stream is answered by a
// GOAWAY with code and last-stream-id lastOf(streamID), after which it
// closes the connection; later streams get a 204. It returns the call's
// outcome, the number of attempts the retry layer made and the number of
// request streams the server saw.
func goAwayCall(t *testing.T, method string, code http2.ErrCode, lastOf func(uint32) uint32) (resp *http.Response, attempts, streams int32, err error) {
	t.Helper()
	var first atomic.Bool
	srv, base := newRawH2Server(t, func(fr *http2.Framer, id uint32, c net.Conn) {
		if first.CompareAndSwap(false, true) {
			_ = fr.WriteGoAway(lastOf(id), code, nil)
			c.Close()
			return
		}
		write204(fr, id)
	})
	var n atomic.Int32
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		n.Add(1)
		return base.RoundTrip(req)
	})
	rt := newRetry(t, counted, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.url+"/orders", strings.NewReader(`{"n":1}`))
	resp, err = rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	return resp, n.Load(), srv.streams.Load(), err
}

// A GOAWAY whose last-stream-id covers the request's stream says the
// server may have acted on it (RFC 9113 §6.8); when the server then
// closes the connection, Go's transport fails the stream with a
// GoAwayError, whatever the GOAWAY's error code. That is an ambiguous
// failure: a POST without an Idempotency-Key must not be sent again (a
// duplicate payment), only a replayable request may be.
func TestH2GoAwayProcessedStreamPostNotRetried(t *testing.T) {
	for _, code := range []http2.ErrCode{http2.ErrCodeEnhanceYourCalm, http2.ErrCodeInternal, http2.ErrCodeNo} {
		t.Run(code.String(), func(t *testing.T) {
			resp, attempts, streams, err := goAwayCall(t, http.MethodPost, code, func(id uint32) uint32 { return id })
			if err == nil {
				t.Fatalf("POST the server may have processed was sent again: status %d, %d attempts, %d streams", resp.StatusCode, attempts, streams)
			}
			if !errors.Is(err, transport.ErrNotReplayable) {
				t.Errorf("err %v, want ErrNotReplayable", err)
			}
			if attempts != 1 || streams != 1 {
				t.Errorf("%d attempts, %d streams; want 1 (not retried)", attempts, streams)
			}
			if strings.Contains(err.Error(), "Transport received GOAWAY from server ErrCode") {
				t.Errorf("err %v: a processed stream failed with the unprocessed-stream error", err)
			}
		})
	}
}

// The same processed-stream failure of an idempotent GET is retried (it
// is ambiguous, not permanent).
func TestH2GoAwayProcessedStreamGetRetried(t *testing.T) {
	resp, attempts, streams, err := goAwayCall(t, http.MethodGet, http2.ErrCodeEnhanceYourCalm, func(id uint32) uint32 { return id })
	if err != nil {
		t.Fatalf("GET: %v after %d attempts", err, attempts)
	}
	if resp.StatusCode != http.StatusNoContent || attempts != 2 || streams != 2 {
		t.Errorf("status %d, %d attempts, %d streams; want 204 after 2", resp.StatusCode, attempts, streams)
	}
}

// A GOAWAY whose last-stream-id is below the request's stream says the
// server did not process it, whatever its error code: the POST is sent
// again (by net/http itself for NO_ERROR, by the retry layer for an
// error code on a connection's first stream).
func TestH2GoAwayUnprocessedStreamPostRetried(t *testing.T) {
	for _, code := range []http2.ErrCode{http2.ErrCodeEnhanceYourCalm, http2.ErrCodeInternal, http2.ErrCodeNo} {
		t.Run(code.String(), func(t *testing.T) {
			resp, attempts, streams, err := goAwayCall(t, http.MethodPost, code, func(id uint32) uint32 { return id - 1 })
			if err != nil {
				t.Fatalf("POST the server declared unprocessed: %v after %d attempts, %d streams", err, attempts, streams)
			}
			if resp.StatusCode != http.StatusNoContent || streams != 2 {
				t.Errorf("status %d, %d attempts, %d streams; want 204 on the second stream", resp.StatusCode, attempts, streams)
			}
		})
	}
}

// A stream after the first on a connection that a GOAWAY with an error
// code covers (last-stream-id >= its id) is processed as far as the
// client can tell: a POST is not sent again, even though the connection's
// first stream completed.
func TestH2GoAwayProcessedSecondStreamPostNotRetried(t *testing.T) {
	var n atomic.Int32
	srv, base := newRawH2Server(t, func(fr *http2.Framer, id uint32, c net.Conn) {
		if n.Add(1) == 2 {
			_ = fr.WriteGoAway(id, http2.ErrCodeEnhanceYourCalm, nil)
			c.Close()
			return
		}
		write204(fr, id)
	})
	var attempts atomic.Int32
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return base.RoundTrip(req)
	})
	rt := newRetry(t, counted, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
	post := func() (*http.Response, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url+"/orders", strings.NewReader(`{"n":1}`))
		return rt.RoundTrip(req)
	}
	resp, err := post()
	if err != nil {
		t.Fatalf("first POST: %v", err)
	}
	resp.Body.Close()
	attempts.Store(0)
	resp, err = post()
	if err == nil {
		resp.Body.Close()
		t.Fatalf("second POST the server may have processed was sent again (%d attempts)", attempts.Load())
	}
	if !errors.Is(err, transport.ErrNotReplayable) || attempts.Load() != 1 || srv.streams.Load() != 2 {
		t.Errorf("err %v, %d attempts, %d streams; want ErrNotReplayable after 1 attempt, 2 streams", err, attempts.Load(), srv.streams.Load())
	}
}

// A GOAWAY that covers the request's stream, followed by the stream's
// response, leaves the response to the caller: the GOAWAY fails nothing.
func TestH2GoAwayCoveringStreamThenResponse(t *testing.T) {
	srv, base := newRawH2Server(t, func(fr *http2.Framer, id uint32, c net.Conn) {
		_ = fr.WriteGoAway(id, http2.ErrCodeEnhanceYourCalm, nil)
		write204(fr, id)
	})
	var attempts atomic.Int32
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return base.RoundTrip(req)
	})
	rt := newRetry(t, counted, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url+"/orders", strings.NewReader(`{"n":1}`))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST answered after a GOAWAY covering it: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || attempts.Load() != 1 || srv.streams.Load() != 1 {
		t.Errorf("status %d, %d attempts, %d streams; want 204 after 1", resp.StatusCode, attempts.Load(), srv.streams.Load())
	}
}

// Go's HTTP/2 transport refuses a trailer over the server's
// SETTINGS_MAX_HEADER_LIST_SIZE only after the request's headers and body
// were sent: the server may have acted on the request, so the refusal is
// not the caller's invalid request (never sent) but an ambiguous failure,
// and a POST without an Idempotency-Key is not sent again.
func TestH2TrailerListTooLargeIsNotInvalidRequest(t *testing.T) {
	var served atomic.Int32
	srv, base := h2Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
	}), func(s *http.Server) { s.MaxHeaderBytes = 1 << 10 })
	var attempts atomic.Int32
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return base.RoundTrip(req)
	})
	rt := newRetry(t, counted, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
	warm, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/warm", nil)
	resp, err := rt.RoundTrip(warm)
	if err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	resp.Body.Close()
	attempts.Store(0)
	served.Store(0)

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"n":1}`))
	req.Trailer = http.Header{"X-Big": {strings.Repeat("a", 16<<10)}}
	resp, err = rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("an oversized trailer was sent (status %d)", resp.StatusCode)
	}
	if !strings.Contains(err.Error(), http2HeaderListSizeText) {
		t.Fatalf("err %v: not the transport's trailer refusal", err)
	}
	if errors.Is(err, transport.ErrInvalidRequest) {
		t.Errorf("err %v: a trailer refused after the request was sent is reported as never sent", err)
	}
	if !errors.Is(err, transport.ErrNotReplayable) || attempts.Load() != 1 {
		t.Errorf("err %v after %d attempts; want ErrNotReplayable after 1", err, attempts.Load())
	}
}

const http2HeaderListSizeText = "request header list larger than peer's advertised limit"
