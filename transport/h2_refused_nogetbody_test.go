package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A server that refuses an HTTP/2 stream (RST_STREAM REFUSED_STREAM,
// RFC 9113 §8.7) did not process it. Go's HTTP/2 transport retries such a
// stream itself only when it can make the body again; for a POST whose
// body has no GetBody it fails with a flat "cannot retry err [stream
// error: ...; REFUSED_STREAM; received from peer] after Request.Body was
// written". That request was never processed: the retry layer must stop
// with StopNotSent (the caller may send it again with a fresh body), not
// StopNotReplayable ("may have been processed", which would leave the
// caller unable to tell whether the order was placed).
func TestH2RefusedStreamWithoutGetBodyIsNotSent(t *testing.T) {
	srv, base := newRawH2Server(t, func(fr *http2.Framer, id uint32, _ net.Conn) {
		_ = fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
	})
	var attempts int
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		attempts++
		return base.RoundTrip(req)
	})
	rt := newRetry(t, counted, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url+"/orders", io.NopCloser(strings.NewReader(`{"n":1}`)))
	_, err := rt.RoundTrip(req)
	var re *transport.RetryError
	if !errors.As(err, &re) || re.Reason != transport.StopNotSent {
		t.Fatalf("err %v, want a *RetryError with Reason %q", err, transport.StopNotSent)
	}
	if errors.Is(err, transport.ErrNotReplayable) {
		t.Errorf("err %v matches ErrNotReplayable for a stream the server refused unprocessed", err)
	}
	if attempts != 1 {
		t.Errorf("%d attempts, want 1 (the body cannot be made again)", attempts)
	}
	if v := transport.Classify(context.Background(), nil, re.Last, time.Now()); v.Class != transport.ClassNeverSent {
		t.Errorf("Classify(%v) = %v, want ClassNeverSent", re.Last, v.Class)
	}
}

// Only the failures that prove the stream unprocessed make net/http's
// "cannot retry" error a never-sent one: a REFUSED_STREAM (from the peer
// or not) and the graceful GOAWAY above the stream. A PROTOCOL_ERROR from
// the peer, which net/http retries too, may follow processing; a near
// spelling is not the error.
func TestH2CannotRetryWrapperOnlyRefusalsAreNeverSent(t *testing.T) {
	wrap := func(inner string) error {
		return errors.New("http2: Transport: cannot retry err [" + inner + "] after Request.Body was written; define Request.GetBody to avoid this error")
	}
	for _, tc := range []struct {
		err  error
		want transport.Class
	}{
		{wrap("stream error: stream ID 3; REFUSED_STREAM; received from peer"), transport.ClassNeverSent},
		{wrap("stream error: stream ID 1; REFUSED_STREAM"), transport.ClassNeverSent},
		{wrap("http2: Transport received Server's graceful shutdown GOAWAY"), transport.ClassNeverSent},
		{&netErrWrap{wrap("stream error: stream ID 5; REFUSED_STREAM; received from peer")}, transport.ClassNeverSent},
		{wrap("stream error: stream ID 3; PROTOCOL_ERROR; received from peer"), transport.ClassAmbiguous},
		{wrap("stream error: stream ID ; REFUSED_STREAM"), transport.ClassAmbiguous},
		{wrap("stream error: stream ID 3; REFUSED_STREAM; something else"), transport.ClassAmbiguous},
		{errors.New("http2: Transport: cannot retry err [stream error: stream ID 3; REFUSED_STREAM] after something"), transport.ClassAmbiguous},
		{errors.New("stream error: stream ID 3; REFUSED_STREAM"), transport.ClassAmbiguous},
	} {
		if v := transport.Classify(context.Background(), nil, tc.err, time.Now()); v.Class != tc.want {
			t.Errorf("Classify(%q) = %v, want %v", tc.err, v.Class, tc.want)
		}
	}
}

// netErrWrap wraps an error as url.Error or a layer's error would.
type netErrWrap struct{ err error }

func (e *netErrWrap) Error() string {
	return "Post \"https://api.example.com/orders\": " + e.err.Error()
}
func (e *netErrWrap) Unwrap() error { return e.err }
