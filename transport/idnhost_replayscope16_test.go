package transport_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// unicodeScope is a caller's Scope that names its host as the caller
// writes it ("bücher.example.test", in any case).
type unicodeScope struct{}

func (unicodeScope) Allows(u *url.URL) bool {
	return u.Scheme == "https" && strings.EqualFold(u.Hostname(), "bücher.example.test")
}

// TestSignIDNHostReplayStaysInScope: the signer sets the request's Host
// to its host's IDNA lookup form ("xn--bcher-kva.example.test" for
// "BÜCHER.example.test"), on the attempt's request. A second pass of that
// request through the sign layer within the attempt (the auth layer's
// replay after a 401) asked the Scope about that Host as another
// authority, and a Scope that names the host as written refused it: the
// replay went out unsigned, with the first pass's signature and nonce,
// which a verifier refuses as a replay. The Host the signer set names the
// URL's own authority.
func TestSignIDNHostReplayStaysInScope(t *testing.T) {
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(signKey(t))})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	wire := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		sent = append(sent, req.Header.Get("Signature-Input"))
		return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader("")), Request: req}, nil
	})
	sign, err := transport.NewSign(wire, transport.SignConfig{Signer: s, Scope: unicodeScope{}})
	if err != nil {
		t.Fatal(err)
	}
	twice := transport.NewAttemptScope(transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := sign.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		return sign.RoundTrip(req) // as the auth layer replays a 401
	}))
	for _, u := range []string{"https://BÜCHER.example.test/x", "https://bücher.example.test:8443/x"} {
		sent = nil
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := twice.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		resp.Body.Close()
		if len(sent) != 2 || sent[0] == "" || sent[1] == "" || sent[0] == sent[1] {
			t.Errorf("%s: Signature-Input of the two sends %q; want each signed afresh", u, sent)
		}
	}
}
