package transport_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

func wantZeroConfigErr(t *testing.T, what string, err error, option string) {
	t.Helper()
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != option {
		t.Errorf("%s: %v, want a *ConfigError naming %s", what, err, option)
	}
}

// A zero SafeDialer (not made by NewSafeDialer) had no address rules and
// dialed any address, the cloud metadata service and loopback included: it
// failed open. It now refuses to dial.
func TestZeroSafeDialerFailsClosed(t *testing.T) {
	var sd transport.SafeDialer
	if c, err := sd.DialContext(context.Background(), "tcp", "169.254.169.254:80"); err == nil {
		c.Close()
		t.Fatal("a zero SafeDialer dialed the metadata address")
	} else {
		wantZeroConfigErr(t, "DialContext", err, "SafeDialer")
	}
	wantZeroConfigErr(t, "Check", sd.Check(netip.MustParseAddrPort("127.0.0.1:80")), "SafeDialer")
}

// A zero Base has no http.Transport: RoundTrip panicked ("transport is
// nil"). It now closes the body and returns a *ConfigError.
func TestZeroBase(t *testing.T) {
	body := &closeCounter{}
	req, _ := http.NewRequest(http.MethodPost, "https://api.example/x", body)
	resp, err := new(transport.Base).RoundTrip(req)
	if resp != nil {
		t.Fatal("zero Base returned a response")
	}
	wantZeroConfigErr(t, "RoundTrip", err, "Base")
	if body.closed != 1 {
		t.Errorf("body closed %d times, want 1", body.closed)
	}
	new(transport.Base).CloseIdleConnections()
}

// A zero Cooldowns has no clock: SetCooldown dereferenced it.
func TestZeroCooldowns(t *testing.T) {
	var c transport.Cooldowns
	c.SetCooldown("h", time.Now().Add(time.Minute))
	if !c.CooldownUntil("h").IsZero() {
		t.Error("zero Cooldowns recorded a cooldown")
	}
}

// The auth, API-key and sign layers refuse zero values of securecall
// types as their Source, Signer or Scope, naming the field.
func TestLayersRefuseZeroValues(t *testing.T) {
	scope, err := transport.ParseOrigins("https://api.example")
	if err != nil {
		t.Fatal(err)
	}
	_, err = transport.NewAuth(nil, transport.AuthConfig{Source: new(tokens.Cache), Scope: scope})
	wantZeroConfigErr(t, "NewAuth", err, "AuthConfig.Source")
	_, err = transport.NewAuth(nil, transport.AuthConfig{Source: tokens.Static(tokens.NewToken("t", "", time.Time{})), Scope: new(transport.EgressPolicy)})
	wantZeroConfigErr(t, "NewAuth", err, "AuthConfig.Scope")
	_, err = transport.NewAPIKey(nil, transport.APIKeyConfig{Source: new(tokens.ClientCredentials), Scope: scope})
	wantZeroConfigErr(t, "NewAPIKey", err, "APIKeyConfig.Source")
	_, err = transport.NewSign(nil, transport.SignConfig{Signer: new(signer.Signer), Scope: scope})
	wantZeroConfigErr(t, "NewSign", err, "SignConfig.Signer")
}

type closeCounter struct{ closed int }

func (c *closeCounter) Read([]byte) (int, error) { return 0, errors.New("read") }
func (c *closeCounter) Close() error             { c.closed++; return nil }
