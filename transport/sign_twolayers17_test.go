package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func signLayerLabel(t *testing.T, next http.RoundTripper, scope transport.Scope, label string) http.RoundTripper {
	t.Helper()
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t)), Label: label})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := transport.NewSign(next, transport.SignConfig{Signer: s, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func replayAuth(t *testing.T, next http.RoundTripper, scope transport.Origins) http.RoundTripper {
	t.Helper()
	var n atomic.Int32
	src, err := tokens.NewCache(tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		return tokens.NewToken(fmt.Sprintf("t%d", n.Add(1)), "Bearer", time.Now().Add(time.Hour)), nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := transport.NewAuth(next, transport.AuthConfig{Source: src, Scope: scope})
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// members returns the nonce of each label of the Signature-Input sent
// (a label twice fails the test), and the Signature's lines.
func members(t *testing.T, h http.Header) (nonces map[string]string, sigs []string) {
	t.Helper()
	ins, err := signer.ParseSignatureInput(h.Values("Signature-Input")...)
	if err != nil {
		t.Fatalf("Signature-Input %q: %v", h.Values("Signature-Input"), err)
	}
	nonces = map[string]string{}
	for _, in := range ins {
		if _, dup := nonces[in.Label]; dup {
			t.Fatalf("label %s twice in %q", in.Label, h.Values("Signature-Input"))
		}
		nonces[in.Label] = in.Nonce
	}
	return nonces, h.Values("Signature")
}

// TestSignTwoLayersReplaySignsEachAgain: two sign layers of different
// labels in one attempt each sign once; the auth layer's replay after a 401
// carries one new member of each, in both fields.
func TestSignTwoLayersReplaySignsEachAgain(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	next := transporttest.NewResponder(
		transporttest.Respond(http.StatusUnauthorized, "", "WWW-Authenticate", `Bearer error="invalid_token"`),
		transporttest.Respond(http.StatusOK, "ok"),
	)
	inner := signLayerLabel(t, next, scope, "sig2")
	outer := signLayerLabel(t, inner, scope, "sig1")
	rt := transport.NewAttemptScope(replayAuth(t, outer, scope))
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := next.Requests()
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	a, _ := members(t, got[0].Header)
	b, sigs := members(t, got[1].Header)
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("members %v then %v", a, b)
	}
	if d, err := signer.ParseSignature(sigs...); err != nil || len(d) != 2 {
		t.Errorf("replay Signature %q (%v), want one member of each label", sigs, err)
	}
	for _, l := range []string{"sig1", "sig2"} {
		if b[l] == "" || a[l] == b[l] {
			t.Errorf("%s: nonce %q then %q", l, a[l], b[l])
		}
	}
}

// TestSignSecondLayersLabelSetByInnerLayerCollides: with two sign
// layers (sig1 above, sig2 below) in one attempt, a layer between them
// that puts a sig2 signature on the attempt's request gets ErrLabelInUse
// from the sig2 layer: the first layer's signing does not make the second
// one take that signature for its own earlier pass and replace it.
func TestSignSecondLayersLabelSetByInnerLayerCollides(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	for _, where := range []string{"between", "above both"} {
		next := transporttest.NewResponder(transporttest.Respond(http.StatusOK, "ok"))
		second := signLayerLabel(t, next, scope, "sig2")
		setter := func(n http.RoundTripper) http.RoundTripper {
			return transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				r := transport.Own(req)
				r.Header.Add("Signature-Input", `sig2=("@method");created=1;keyid="theirs"`)
				r.Header.Add("Signature", `sig2=:AAAA:`)
				return n.RoundTrip(r)
			})
		}
		var rt http.RoundTripper
		if where == "between" {
			rt = signLayerLabel(t, setter(second), scope, "sig1")
		} else {
			rt = setter(signLayerLabel(t, second, scope, "sig1"))
		}
		rt = transport.NewAttemptScope(rt)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
		if !errors.Is(err, signer.ErrLabelInUse) {
			t.Errorf("%s: err = %v, want ErrLabelInUse", where, err)
		}
		if next.Calls() != 0 {
			t.Errorf("%s: sent with %q", where, next.Requests()[0].Header.Values("Signature-Input"))
		}
	}
}
