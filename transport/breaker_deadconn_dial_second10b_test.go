package transport_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"syscall"
	"testing"

	"github.com/securecall/securecall/transport"
)

// redialBase stands for net/http resending a request its connection could
// not take (HTTP/2: a GOAWAY the stream was above, a connection no longer
// usable; HTTP/1.1: an idle connection the server had closed): GotConn
// reported conn, then the new dial failed, and RoundTrip returns the dial
// error.
type redialBase struct{ conn net.Conn }

func (b redialBase) RoundTrip(req *http.Request) (*http.Response, error) {
	if tr := httptrace.ContextClientTrace(req.Context()); tr != nil && tr.GotConn != nil {
		tr.GotConn(httptrace.GotConnInfo{Conn: b.conn, Reused: true})
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

// A failed dial is not the death of the connection an attempt was on
// before net/http dialed again: each attempt's failed dial counts, even
// when both attempts' streams had been on one connection.
func TestBreakerFailedRedialsCountEach(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	br := newBreaker(t, redialBase{conn: c}, transport.BreakerConfig{ConsecutiveFailures: -1, MinRequests: 2, FailureRatio: 0.5})
	rt := newRetry(t, br, transport.RetryConfig{MaxAttempts: 1, Budget: transport.BudgetConfig{Disabled: true}})
	for i := range 2 {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://api.example/", nil)
		if _, err := rt.RoundTrip(req); err == nil || errorsIsOpen(err) {
			t.Fatalf("call %d: err = %v, want the dial error", i, err)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://api.example/", nil)
	if _, err := rt.RoundTrip(req); !errorsIsOpen(err) {
		t.Fatalf("after 2 failed dials in 2 attempts: err = %v, want the breaker open (each failed dial counted)", err)
	}
}

func errorsIsOpen(err error) bool { return errors.Is(err, transport.ErrCircuitOpen) }
