package openapi_test

import "testing"

// A server URL whose scheme and authority are variables (one standing for
// both, or each its own) routes, and its route names the path of the URL
// only: a variable in the path kept as "{name}", the scheme's and the
// authority's dropped with them, the path of a variable that stands for a
// whole URL with one (its default's) kept.
func TestServerVariableBasePath(t *testing.T) {
	for _, c := range []struct {
		name, servers, url, route string
	}{
		{"base url then path", `
  - url: "{baseUrl}/v1"
    variables:
      baseUrl: {default: "https://api.example.test"}`,
			"https://api.example.test/v1/pets/1", "/v1/pets/{id}"},
		{"base url with a path then path", `
  - url: "{baseUrl}/v1"
    variables:
      baseUrl: {default: "https://api.example.test/base"}`,
			"https://api.example.test/base/v1/pets/1", "/base/v1/pets/{id}"},
		{"scheme host version", `
  - url: "{scheme}://{host}/{version}/x"
    variables:
      scheme: {default: https, enum: [http, https]}
      host: {default: api.example.test}
      version: {default: v1}`,
			"http://api.example.test/v7/x/pets/1", "/{version}/x/pets/{id}"},
		{"scheme host enum version", `
  - url: "{scheme}://{host}/{version}/x"
    variables:
      scheme: {default: https}
      host: {default: api.example.test}
      version: {default: v1, enum: [v1, v2]}`,
			"https://api.example.test/v2/x/pets/1", "/v2/x/pets/{id}"},
		{"whole url with a path", `
  - url: "{baseUrl}"
    variables:
      baseUrl: {default: "https://api.example.test/base"}`,
			"https://api.example.test/base/pets/1", "/base/pets/{id}"},
		{"whole url with an enum", `
  - url: "{baseUrl}"
    variables:
      baseUrl: {default: "https://api.example.test/a", enum: ["https://api.example.test/a", "https://api.example.test/b"]}`,
			"https://api.example.test/b/pets/1", "/b/pets/{id}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rt, inv := serverEnumStack(t, c.servers)
			if err := get(rt, c.url); err != nil {
				t.Fatalf("GET %s: %v", c.url, err)
			}
			if got := routes(inv); got[c.route] != 1 || len(got) != 1 {
				t.Fatalf("routes = %v, want %s once", got, c.route)
			}
		})
	}
}
