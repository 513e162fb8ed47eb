package transport_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestCredentialGuardQueryKeyInPairParseQueryDrops: url.ParseQuery skips a
// pair holding a semicolon or a bad percent-escape, but net/http sends the
// query as written and many servers read the key from such a pair. A
// credential query parameter in one must still keep the request off plain
// http.
func TestCredentialGuardQueryKeyInPairParseQueryDrops(t *testing.T) {
	for _, q := range []string{
		"api_key=SECRET;v=1",
		"v=1;api_key=SECRET",
		"api_key=%zzSECRET",
		"api_key=SECRET%",
		"api%5Fkey=SECRET;x",
	} {
		next := transporttest.NewResponder()
		g, err := transport.NewCredentialGuard(next, transport.EgressConfig{CredentialQueryKeys: []string{"api_key"}})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodGet, "http://localhost:8080/x?"+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := g.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if !errors.Is(err, transport.ErrEgressDenied) || next.Calls() != 0 {
			t.Errorf("query %q: err = %v, calls = %d; want a cleartext-credential denial", q, err, next.Calls())
		}
	}
}
