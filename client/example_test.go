package client_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/internal/testpki"
	"github.com/securecall/securecall/transport"
)

// Bad configuration fails in New, naming the option.
func ExampleNew_configError() {
	_, err := client.New(client.WithTLSConfig(&tls.Config{InsecureSkipVerify: true}))
	var ce *client.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
		fmt.Println("insecure:", errors.Is(err, client.ErrInsecureTLS))
	}
	// Output:
	// option: WithTLSConfig
	// insecure: true
}

// A client bound to one HTTPS API: pinned, retried, traced, guarded.
func ExampleClient_Do() {
	// An embedded HTTPS API with its own CA (offline).
	ca, _ := testpki.NewCA("example")
	leaf, _ := ca.Server("127.0.0.1")
	var calls int
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLS}}
	api.StartTLS()
	defer api.Close()
	backup, _ := testpki.RandomPin()

	c, err := client.New(
		client.WithOrigins(api.URL),
		client.WithTLSConfig(&tls.Config{RootCAs: testpki.Pool(ca)}),
		client.WithPins(transport.PinSet{Host: "127.0.0.1", Pins: []string{testpki.Pin(leaf.Cert), backup}}),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	req, _ := http.NewRequest(http.MethodGet, api.URL+"/v1/status", nil)
	resp, err := c.Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, string(body), "attempts:", transport.Attempts(resp))
	// Output:
	// 200 OK {"ok":true} attempts: 2
}

// Requests to hosts outside the client's origins never leave the process.
func ExampleWithOrigins_egress() {
	c, err := client.New(
		client.WithOrigins("https://api.example.com"),
		client.WithAllowedNetworks(netip.MustParsePrefix("10.0.0.0/8")),
	)
	if err != nil {
		fmt.Println(err) // a *client.ConfigError naming the option
		return
	}
	defer c.Close()
	req, err := http.NewRequest(http.MethodGet, "https://169.254.169.254/latest/meta-data/", nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	fmt.Println(errors.Is(err, client.ErrEgressDenied))
	// Output:
	// true
}

// The HTTP/2 health check: a PING after 10 s without a frame from the
// server, a connection whose server went silent closed when it goes
// unanswered. A negative duration fails in New.
func ExampleWithHTTP2ReadIdleTimeout() {
	c, err := client.New(
		client.WithOrigins("https://api.example.com"),
		client.WithHTTP2ReadIdleTimeout(10*time.Second),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	_, err = client.New(client.WithHTTP2ReadIdleTimeout(-time.Second))
	var ce *client.ConfigError
	if errors.As(err, &ce) {
		fmt.Println("option:", ce.Option)
	}
	// Output:
	// option: WithHTTP2ReadIdleTimeout
}
