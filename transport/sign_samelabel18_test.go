package transport_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestNewSignRefusesSameLabelDirectlyBelow: a sign layer over another of
// the same label failed every request with ErrLabelInUse, and when the
// process had built seven other sign layers between the two (their bits
// the same, 44eb9c6) the lower one silently replaced the upper one's
// signature: the request went out with one sig1, the lower signer's.
// NewSign knows its next: one of the same label is a *ConfigError naming
// SignConfig.Signer. Another label is still fine.
func TestNewSignRefusesSameLabelDirectlyBelow(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	outerSigner, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Label: "sig1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, between := range []int{0, 7} {
		next := transporttest.NewResponder(transporttest.Respond(http.StatusOK, "ok"))
		inner := signLayerLabel(t, next, scope, "sig1")
		for range between {
			signLayerLabel(t, next, scope, "other")
		}
		rt, err := transport.NewSign(inner, transport.SignConfig{Signer: outerSigner, Scope: scope})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "SignConfig.Signer" || !strings.Contains(ce.Error(), `"sig1"`) {
			if err == nil {
				req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
				resp, rerr := transport.NewAttemptScope(rt).RoundTrip(req)
				if rerr == nil {
					resp.Body.Close()
				}
				t.Errorf("%d built between: NewSign accepted; a call: %v, %d sent", between, rerr, next.Calls())
				continue
			}
			t.Errorf("%d built between: err = %v, want a *ConfigError naming SignConfig.Signer and the label", between, err)
		}
	}
	inner := signLayerLabel(t, transporttest.NewResponder(), scope, "sig2")
	if _, err := transport.NewSign(inner, transport.SignConfig{Signer: outerSigner, Scope: scope}); err != nil {
		t.Errorf("another label below: %v", err)
	}
}
