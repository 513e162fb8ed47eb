package transport

import (
	"net/url"
	"strings"
	"testing"
)

// server.address (span attribute and span name, metric attribute) must
// not carry userinfo that a URL built by hand put in Host
// ("user:pass@host"): the audit record and the inventory keep it out.
func TestServerOfDropsUserinfoInHost(t *testing.T) {
	for _, host := range []string{"user:s3cr3t@api.example.test", "s3cr3t@api.example.test:8443"} {
		h, _ := serverOf(&url.URL{Scheme: "https", Host: host})
		if strings.Contains(h, "s3cr3t") || h != "api.example.test" {
			t.Errorf("serverOf(%q) host = %q, want api.example.test", host, h)
		}
	}
}
