package transport_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// h2Server starts an HTTP/2 TLS test server for h and returns it with an
// HTTP/2-only clone of its client transport.
func h2Server(t *testing.T, h http.Handler, tune func(*http.Server)) (*httptest.Server, *http.Transport) {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	if tune != nil {
		tune(srv.Config)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	base := srv.Client().Transport.(*http.Transport).Clone()
	base.ForceAttemptHTTP2 = true
	base.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs, NextProtos: []string{"h2"}}
	t.Cleanup(base.CloseIdleConnections)
	return srv, base
}

// Go's HTTP/2 transport refuses, before sending anything, a request whose
// header list is larger than the limit the server advertised
// (SETTINGS_MAX_HEADER_LIST_SIZE, RFC 9113 §6.5.2). That is the caller's
// oversized request, as the server's 431 would say: it must not be
// retried (every attempt fails the same way, at once) and must not count
// against the host's breaker, or a few calls with a large header would
// open it for every good call to the host.
func TestH2HeaderListTooLargeIsInvalidRequest(t *testing.T) {
	var served atomic.Int32
	srv, base := h2Server(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }),
		func(s *http.Server) { s.MaxHeaderBytes = 1 << 10 })
	var attempts atomic.Int32
	counted := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		attempts.Add(1)
		return base.RoundTrip(req)
	})
	br := newBreaker(t, counted, transport.BreakerConfig{ConsecutiveFailures: 2})
	rt := newRetry(t, br, transport.RetryConfig{Backoff: resFixedBackoff(time.Millisecond), Budget: transport.BudgetConfig{Disabled: true}})

	get := func(path string, big bool) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+path, nil)
		if big {
			req.Header.Set("X-Big", strings.Repeat("a", 16<<10))
		}
		return rt.RoundTrip(req)
	}
	// A first call, so the client has the server's SETTINGS.
	resp, err := get("/warm", false)
	if err != nil {
		t.Fatalf("warm-up: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("proto %s, want HTTP/2", resp.Proto)
	}
	for i := range 3 {
		attempts.Store(0)
		resp, err := get("/big", true)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("call %d: an oversized header list was sent (status %d)", i, resp.StatusCode)
		}
		if !errors.Is(err, transport.ErrInvalidRequest) {
			t.Errorf("call %d: err %v, want ErrInvalidRequest", i, err)
		}
		if n := attempts.Load(); n != 1 {
			t.Errorf("call %d: %d attempts, want 1 (not retried)", i, n)
		}
	}
	resp, err = get("/good", false)
	if err != nil {
		t.Fatalf("good call after the oversized ones: %v (the breaker counted them)", err)
	}
	resp.Body.Close()
	if n := served.Load(); n != 2 {
		t.Errorf("server saw %d requests, want 2 (warm-up and good)", n)
	}
}

// rawH2Server is a minimal HTTP/2 server over TLS: it answers the client's
// preface with its SETTINGS and calls onHeaders for every request stream
// it reads, counting them in streams.
type rawH2Server struct {
	url     string
	streams atomic.Int32
}

func newRawH2Server(t *testing.T, onHeaders func(fr *http2.Framer, streamID uint32, conn net.Conn)) (*rawH2Server, *http.Transport) {
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
				if err := fr.WriteSettings(); err != nil {
					return
				}
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
						onHeaders(fr, f.StreamID, c)
					}
				}
			})
		}
	})
	base := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{RootCAs: rootCAs, NextProtos: []string{"h2"}}}
	t.Cleanup(base.CloseIdleConnections)
	return s, base
}

// A GOAWAY whose last-stream-id is below a request's stream tells the
// client the server did not process that request and will not (RFC 9113
// §6.8: "can be safely retried"). Go's HTTP/2 transport retries such a
// stream itself, except the first stream of a connection when the GOAWAY
// carries an error code: it fails it ("http2: Transport received GOAWAY
// from server ErrCode:..."), leaving the retry to the caller. The retry
// layer must retry it whatever the method, as it does a REFUSED_STREAM:
// a POST that an overloaded server turned away unprocessed is not lost.
func TestH2GoAwayBeforeProcessingRetriesPost(t *testing.T) {
	var first atomic.Bool
	srv, base := newRawH2Server(t, func(fr *http2.Framer, id uint32, c net.Conn) {
		if first.CompareAndSwap(false, true) {
			_ = fr.WriteGoAway(0, http2.ErrCodeEnhanceYourCalm, nil)
			c.Close()
			return
		}
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		_ = enc.WriteField(hpack.HeaderField{Name: ":status", Value: "204"})
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: buf.Bytes(), EndHeaders: true, EndStream: true})
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
		t.Fatalf("POST turned away unprocessed by GOAWAY: %v after %d attempts (want it retried)", err, attempts.Load())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || attempts.Load() != 2 || srv.streams.Load() != 2 {
		t.Errorf("status %d after %d attempts, %d streams; want 204 after 2", resp.StatusCode, attempts.Load(), srv.streams.Load())
	}
}
