package client_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/client"
)

// Set-Cookie2 (RFC 2965, obsolete but still sent by some servers) carries
// the session cookie as Set-Cookie does; the built-in credential headers
// had Cookie2, its request-side companion that carries no cookie, but not
// Set-Cookie2, so WithVisibleHeaders("Set-Cookie2") was accepted and the
// session cookie copied into http.response.header.set-cookie2.
func TestVisibleHeadersRefuseSetCookie2(t *testing.T) {
	for _, name := range []string{"Set-Cookie2", "set-cookie2"} {
		c, err := client.New(client.WithVisibleHeaders(name))
		var ce *client.ConfigError
		if !errors.As(err, &ce) || ce.Option != "WithVisibleHeaders" {
			if c != nil {
				c.Close()
			}
			t.Errorf("WithVisibleHeaders(%q): err = %v, want a ConfigError naming WithVisibleHeaders", name, err)
		}
	}
}
