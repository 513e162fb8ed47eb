package transport_test

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
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

// A URL built by hand with the credentials in its Host ("user:pass@host",
// "token@host": url.Parse would have put them in User) is recorded under
// "_invalid": the inventory keeps only scheme, host and port, so a
// credential must not reach its entries, its JSON export or its metrics.
// A scheme no URL can have (a NUL in it) must not split the entry's key
// into a wrong origin and route either.
func TestInventoryKeepsUserinfoInHostOut(t *testing.T) {
	inv := newInventory(t, transport.InventoryConfig{})
	for _, u := range []*url.URL{
		{Scheme: "https", Host: "user:s3cret@api.example.test:443", Path: "/x"},
		{Scheme: "https", Host: "ghp_s3cret@api.example.test", Path: "/x"},
		{Scheme: "ht\x00s3cret", Host: "api.example.test", Path: "/x"},
	} {
		inv.Record(transport.Observation{Method: "GET", URL: u, Err: errors.New("refused")})
	}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") {
		t.Errorf("inventory export holds the credential: %s", b)
	}
	if e, ok := findEntry(inv.Snapshot(), "GET", "_invalid", "/x"); !ok || e.Calls != 3 {
		t.Errorf("invalid-origin entry %+v (found %v), want 3 calls", e, ok)
	}
}
