package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport/transporttest"
)

// connCounter counts a server's open connections through its ConnState
// hook.
type connCounter struct {
	mu   sync.Mutex
	open map[net.Conn]bool
	seen int
}

func (c *connCounter) hook(conn net.Conn, s http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch s {
	case http.StateNew:
		c.open[conn] = true
		c.seen++
	case http.StateClosed, http.StateHijacked:
		delete(c.open, conn)
	}
}

func (c *connCounter) counts() (open, seen int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open), c.seen
}

// newConnCountingServer starts a TLS server speaking HTTP/2 (h2) or only
// HTTP/1.1, with the package's test certificate, and counts its
// connections.
func newConnCountingServer(t *testing.T, h2 bool, h http.Handler) (*httptest.Server, *connCounter) {
	t.Helper()
	_, leaf := testPKI()
	cc := &connCounter{open: map[net.Conn]bool{}}
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = h2
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	srv.Config.ErrorLog = quietLog()
	srv.Config.ConnState = cc.hook
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, cc
}

var errCallLayer = errors.New("call layer refused the response")

// After Close, once every call that was in flight has ended (its body
// closed, or the call failed), no connection of the client's base
// transport is left open: not an HTTP/2 connection that carried the call,
// nor an HTTP/1.1 one that a redirect hop sent after Close put back in the
// pool. Each case holds a call in flight across Close; the server must see
// every connection closed well before the 90 s idle timeout.
func TestCloseClosesConnectionsOfCallsInFlight(t *testing.T) {
	for _, proto := range []struct {
		name string
		h2   bool
	}{{"HTTP1", false}, {"HTTP2", true}} {
		for _, traced := range []bool{false, true} {
			for _, sc := range []string{"body", "redirect", "error"} {
				name := proto.name + "/" + sc
				if traced {
					name += "/traced"
				}
				t.Run(name, func(t *testing.T) {
					testCloseInFlight(t, proto.h2, traced, sc)
				})
			}
		}
	}
}

func testCloseInFlight(t *testing.T, h2, traced bool, scenario string) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv, conns := newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hold": // headers now, the body once released
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			arrived <- struct{}{}
			<-release
			io.WriteString(w, "ok")
		case "/slow": // a redirect once released
			arrived <- struct{}{}
			<-release
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
		default:
			io.WriteString(w, "ok")
		}
	}))
	o := opts(loopback(), client.WithOrigins(srv.URL),
		client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
			return failOn("/fail", next), nil
		}))
	if traced {
		o = append(o, client.WithTracerProvider(sdktrace.NewTracerProvider()))
	}
	c, err := client.New(o...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	var path string
	switch scenario {
	case "body":
		path = "/hold"
	case "redirect":
		path = "/slow?to=/done"
	case "error":
		path = "/slow?to=/fail"
	}
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		resp, err := c.Do(req)
		done <- result{resp, err}
	}()
	<-arrived
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	res := <-done
	switch {
	case scenario == "error":
		if !errors.Is(res.err, errCallLayer) {
			t.Fatalf("call = %v; want the call layer's error", res.err)
		}
	case res.err != nil:
		t.Fatalf("call in flight: %v", res.err)
	default:
		b, err := io.ReadAll(res.resp.Body)
		if string(b) != "ok" || err != nil {
			t.Fatalf("read %q, %v", b, err)
		}
		if wantProto := map[bool]int{false: 1, true: 2}[h2]; res.resp.ProtoMajor != wantProto {
			t.Fatalf("response over HTTP/%d, want HTTP/%d", res.resp.ProtoMajor, wantProto)
		}
		res.resp.Body.Close()
	}
	waitConnsClosed(t, conns)
}

// waitConnsClosed waits until the server has seen every connection
// closed: far sooner than the 90 s idle timeout, which only closing the
// connection achieves.
func waitConnsClosed(t *testing.T, conns *connCounter) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		open, seen := conns.counts()
		if open == 0 {
			if seen == 0 {
				t.Fatal("the server saw no connection")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d connections still open after Close and the end of the call", open, seen)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// failOn returns a call layer that fails a call to path after reading its
// response to the end (its connection goes back to the pool).
func failOn(path string, next http.RoundTripper) http.RoundTripper {
	return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil || req.URL.Path != path {
			return resp, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, errCallLayer
	})
}

// A token request outlives the call that started it when the caller stops
// waiting: it ends after the call, and after Close. Its connection is
// closed then too, not left in the pool until the idle timeout.
func TestCloseClosesConnectionOfTokenRequestInFlight(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "HTTP1", true: "HTTP2"}[h2], func(t *testing.T) {
			arrived := make(chan struct{}, 1)
			release := make(chan struct{})
			served := make(chan struct{})
			srv, conns := newConnCountingServer(t, h2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/token" {
					io.WriteString(w, "ok")
					return
				}
				arrived <- struct{}{}
				<-release
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
				close(served)
			}))
			c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL),
				client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
					TokenURL: srv.URL + "/token",
					ClientID: "id",
					Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("secret"))),
				}))...)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api", nil)
				resp, err := c.Do(req)
				if resp != nil {
					resp.Body.Close()
				}
				done <- err
			}()
			<-arrived
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			cancel() // the caller stops waiting; the token request goes on
			if err := <-done; err == nil {
				t.Fatal("call succeeded; want its cancellation")
			}
			close(release)
			<-served
			waitConnsClosed(t, conns)
		})
	}
}

// Over HTTP/2, a response without a body (END_STREAM on its headers) to a
// request with one can reach the caller before net/http has removed the
// stream from its connection; the call has then ended, but the connection
// is not idle yet. It must still be closed once the stream is gone, not
// left open until the idle timeout. A race, so the case runs many times.
func TestCloseClosesHTTP2ConnectionOfBodilessResponse(t *testing.T) {
	for i := range 20 {
		arrived := make(chan struct{}, 1)
		release := make(chan struct{})
		srv, conns := newConnCountingServer(t, true, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-release
			w.WriteHeader(http.StatusNoContent)
		}))
		c, err := client.New(opts(loopback(), client.WithOrigins(srv.URL))...)
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			resp *http.Response
			err  error
		}
		done := make(chan result, 1)
		go func() {
			body := strings.Repeat("x", 4096)
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/items", strings.NewReader(body))
			resp, err := c.Do(req)
			done <- result{resp, err}
		}()
		<-arrived
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		close(release)
		res := <-done
		if res.err != nil {
			t.Fatalf("run %d: %v", i, res.err)
		}
		if res.resp.ProtoMajor != 2 || res.resp.StatusCode != http.StatusNoContent {
			t.Fatalf("run %d: %s over HTTP/%d, want 204 over HTTP/2", i, res.resp.Status, res.resp.ProtoMajor)
		}
		res.resp.Body.Close()
		waitConnsClosed(t, conns)
		srv.Close()
	}
}
