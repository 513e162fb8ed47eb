package transport_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A URL built by hand with userinfo in Host ("user:pass@host", which
// url.Parse would have put in User) must not put the credential in an
// EgressError, whose message ends up in logs: the audit record and the
// inventory already keep it out.
func TestEgressErrorKeepsUserinfoInHostOut(t *testing.T) {
	for _, allow := range [][]string{nil, {"https://api.example.test"}} {
		p, err := transport.NewEgressPolicy(transport.EgressConfig{Allow: allow})
		if err != nil {
			t.Fatal(err)
		}
		for _, host := range []string{"user:s3cr3t@evil.example.test", "s3cr3t@evil.example.test:8443"} {
			err := p.CheckURL(&url.URL{Scheme: "https", Host: host, Path: "/"})
			if err == nil {
				t.Fatalf("allow %v: CheckURL(%q) = nil, want a denial", allow, host)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("allow %v: error carries the credential: %v", allow, err)
			}
		}
	}
}
