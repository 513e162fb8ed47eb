package client_test

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// TestRedactedErrorsKeepTheirTypes: when the token endpoint cannot be
// reached, the error of Do holds the token endpoint's *url.Error, whose
// URL is redacted. The typed errors around it (*transport.RetryError,
// *transport.AuthError, *tokens.RefreshError) must stay reachable with errors.As, as the error
// model promises ("structs for data, extracted with errors.As"), and the
// query secret of the token URL must not reach the message.
func TestRedactedErrorsKeepTheirTypes(t *testing.T) {
	const canary = "CANARY-tokurl-31"
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	c, err := client.New(opts(loopback(),
		client.WithOrigins("https://api.example.test"),
		client.WithBaseTransport(http.DefaultTransport),
		client.WithOAuth2ClientCredentials(tokens.OAuth2Config{
			TokenURL: "http://" + dead + "/token?tenant=" + canary,
			ClientID: "id",
			Auth:     tokens.ClientSecretBasic(tokens.StaticSecret([]byte("secret-secret-secret"))),
		}),
	)[2:]...) // no TLS options: they cannot go with WithBaseTransport
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
	resp, err := c.Do(req)
	if resp != nil || err == nil {
		t.Fatalf("resp %v err %v, want an error", resp, err)
	}
	if strings.Contains(err.Error(), canary) {
		t.Fatalf("error carries the token URL's query: %v", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Fatalf("no *url.Error in %v", err)
	}
	var ae *transport.AuthError
	if !errors.As(err, &ae) {
		t.Errorf("*transport.AuthError lost by redaction: %v", err)
	} else if strings.Contains(ae.Error(), canary) {
		t.Errorf("AuthError carries the token URL's query: %v", ae)
	}
	var rte *transport.RetryError
	if !errors.As(err, &rte) {
		t.Errorf("*transport.RetryError lost by redaction: %v", err)
	}
	var re *tokens.RefreshError
	if !errors.As(err, &re) {
		t.Errorf("*tokens.RefreshError lost by redaction: %v", err)
	}
}
