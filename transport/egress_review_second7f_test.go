package transport_test

import "testing"

// TestCredentialGuardQueryKeyAsRackReadsIt: Rack 2 (Rails up to 7.0,
// Sinatra) reads a parameter name as it matches \A[\[\]]*([^\[\]]+)\]*:
// leading "[" and "]" are skipped and "]" closing the name is dropped, so
// "[api_key]", "api_key]" and "]api_key[]" are the parameter api_key, and
// "[auth][token]" is auth[token]. Such a credential must not go out over
// plain http either, while a key nested under another name still goes.
func TestCredentialGuardQueryKeyAsRackReadsIt(t *testing.T) {
	for _, q := range []string{
		"[api_key]=SECRET",
		"%5Bapi_key%5D=SECRET",
		"api_key]=SECRET",
		"]api_key=SECRET",
		"[[api_key]][]=SECRET",
		"v=1&[API.Key]=SECRET",
	} {
		if !credGuardQuery(t, "api_key", q) {
			t.Errorf("query %q went out over plain http, want a cleartext-credential denial", q)
		}
	}
	if !credGuardQuery(t, "auth[token]", "[auth][token]=SECRET") {
		t.Error("[auth][token] went out, want refused for the key auth[token]")
	}
	for _, q := range []string{"x[api_key]=v", "[x][api_key]=v", "[api_keys]=v", "[]=v"} {
		if credGuardQuery(t, "api_key", q) {
			t.Errorf("query %q was refused, want it sent", q)
		}
	}
}
