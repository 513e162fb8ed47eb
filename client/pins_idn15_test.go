package client_test

import (
	"testing"

	"github.com/securecall/securecall/client"
)

// TestPinsIDNHostAccepted: a pin set for the Unicode form of an origin's
// internationalised name ("bücher.example.test" for the origin
// "https://bücher.example.test") is the same host as the origin, which
// the client keeps in punycode; New refused it as a host the client can
// never connect to.
func TestPinsIDNHostAccepted(t *testing.T) {
	for _, tc := range []struct{ origin, pin string }{
		{"https://bücher.example.test", "bücher.example.test"},
		{"https://xn--bcher-kva.example.test", "BÜCHER.example.test."},
		{"https://bücher.example.test", "xn--bcher-kva.example.test"},
		{"https://a.bücher.example.test", "*.bücher.example.test"},
	} {
		c, err := client.New(client.WithOrigins(tc.origin), client.WithPins(pinSet(t, tc.pin)))
		if err != nil {
			t.Fatalf("origin %s, pins for %q: %v", tc.origin, tc.pin, err)
		}
		c.Close()
	}
}
