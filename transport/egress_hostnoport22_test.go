package transport_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/transport"
)

// 6700dec checked a plain-http request's Host header with port 80 when it
// had no port (what a forward proxy connects), so a valid direct call
// with a virtual-host Host and no proxy was refused: URL
// http://10.0.0.5:8080/ with Host "svc.internal", where svc.internal:8080
// is allowed. A Host without a port is checked with the URL's port again
// (as before 6700dec); a Host with a port, with that port, which is the
// one a forward proxy connects (6700dec's case: "api.example.test:6379").
func TestEgressPlainHTTPHostWithoutPortTakesURLPort(t *testing.T) {
	p, err := transport.NewEgressPolicy(transport.EgressConfig{AllowHTTP: true, Allow: []string{"http://10.0.0.5:8080", "http://svc.internal:8080"}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(host string) error {
		req, _ := http.NewRequest(http.MethodGet, "http://10.0.0.5:8080/v1", nil)
		req.Host = host
		return p.Check(req)
	}
	for _, host := range []string{"svc.internal", "svc.internal:8080", "SVC.internal:08080"} {
		if err := check(host); err != nil {
			t.Errorf("Host %q: %v, want allowed", host, err)
		}
	}
	for _, host := range []string{"svc.internal:80", "svc.internal:6379", "other.internal"} {
		if err := check(host); !errors.Is(err, transport.ErrEgressDenied) {
			t.Errorf("Host %q: %v, want ErrEgressDenied", host, err)
		}
	}
}
