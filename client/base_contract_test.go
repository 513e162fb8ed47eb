package client_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestDoBaseTransportReturnsNothing: a WithBaseTransport that breaks the
// http.RoundTripper contract by returning neither a response nor an error
// must not crash the caller's goroutine in a layer of the stack (the
// retry layer guards against it, but the layers below it read the
// response first): Do returns an error.
func TestDoBaseTransportReturnsNothing(t *testing.T) {
	calls := 0
	rt := transporttest.RoundTripperFunc(func(*http.Request) (*http.Response, error) {
		calls++
		return nil, nil
	})
	c, err := client.New(client.WithBaseTransport(rt), client.WithOrigins("https://api.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
	var resp *http.Response
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Do panicked: %v", r)
			}
		}()
		resp, err = c.Do(req)
	}()
	if resp != nil || err == nil {
		t.Fatalf("resp %v, err %v: want an error", resp, err)
	}
	if calls == 0 {
		t.Error("the base transport was never called")
	}
}

// closeCounter counts Close calls on a request body.
type closeCounter struct {
	io.Reader
	n *atomic.Int32
}

func (c closeCounter) Close() error { c.n.Add(1); return nil }

// TestDoBaseTransportReturnsNothingClosesBody: the attempt's body handed
// to a base transport that returns neither a response nor an error was
// never closed (a file left open, a pipe's writer blocked): the guard
// closes it, as a transport that fails must.
func TestDoBaseTransportReturnsNothingClosesBody(t *testing.T) {
	var closed atomic.Int32
	rt := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		req.Body = closeCounter{Reader: req.Body, n: &closed}
		return nil, nil
	})
	c, err := client.New(client.WithBaseTransport(rt), client.WithOrigins("https://api.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1", strings.NewReader("payload"))
	resp, err := c.Do(req)
	if resp != nil || err == nil {
		t.Fatalf("resp %v, err %v: want an error", resp, err)
	}
	if n := closed.Load(); n == 0 {
		t.Error("the body given to the base transport was never closed")
	}
}
