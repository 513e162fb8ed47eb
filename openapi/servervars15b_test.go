package openapi_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/securecall/securecall/transport"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
)

// serverEnumPathsSpec has n paths under one server whose base path is a
// variable with an enum of four values.
func serverEnumPathsSpec(n int) string {
	var b strings.Builder
	b.WriteString(`openapi: 3.0.3
info: {title: t, version: "1"}
servers:
  - url: "http://api.example.test/{version}"
    variables:
      version: {default: v1, enum: [v1, v2, v3, v4]}
paths:
`)
	for i := range n {
		fmt.Fprintf(&b, `  /r%d/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200": {description: ok}
`, i)
	}
	return b.String()
}

type okRT struct{}

func (okRT) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
}

// BenchmarkServerEnumRoute is a call to the last of 50 paths under a
// server with an enum variable of four values, one of a value of the enum
// (match) and one of another (miss, a violation).
func BenchmarkServerEnumRoute(b *testing.B) {
	rt, err := openapi.New(okRT{}, openapi.Config{Spec: []byte(serverEnumPathsSpec(50))})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ name, version string }{{"match", "v4"}, {"miss", "v5"}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodGet, "http://api.example.test/"+c.version+"/r49/1", nil)
				resp, err := rt.RoundTrip(req)
				if (err == nil) != (c.name == "match") {
					b.Fatal(err)
				}
				if err == nil {
					resp.Body.Close()
				}
			}
		})
	}
}

// serverEnumStack is the validator over okRT with the servers given, below
// an inventory.
func serverEnumStack(t *testing.T, servers string) (http.RoundTripper, *transport.Inventory) {
	t.Helper()
	s := strings.Replace(serverVarsSpec, "SERVERS", servers, 1)
	v, err := openapi.New(okRT{}, openapi.Config{Spec: []byte(s)})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	rt, err := transport.NewInventoryLayer(v, inv)
	if err != nil {
		t.Fatal(err)
	}
	return rt, inv
}

// A host variable with an enum is held to it as a path one is (the router
// matches it as any value, and the value is checked once it matched);
// a request the first server refuses goes on to the next one, for any
// method.
func TestServerVariableEnumHostAndFallThrough(t *testing.T) {
	rt, inv := serverEnumStack(t, `
  - url: "http://{region}.api.example.test/{version}"
    variables:
      region: {default: eu, enum: [eu, us]}
      version: {default: v1, enum: [v1, v2]}
  - url: "http://ap.api.example.test/legacy"`)
	for _, u := range []string{"http://eu.api.example.test/v1/pets/1", "http://us.api.example.test/v2/pets/1", "http://ap.api.example.test/legacy/pets/1"} {
		if err := get(rt, u); err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
	}
	got := routes(inv)
	if got["/v1/pets/{id}"] != 1 || got["/v2/pets/{id}"] != 1 || got["/legacy/pets/{id}"] != 1 {
		t.Fatalf("routes = %v, want /v1/pets/{id}, /v2/pets/{id} and /legacy/pets/{id} once each", got)
	}
	for _, u := range []string{"http://ap.api.example.test/v1/pets/1", "http://eu.api.example.test/v3/pets/1", "http://eu.api.example.test/legacy/pets/1"} {
		if err := get(rt, u); !errors.Is(err, transport.ErrSchemaViolation) {
			t.Fatalf("GET %s: err = %v, want ErrSchemaViolation", u, err)
		}
	}
	// POST has no operation: the path matches under the second server
	// only, whose refusal names the method (ErrMethodNotAllowed).
	var reasons []string
	v, err := openapi.New(okRT{}, openapi.Config{Spec: []byte(strings.Replace(serverVarsSpec, "SERVERS", `
  - url: "http://api.example.test/{version}"
    variables:
      version: {default: v1, enum: [v1, v2]}`, 1)),
		OnViolation: func(_ context.Context, v *openapi.Violation) { reasons = append(reasons, v.Reason) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"http://api.example.test/v2/pets/1", "http://api.example.test/v3/pets/1"} {
		req, _ := http.NewRequest(http.MethodPost, u, nil)
		if _, err := v.RoundTrip(req); !errors.Is(err, transport.ErrSchemaViolation) {
			t.Fatalf("POST %s: err = %v, want ErrSchemaViolation", u, err)
		}
	}
	if len(reasons) != 2 || reasons[0] == reasons[1] {
		t.Fatalf("reasons = %q, want one for a method not allowed (v2), another for no operation (v3)", reasons)
	}
}

// A variable the router cannot match as one (a port) is expanded into one
// server per value, each matched: a description whose servers stand for
// more than 64 of them is a *ConfigError naming Spec.
func TestServerVariableEnumPort(t *testing.T) {
	rt, _ := serverEnumStack(t, `
  - url: "http://api.example.test:{port}/v1"
    variables:
      port: {default: "8080", enum: ["8080", "8443"]}`)
	for _, p := range []string{"8080", "8443"} {
		if err := get(rt, "http://api.example.test:"+p+"/v1/pets/1"); err != nil {
			t.Fatalf("port %s: %v", p, err)
		}
	}
	if err := get(rt, "http://api.example.test:9000/v1/pets/1"); !errors.Is(err, transport.ErrSchemaViolation) {
		t.Fatalf("port 9000: err = %v, want ErrSchemaViolation", err)
	}
	var ports []string
	for i := range 65 {
		ports = append(ports, strconv.Itoa(8000+i))
	}
	s := strings.Replace(serverVarsSpec, "SERVERS", `
  - url: "http://api.example.test:{port}/v1"
    variables:
      port: {default: "8000", enum: [`+strings.Join(ports, ", ")+`]}`, 1)
	_, err := openapi.New(nil, openapi.Config{Spec: []byte(s)})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "Spec" {
		t.Fatalf("65 ports: err = %v, want a *ConfigError naming Spec", err)
	}
}

// A server variable with an enum named as a path parameter of the path is
// held to its enum too (the router gives one value for both names).
func TestServerVariableEnumNamedAsPathParam(t *testing.T) {
	rt, _ := serverEnumStack(t, `
  - url: "http://api.example.test/{id}"
    variables:
      id: {default: v1, enum: [v1, v2]}`)
	if err := get(rt, "http://api.example.test/v2/pets/1"); err != nil {
		t.Fatalf("GET /v2/pets/1: %v", err)
	}
	if err := get(rt, "http://api.example.test/v3/pets/1"); !errors.Is(err, transport.ErrSchemaViolation) {
		t.Fatalf("GET /v3/pets/1: err = %v, want ErrSchemaViolation", err)
	}
}
