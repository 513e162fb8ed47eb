package client_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// An OAuth2 HTTPClient without a Transport of its own
// (&http.Client{Timeout: ...}, set for its timeout) sends the client
// secret through http.DefaultTransport. A package of the process that made
// that global skip verification (the "TLSClientConfig =
// &tls.Config{InsecureSkipVerify: true}" workaround) made the token
// requests skip it too, so the secret went to whoever answered, while the
// same HTTPClient with that transport set explicitly is refused and the
// client's own base transport resets what it takes from the global. New
// checks the transport the HTTPClient will use, the global one included.
func TestWithOAuth2ClientCredentialsChecksTheDefaultTransport(t *testing.T) {
	dt, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		t.Skip("http.DefaultTransport is not an *http.Transport")
	}
	var secretSeen atomic.Int32
	// A token endpoint with a certificate nobody trusts (httptest's own).
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); ok && pw == "s3cret" {
			secretSeen.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"t","token_type":"Bearer","expires_in":3600}`)
	}))
	srv.Config.ErrorLog = quietLog()
	t.Cleanup(srv.Close)
	api := newTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	prev := dt.TLSClientConfig
	dt.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	t.Cleanup(func() {
		dt.CloseIdleConnections()
		dt.TLSClientConfig = prev
	})

	cfg := tokens.OAuth2Config{
		TokenURL:   srv.URL,
		ClientID:   "id",
		Auth:       tokens.ClientSecretBasic(tokens.StaticSecret([]byte("s3cret"))),
		HTTPClient: &http.Client{Timeout: 10 * time.Second},
	}
	c, err := client.New(opts(loopback(), client.WithOrigins(api.URL), client.WithOAuth2ClientCredentials(cfg), client.WithMaxAttempts(1))...)
	if err == nil {
		defer c.Close()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL, nil)
		resp, derr := c.Do(req)
		if derr == nil {
			resp.Body.Close()
		}
		t.Fatalf("New accepted an HTTPClient over an http.DefaultTransport that skips verification; a call (%v) sent the client secret %d time(s) to a server with an untrusted certificate",
			derr, secretSeen.Load())
	}
	ce, ok := errors.AsType[*client.ConfigError](err)
	if !ok || ce.Option != "WithOAuth2ClientCredentials" || !errors.Is(err, client.ErrInsecureTLS) {
		t.Fatalf("New: %v, want a *ConfigError naming WithOAuth2ClientCredentials that matches ErrInsecureTLS", err)
	}

	// The same HTTPClient over a verifying global is accepted.
	dt.TLSClientConfig = prev
	c, err = client.New(opts(loopback(), client.WithOrigins(api.URL), client.WithOAuth2ClientCredentials(cfg))...)
	if err != nil {
		t.Fatalf("New over a verifying http.DefaultTransport: %v", err)
	}
	c.Close()
}
