package transport_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
)

// A server that accepts the TCP connection but never completes the TLS
// handshake (an overloaded TLS terminator) fails the attempt with
// net/http's "TLS handshake timeout": no byte of the request was written,
// yet the error was classified ambiguous, so a POST was reported as
// maybe processed and not sent again. It is never sent, like a dial
// failure (and, like one, a failure of the host for its breaker).
func TestTLSHandshakeTimeoutIsNeverSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	b, err := transport.NewBase(transport.BaseConfig{TLSHandshakeTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.CloseIdleConnections)
	inner := &countingRT{next: b}
	rt, err := transport.NewRetry(inner, transport.RetryConfig{MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "https://"+ln.Addr().String()+"/", strings.NewReader("payment"))
	if _, err := rt.RoundTrip(req); err == nil {
		t.Fatal("the call succeeded")
	}
	errs := inner.attempts()
	v := transport.Classify(context.Background(), nil, errs[0], time.Now())
	if v.Class != transport.ClassNeverSent || v.Breaker != transport.BreakerFailure {
		t.Errorf("%v classified %+v, want never_sent, a breaker failure", errs[0], v)
	}
	if len(errs) != 3 {
		t.Errorf("%d attempts of a POST never sent, want 3: %v", len(errs), errs)
	}
}
