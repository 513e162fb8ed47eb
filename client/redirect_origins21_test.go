package client_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
)

// A plain-http redirect origin beside https origins only: a redirect from
// an https origin to it is a downgrade, always refused, so it could never
// be a redirect target; what it did was open plain http to that origin
// for direct calls (the egress allowlist took it with its scheme, and
// EgressConfig.AllowHTTP was set for it). Plain http is opened by an http
// origin of the client's own (WithOrigins, meant for loopback tests);
// beside one, an http redirect origin is reachable by an http-to-http hop
// and accepted.
func TestPlainHTTPRedirectOriginNeedsHTTPOrigin(t *testing.T) {
	plain := newRecordingServer(t, false, nil)
	c, err := client.New(opts(loopback(),
		client.WithOrigins("https://api.example.com"),
		client.WithRedirectOrigins(plain.URL),
	)...)
	if err == nil {
		// What the configuration did: a direct call over plain http to
		// the redirect origin went out.
		req, _ := http.NewRequest(http.MethodGet, plain.URL+"/direct", nil)
		if resp, err := c.Do(req); err == nil {
			resp.Body.Close()
		}
		c.Close()
		t.Fatalf("New succeeded (the redirect origin received %d direct plain-http requests), want a *ConfigError naming WithRedirectOrigins", len(plain.requests()))
	}
	var ce *client.ConfigError
	if !errors.As(err, &ce) || ce.Option != "WithRedirectOrigins" || !strings.Contains(err.Error(), "WithOrigins") {
		t.Fatalf("New: %v, want a *ConfigError naming WithRedirectOrigins and WithOrigins", err)
	}
	if n := len(plain.requests()); n != 0 {
		t.Errorf("redirect origin received %d requests", n)
	}

	// Beside an http origin of the client's own, accepted.
	c, err = client.New(opts(loopback(),
		client.WithOrigins("https://api.example.com", "http://127.0.0.1:1"),
		client.WithRedirectOrigins(plain.URL),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}
