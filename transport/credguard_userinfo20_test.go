package transport_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestCredentialGuardErrorQuotesNoUserinfo: the credential guard refuses a
// plain-http request that carries a credential, naming its origin; a
// URL.Host built by hand with userinfo in it ("user:pass@host", which
// url.Parse would have put in URL.User) went into that origin as it was,
// so the refusal read 'egress denied: http://[user:pass@127.0.0.1]:port:
// credentials are never sent over plain http', the password in the error
// string, where EgressPolicy.CheckURL and GuardProxy name such a host
// without it. The refusal stays (the server sees nothing) and the message
// names the host without the userinfo.
func TestCredentialGuardErrorQuotesNoUserinfo(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	hostport := strings.TrimPrefix(srv.URL, "http://")
	direct := &http.Transport{}
	defer direct.CloseIdleConnections()
	guard, err := transport.NewCredentialGuard(direct, transport.EgressConfig{CredentialQueryKeys: []string{"api_key"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, userinfo, header, query string }{
		{"user and password, Authorization", "user:Secret9@", "Authorization", ""},
		{"user alone, X-Api-Key", "Secret9@", "X-Api-Key", ""},
		{"user and password, query key", "user:Secret9@", "", "api_key=k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			req.URL.Host = tc.userinfo + hostport
			req.URL.RawQuery = tc.query
			if tc.header != "" {
				req.Header.Set(tc.header, "k")
			}
			resp, err := guard.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			var ee *transport.EgressError
			if !errors.As(err, &ee) || !errors.Is(err, transport.ErrEgressDenied) {
				t.Fatalf("err = %v, want an *EgressError wrapping ErrEgressDenied", err)
			}
			if strings.Contains(strings.ToLower(err.Error()), "secret9") {
				t.Errorf("error %q quotes the userinfo", err)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the server got %d requests, want none", n)
			}
		})
	}
}
