package openapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// A server whose variables with an enum are in its host or its path is
// given to the router as one server, whose variables' values are checked
// against their enums once a route matched: one server per value made
// the router try each in turn for every path on every call (up to 1024
// times as many matches).
func TestServerEnumOneRoutePerPath(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`openapi: 3.0.3
info: {title: t, version: "1"}
servers:
  - url: "http://{region}.example.test/{version}"
    variables:
      region: {default: eu, enum: [eu, us]}
      version: {default: v1, enum: [v1, v2, v3, v4]}
paths:
  /a:
    get: {responses: {"200": {description: ok}}}
  /b:
    servers:
      - url: "/{version}"
        variables:
          version: {default: v1, enum: [v1, v2]}
    get: {responses: {"200": {description: ok}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	rdoc, err := enumServers(doc)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rdoc.Servers); n != 1 {
		t.Errorf("the router is given %d servers for the description's one", n)
	}
	if n := len(rdoc.Paths.Value("/b").Servers); n != 1 {
		t.Errorf("the router is given %d servers for the path's one", n)
	}
}

// BenchmarkServerEnumFindRoute finds the route of a call to the last of 50
// paths under a server with an enum variable of four values, of a value
// of the enum (match) and of another (miss).
func BenchmarkServerEnumFindRoute(b *testing.B) {
	var spec strings.Builder
	spec.WriteString(`openapi: 3.0.3
info: {title: t, version: "1"}
servers:
  - url: "http://api.example.test/{version}"
    variables:
      version: {default: v1, enum: [v1, v2, v3, v4]}
paths:
`)
	for i := range 50 {
		fmt.Fprintf(&spec, "  /r%d/{id}:\n    get:\n      parameters:\n        - {name: id, in: path, required: true, schema: {type: integer}}\n      responses: {\"200\": {description: ok}}\n", i)
	}
	rt, err := New(nil, Config{Spec: []byte(spec.String())})
	if err != nil {
		b.Fatal(err)
	}
	l := rt.(*layer)
	for _, c := range []struct{ name, version string }{{"match", "v4"}, {"miss", "v5"}} {
		req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/"+c.version+"/r49/1", nil)
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := l.findRoute(req); (err == nil) != (c.name == "match") {
					b.Fatal(err)
				}
			}
		})
	}
}

// basePath drops the scheme and the authority with their variables, one
// standing for them at the URL's start included, and keeps a variable of
// the path as "{name}", but for one with an enum, which is its value.
func TestBasePathServerVariables(t *testing.T) {
	base := &openapi3.ServerVariable{Default: "https://api.example.com"}
	for _, c := range []struct {
		s    *openapi3.Server
		vars map[string]string
		want string
	}{
		{&openapi3.Server{URL: "{baseUrl}/v1", Variables: map[string]*openapi3.ServerVariable{"baseUrl": base}}, nil, "/v1"},
		{&openapi3.Server{URL: "{baseUrl}/v1", Variables: map[string]*openapi3.ServerVariable{"baseUrl": {Default: "https://api.example.com/base"}}}, nil, "/base/v1"},
		{&openapi3.Server{URL: "{baseUrl}", Variables: map[string]*openapi3.ServerVariable{"baseUrl": {Default: "https://api.example.com/base"}}}, nil, "/base"},
		{&openapi3.Server{URL: "{scheme}://{host}/{version}/x", Variables: map[string]*openapi3.ServerVariable{
			"scheme": {Default: "https"}, "host": {Default: "api.example.com"}, "version": {Default: "v1"}}}, nil, "/{version}/x"},
		{&openapi3.Server{URL: "{scheme}://{host}/{version}/x", Variables: map[string]*openapi3.ServerVariable{
			"scheme": {Default: "https"}, "host": {Default: "api.example.com"}, "version": {Default: "v1", Enum: []string{"v1", "v2"}}}},
			map[string]string{"version": "v2"}, "/v2/x"},
		{&openapi3.Server{URL: "https://{tenant}.example.com", Variables: map[string]*openapi3.ServerVariable{"tenant": {Default: "a"}}}, nil, "/"},
	} {
		if got := basePath(c.s, c.vars); got != c.want {
			t.Errorf("basePath(%q) = %q, want %q", c.s.URL, got, c.want)
		}
	}
}
