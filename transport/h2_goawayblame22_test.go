package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/transport"
)

// A server that finds the first request of a new connection broke the
// protocol (a header block over its limit, sent before its SETTINGS
// arrived: RFC 9113 §6.5.2 lets the client send before it knows the
// limit) answers with a connection error, a GOAWAY whose last-stream-id
// is 0 and whose code blames the client: PROTOCOL_ERROR,
// COMPRESSION_ERROR, FRAME_SIZE_ERROR, FLOW_CONTROL_ERROR (RFC 9113 §5.4.1,
// §7); ENHANCE_YOUR_CALM says the client's load is excessive. The host
// did nothing wrong: none of these is a breaker failure, and a good call
// to the host afterwards goes through. Before, each attempt of one such
// GET was a breaker failure: one call opened the breaker
// (ConsecutiveFailures 2) for every call to the host. The stream was not
// processed, so it is still sent again within MaxAttempts: net/http
// charges the GOAWAY to the connection's first stream, which, with
// several requests started on a new connection before the server's
// SETTINGS, may be another request than the one at fault. With
// INADEQUATE_SECURITY (the connection's TLS parameters, the same on every
// connection) the error is permanent: one attempt.
func TestH2GoAwayBlamingClientIsNotHostFailure(t *testing.T) {
	for _, tc := range []struct {
		code    http2.ErrCode
		streams int32
		class   transport.Class
	}{
		{http2.ErrCodeProtocol, 3, transport.ClassNeverSent},
		{http2.ErrCodeCompression, 3, transport.ClassNeverSent},
		{http2.ErrCodeFrameSize, 3, transport.ClassNeverSent},
		{http2.ErrCodeFlowControl, 3, transport.ClassNeverSent},
		{http2.ErrCodeEnhanceYourCalm, 3, transport.ClassNeverSent},
		{http2.ErrCodeInadequateSecurity, 1, transport.ClassPermanent},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			srv, b := newBlamingH2Server(t, tc.code)
			br := newBreaker(t, b, transport.BreakerConfig{ConsecutiveFailures: 2})
			rt := newRetry(t, br, transport.RetryConfig{MaxAttempts: 3, Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})
			_, err := blameGet(t, rt, srv.url+"/big", true)
			if err == nil {
				t.Fatal("a request the server refused with a GOAWAY succeeded")
			}
			if !strings.Contains(err.Error(), tc.code.String()) {
				t.Errorf("err %v does not name %s", err, tc.code)
			}
			if errors.Is(err, transport.ErrCircuitOpen) {
				t.Errorf("err %v: one refused request opened the breaker", err)
			}
			if n := srv.streams.Load(); n != tc.streams {
				t.Errorf("%d streams, want %d", n, tc.streams)
			}
			v := transport.Classify(context.Background(), nil, err, time.Now())
			if v.Class != tc.class || v.Breaker != transport.BreakerExcluded {
				t.Errorf("Classify = %v/%v, want %v/BreakerExcluded", v.Class, v.Breaker, tc.class)
			}
			resp, err := blameGet(t, rt, srv.url+"/good", false)
			if err != nil {
				t.Fatalf("good call after the refused one: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("good call: status %d, want 204", resp.StatusCode)
			}
		})
	}
}

// newBlamingH2Server starts a raw HTTP/2 server over TLS that answers a
// request whose first header block fragment is over 4 KiB (X-Big) with a
// GOAWAY(0, code), as a server does for a block over its limit that came
// before its SETTINGS did, and closes the connection; any other request
// gets a 204. b is a Base trusting it.
func newBlamingH2Server(t *testing.T, code http2.ErrCode) (*rawH2Server, *transport.Base) {
	t.Helper()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	ts.EnableHTTP2 = true
	ts.StartTLS() // for its certificate and client configuration only
	cfg := ts.TLS.Clone()
	cfg.NextProtos = []string{"h2"}
	rootCAs := ts.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	ts.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &rawH2Server{url: "https://" + ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				context.AfterFunc(t.Context(), func() { c.Close() })
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(c, preface); err != nil {
					return
				}
				fr := http2.NewFramer(c, c)
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
						s.streams.Add(1)
						if len(f.HeaderBlockFragment()) > 4<<10 {
							// The server's SETTINGS were never sent: the
							// request came first.
							_ = fr.WriteGoAway(0, code, []byte("header block too large"))
							// Read what the client still sends (the
							// rest of the block) until it closes: a
							// close with unread data would reset the
							// connection, perhaps ahead of the GOAWAY.
							_, _ = io.Copy(io.Discard, c)
							return
						}
						_ = fr.WriteSettings()
						var buf bytes.Buffer
						enc := hpack.NewEncoder(&buf)
						_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "204"})
						_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: f.StreamID, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: true})
					}
				}
			})
		}
	})
	b, err := transport.NewBase(transport.BaseConfig{TLSConfig: &tls.Config{RootCAs: rootCAs}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	return s, b
}

func blameGet(t *testing.T, rt http.RoundTripper, u string, big bool) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if big {
		req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
	}
	return rt.RoundTrip(req)
}
