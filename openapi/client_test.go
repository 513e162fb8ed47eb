package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
)

// stubUpstream answers like the orders API, counting what reaches it.
type stubUpstream struct{ calls atomic.Int32 }

func (s *stubUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	s.calls.Add(1)
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{StatusCode: http.StatusCreated, Status: "201 Created", Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// TestThroughClient: the validator plugs into a securecall client with
// client.WithCallLayer; an invalid request never reaches the upstream and
// is not retried, a valid one goes through.
func TestThroughClient(t *testing.T) {
	up := &stubUpstream{}
	c, err := client.New(
		client.WithOrigins("https://orders.example.test"),
		client.WithBaseTransport(up),
		client.WithCallLayer(func(next http.RoundTripper) (http.RoundTripper, error) {
			return openapi.New(next, openapi.Config{Spec: []byte(exampleSpec)})
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	send := func(body string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodPost, "https://orders.example.test/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return c.Do(req)
	}
	if _, err := send(`{"sku":"A-1","quantity":0}`); !errors.Is(err, transport.ErrSchemaViolation) {
		t.Fatalf("invalid request: err = %v, want ErrSchemaViolation", err)
	}
	if n := up.calls.Load(); n != 0 {
		t.Fatalf("invalid request reached the upstream %d times", n)
	}
	resp, err := send(`{"sku":"A-1","quantity":2}`)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || up.calls.Load() != 1 {
		t.Fatalf("valid request: status %d, upstream calls %d", resp.StatusCode, up.calls.Load())
	}
	if _, err := client.New(client.WithCallLayer(nil)); err == nil {
		t.Error("WithCallLayer(nil) accepted")
	}
}
