package client_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/client"
)

// WithRedirectOrigins without WithOrigins (or WithEgressAllowlist): the
// egress allowlist, by default the client's origins and redirect origins,
// was the redirect origins alone, so every call to another host, which a
// client without origins may make to any https host, was refused with
// ErrEgressDenied at run time; and no redirect could lead to a redirect
// origin but from another one.
func TestRedirectOriginsWithoutOriginsRefused(t *testing.T) {
	c, err := client.New(client.WithRedirectOrigins("https://cdn.example.net"))
	if err == nil {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.com/x", nil)
		_, err := c.Do(req)
		c.Close()
		t.Fatalf("New succeeded (a call to another https host: %v), want a *ConfigError naming WithRedirectOrigins", err)
	}
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithRedirectOrigins" {
		t.Fatalf("New: %v, want a *ConfigError naming WithRedirectOrigins", err)
	}
	for _, o := range []client.Option{client.WithOrigins("https://api.example.com"), client.WithEgressAllowlist("*.example.com")} {
		c, err := client.New(client.WithRedirectOrigins("https://cdn.example.net"), o)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
}
