package openapi_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
)

// serverVarsSpec has a server whose base path is a variable; SERVERS is
// replaced by the servers of each test, HOST by the test server's address.
const serverVarsSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
servers:
SERVERS
paths:
  /pets/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        "200": {description: ok}
`

// serverVarsStack is the validator over a real server counting the
// requests it gets, below an inventory.
func serverVarsStack(t *testing.T, servers string) (rt http.RoundTripper, host string, hits *atomic.Int64, inv *transport.Inventory) {
	t.Helper()
	hits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	host = srv.Listener.Addr().String()
	s := strings.ReplaceAll(strings.Replace(serverVarsSpec, "SERVERS", servers, 1), "HOST", host)
	v, err := openapi.New(srv.Client().Transport, openapi.Config{Spec: []byte(s)})
	if err != nil {
		t.Fatal(err)
	}
	inv, err = transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	rt, err = transport.NewInventoryLayer(v, inv)
	if err != nil {
		t.Fatal(err)
	}
	return rt, host, hits, inv
}

func get(rt http.RoundTripper, url string) error {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func routes(inv *transport.Inventory) map[string]uint64 {
	got := map[string]uint64{}
	for _, e := range inv.Snapshot().Entries {
		got[e.Route] += e.Calls
	}
	return got
}

// A server variable with an enum limits the servers to its values: a
// request to a base path outside it is to no server of the description,
// so no operation, and is not sent; one to each value is, under a route
// naming that value. A second server overlapping the first still matches.
func TestServerVariableEnumEnforced(t *testing.T) {
	rt, host, hits, inv := serverVarsStack(t, `
  - url: "http://HOST/{version}"
    variables:
      version: {default: v1, enum: [v1, v2]}
  - url: "http://HOST/legacy"`)
	for _, p := range []string{"/v1/pets/1", "/v2/pets/1", "/legacy/pets/1"} {
		if err := get(rt, "http://"+host+p); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
	}
	for _, p := range []string{"/v3/pets/1", "/anything/pets/1"} {
		if err := get(rt, "http://"+host+p); !errors.Is(err, transport.ErrSchemaViolation) {
			t.Fatalf("GET %s (not a value of the enum): err = %v, want ErrSchemaViolation", p, err)
		}
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("upstream got %d requests, want 3", n)
	}
	got := routes(inv)
	if got["/v1/pets/{id}"] != 1 || got["/v2/pets/{id}"] != 1 || got["/legacy/pets/{id}"] != 1 {
		t.Fatalf("routes = %v, want /v1/pets/{id}, /v2/pets/{id} and /legacy/pets/{id} once each", got)
	}
}

// A server standing for more combinations of enum values than the router
// is given is a *ConfigError naming Spec.
func TestServerVariableEnumsTooMany(t *testing.T) {
	var a, b []string
	for i := range 40 {
		a = append(a, "a"+strconv.Itoa(i))
		b = append(b, "b"+strconv.Itoa(i))
	}
	s := strings.Replace(serverVarsSpec, "SERVERS", `
  - url: "http://{a}.example.test/{b}"
    variables:
      a: {default: a0, enum: [`+strings.Join(a, ", ")+`]}
      b: {default: b0, enum: [`+strings.Join(b, ", ")+`]}`, 1)
	_, err := openapi.New(nil, openapi.Config{Spec: []byte(s)})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "Spec" {
		t.Fatalf("err = %v, want a *ConfigError naming Spec", err)
	}
}

// A server variable without an enum takes any value: the route keeps it
// as a variable, as it does a path parameter, rather than naming every
// call by the default value (the calls to "/v7" are not to "/v1").
func TestServerVariableRouteIsTemplate(t *testing.T) {
	rt, host, hits, inv := serverVarsStack(t, `
  - url: "http://HOST/{version}"
    variables:
      version: {default: v1}`)
	for _, p := range []string{"/v1/pets/1", "/v7/pets/1"} {
		if err := get(rt, "http://"+host+p); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Fatalf("upstream got %d requests, want 2", n)
	}
	if got := routes(inv); got["/{version}/pets/{id}"] != 2 || len(got) != 1 {
		t.Fatalf("routes = %v, want /{version}/pets/{id} twice", got)
	}
}
