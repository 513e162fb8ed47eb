package transport_test

import (
	"testing"

	"github.com/securecall/securecall/transport"
)

// A random token of letters only (a Slack webhook secret is 24 base62
// characters: about 1.5% of them have no digit) is a path segment that
// must not reach the inventory's routes, its JSON export or its metric
// attributes, while long camelCase operation names stay readable.
func TestNormalizePathFoldsMixedCaseTokens(t *testing.T) {
	for in, want := range map[string]string{
		"/services/T0AB12CDE/B0CD34EFG/PkQwErTyUiOpAsDfGhJkLzXc": "/services/{id}/{id}/{id}",
		"/hooks/xKqPwLmZnRtVbYcDsFgHjUeI":                        "/hooks/{id}",
		"/v1/listOrganizationMembers":                            "/v1/listOrganizationMembers",
		"/v1/GetAccountInformation":                              "/v1/GetAccountInformation",
		"/v1/HTTPServerConfiguration":                            "/v1/HTTPServerConfiguration",
	} {
		if got := transport.NormalizePath(in); got != want {
			t.Errorf("NormalizePath(%q) = %q, want %q", in, got, want)
		}
	}
}
