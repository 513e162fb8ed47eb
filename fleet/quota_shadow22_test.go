package fleet

import (
	"errors"
	"strings"
	"testing"
)

// TestQuotaConfigShadowedLimit: the first matching Pattern wins, so a
// QuotaLimit after one whose pattern matches every host its own does
// would never apply: the fleet would send to api.example.com at the
// 1000/s of "*.example.com", not at the 10/s written for it. NewQuota
// refuses it with a *ConfigError naming its Pattern and the one before
// it, as the throttle's HostLimits are refused.
func TestQuotaConfigShadowedLimit(t *testing.T) {
	c := quotaNoRedis // NewQuota makes no Redis call
	for _, tc := range []struct {
		hosts []QuotaLimit
		field string
	}{
		{[]QuotaLimit{{Pattern: "*.example.com", Rate: 1000}, {Pattern: "api.example.com", Rate: 10}}, "Hosts[1].Pattern"},
		{[]QuotaLimit{{Pattern: "*", Rate: 1000}, {Pattern: "api.example.com", Rate: 10}}, "Hosts[1].Pattern"},
		{[]QuotaLimit{{Pattern: "a.example", Rate: 5}, {Pattern: "*.example.com", Rate: 1000}, {Pattern: "*.eu.example.com", Rate: 10}}, "Hosts[2].Pattern"},
		{[]QuotaLimit{{Pattern: "api.example.com", Rate: 10}, {Pattern: "API.example.com.", Rate: 20}}, "Hosts[1].Pattern"},
		{[]QuotaLimit{{Pattern: "api.example.com", Key: "k", Rate: 10}, {Pattern: "api.example.com", Key: "k", Rate: 10}}, "Hosts[1].Pattern"},
	} {
		_, err := NewQuota(c, QuotaOptions{Hosts: tc.hosts, ExpectedReplicas: 1})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Option != tc.field {
			t.Errorf("%+v: %v, want a ConfigError for %s", tc.hosts, err, tc.field)
			continue
		}
		if !strings.Contains(err.Error(), "never applies") {
			t.Errorf("%+v: %q does not say the limit never applies", tc.hosts, err)
		}
	}
	// The more specific limit first is what the first match wants.
	for _, hosts := range [][]QuotaLimit{
		{{Pattern: "api.example.com", Rate: 10}, {Pattern: "*.example.com", Rate: 1000}},
		{{Pattern: "*.eu.example.com", Rate: 10}, {Pattern: "*.example.com", Rate: 1000}, {Pattern: "*", Rate: 5}},
		{{Pattern: "[fe80::1%ETH0]", Rate: 10}, {Pattern: "[fe80::1%eth0]", Rate: 20}},
		{{Pattern: "api.example.com", Rate: 10}, {Pattern: "api.example.com:8443", Rate: 20}},
	} {
		if _, err := NewQuota(c, QuotaOptions{Hosts: hosts, ExpectedReplicas: 1}); err != nil {
			t.Errorf("%+v refused: %v", hosts, err)
		}
	}
}
