//lint:file-ignore SA1019 the subject is a caller's base built on golang.org/x/net/http2's Transport, deprecated in favour of net/http's but still in use

package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// pipeH2 is a raw HTTP/2 server reached over net.Pipe, so that it runs
// inside a synctest bubble: net/http's own HTTP/2 resends wait 1 s, 2 s,
// 4 s... between tries (63 s in all), which the bubble's clock skips.
// Every connection answers the preface with settings (a SETTINGS frame
// with those values) and calls onHeaders for each request stream, with
// the connection's index (from 0) and the header block's size; streams
// counts the streams read, conns the connections dialed.
type pipeH2 struct {
	streams, conns atomic.Int32

	mu    sync.Mutex
	pipes []net.Conn // the client ends of every connection dialed
}

// closeAll closes every connection dialed, whatever state the HTTP/2
// transport left it in: the goroutines serving and reading it end, as a
// synctest bubble needs before it returns. (CloseIdleConnections leaves a
// connection whose last stream the transport has not yet put away.)
func (s *pipeH2) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.pipes {
		c.Close()
	}
}

// pipeH2Cert returns the certificate of an httptest TLS server and a pool
// that trusts it (for the name "example.com").
func pipeH2Cert(t *testing.T) ([]tls.Certificate, *x509.CertPool) {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.StartTLS()
	defer ts.Close()
	return ts.TLS.Certificates, ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
}

// base returns an HTTP/2 transport of golang.org/x/net/http2 (a base a
// caller may give a layer used on its own) whose every dial reaches s.
// Call it inside the bubble.
func (s *pipeH2) base(certs []tls.Certificate, roots *x509.CertPool, settings []http2.Setting,
	onHeaders func(fr *http2.Framer, conn int32, streamID uint32, blockLen int, hangUp func())) *http2.Transport {
	serve := func(c net.Conn, idx int32) {
		defer c.Close()
		sc := tls.Server(c, &tls.Config{Certificates: certs, NextProtos: []string{"h2"}})
		preface := make([]byte, len(http2.ClientPreface))
		if _, err := io.ReadFull(sc, preface); err != nil {
			return
		}
		// Writes go through a queue, so that the server never blocks
		// writing to the pipe while the client blocks writing to it.
		q := make(chan []byte, 64)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for b := range q {
				if b == nil {
					c.Close()
					return
				}
				if _, err := sc.Write(b); err != nil {
					return
				}
			}
		}()
		defer func() { close(q); <-done }()
		fr := http2.NewFramer(queueWriter(q), sc)
		if err := fr.WriteSettings(settings...); err != nil {
			return
		}
		var id uint32
		var block int
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					_ = fr.WriteSettingsAck()
				}
			case *http2.HeadersFrame:
				id, block = f.StreamID, len(f.HeaderBlockFragment())
				if f.HeadersEnded() {
					s.streams.Add(1)
					onHeaders(fr, idx, id, block, func() { q <- nil })
				}
			case *http2.ContinuationFrame:
				block += len(f.HeaderBlockFragment())
				if f.HeadersEnded() {
					s.streams.Add(1)
					onHeaders(fr, idx, id, block, func() { q <- nil })
				}
			}
		}
	}
	return &http2.Transport{
		DialTLSContext: func(ctx context.Context, _, _ string, _ *tls.Config) (net.Conn, error) {
			cc, sc := net.Pipe()
			s.mu.Lock()
			s.pipes = append(s.pipes, cc)
			s.mu.Unlock()
			go serve(sc, s.conns.Add(1)-1)
			tc := tls.Client(cc, &tls.Config{RootCAs: roots, ServerName: "example.com", NextProtos: []string{"h2"}})
			if err := tc.HandshakeContext(ctx); err != nil {
				cc.Close()
				return nil, err
			}
			return tc, nil
		},
	}
}

// queueWriter hands each write, copied, to a channel.
type queueWriter chan []byte

func (q queueWriter) Write(p []byte) (int, error) {
	q <- bytes.Clone(p)
	return len(p), nil
}

// writeStatus answers stream id with an empty response of the given status.
func writeStatus(fr *http2.Framer, id uint32, status string) {
	var buf bytes.Buffer
	_ = hpack.NewEncoder(&buf).WriteField(hpack.HeaderField{Name: ":status", Value: status})
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: true})
}

// A graceful GOAWAY (NO_ERROR) whose last-stream-id is below a request's
// stream says the server did not process it (RFC 9113 §6.8). An HTTP/2
// transport of golang.org/x/net/http2 as the base resends such a stream
// itself, over a new connection, up to seven times more in all (1 s, 2 s, 4 s...
// apart); when every try is turned away so (a server draining, a rolling
// restart), it gives up with its own flat error, "http2: Transport
// received Server's graceful shutdown GOAWAY", which says no more and no
// less than the GOAWAY did: nothing was processed. (net/http's Transport
// resends it without end, dialing again each time, so its error never
// reaches the layer.) The retry
// layer must retry it whatever the method, as it does a REFUSED_STREAM
// and the "cannot retry" wrapping of this very error: before the fix it
// was an unknown error, ambiguous, and a POST was given up after its
// first attempt as possibly processed.
func TestH2GracefulGoAwayAfterBaseResendsIsNeverSent(t *testing.T) {
	certs, roots := pipeH2Cert(t)
	synctest.Test(t, func(t *testing.T) {
		var s pipeH2
		base := s.base(certs, roots, nil, func(fr *http2.Framer, conn int32, id uint32, _ int, _ func()) {
			if conn < 8 { // every try of net/http's first round trip
				_ = fr.WriteGoAway(0, http2.ErrCodeNo, nil) // the client closes the connection
				return
			}
			writeStatus(fr, id, "201")
		})
		defer s.closeAll()
		defer base.CloseIdleConnections()
		var attempts atomic.Int32
		var firstErr error
		counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			attempts.Add(1)
			resp, err := base.RoundTrip(req)
			if attempts.Load() == 1 {
				firstErr = err
			}
			return resp, err
		})
		rt := newRetry(t, counted, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "https://example.com/orders", strings.NewReader(`{"n":1}`))
		resp, err := rt.RoundTrip(req)
		if firstErr == nil || !strings.Contains(firstErr.Error(), "graceful shutdown GOAWAY") {
			t.Fatalf("first attempt's error %v, want the HTTP/2 transport's graceful GOAWAY error (setup)", firstErr)
		}
		if v := transport.Classify(context.Background(), nil, firstErr, time.Now()); v.Class != transport.ClassNeverSent {
			t.Errorf("Classify(%q) = %v, want never_sent", firstErr, v.Class)
		}
		if err != nil {
			t.Fatalf("POST turned away unprocessed by graceful GOAWAYs: %v after %d attempts (want it retried)", err, attempts.Load())
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || attempts.Load() != 2 || s.streams.Load() != 9 {
			t.Errorf("status %d after %d attempts, %d streams; want 201 after 2 attempts, 9 streams", resp.StatusCode, attempts.Load(), s.streams.Load())
		}
	})
}
