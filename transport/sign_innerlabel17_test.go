package transport_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestSignInnerLayersOwnLabelStillCollides: a layer inside the attempt,
// above the sign layer, that puts a sig1 signature on the attempt's request
// gets the signer's collision error, as a caller does; the sign layer drops
// only a signature it (or another sign layer) put on the request in an
// earlier pass of the attempt, never silently replaces one it did not add.
func TestSignInnerLayersOwnLabelStillCollides(t *testing.T) {
	scope := mustOrigins(t, "https://api.example.test")
	next := transporttest.NewResponder(transporttest.Respond(http.StatusOK, "ok"))
	sign := newSignLayer(t, next, scope, nil)
	inner := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		r := transport.Own(req)
		r.Header.Set("Signature-Input", `sig1=("@method");created=1;keyid="theirs"`)
		r.Header.Set("Signature", `sig1=:AAAA:`)
		return sign.RoundTrip(r)
	})
	rt := transport.NewAttemptScope(inner)
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1", nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, signer.ErrLabelInUse) {
		t.Fatalf("err = %v, want ErrLabelInUse", err)
	}
	if next.Calls() != 0 {
		t.Errorf("request was sent with %q", next.Requests()[0].Header.Values("Signature-Input"))
	}
}
