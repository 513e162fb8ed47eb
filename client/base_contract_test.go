package client_test

import (
	"net/http"
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
