package openapi_test

import (
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The route a caller gives (WithRoute, a Template) comes first, the
// OpenAPI operation second (docs/inventory.md, Routes).
func TestCallerRouteWinsOverOperation(t *testing.T) {
	next := transporttest.NewResponder(
		transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"),
		transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"),
	)
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer inv.Close()
	rt, err := transport.NewInventoryLayer(newLayer(t, next, openapi.Config{}), inv)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	req = req.WithContext(transport.WithRoute(req.Context(), "/pets/{caller}"))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err = rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := map[string]uint64{}
	for _, e := range inv.Snapshot().Entries {
		got[e.Route] += e.Calls
	}
	if got["/pets/{caller}"] != 1 || got["/v1/pets/{petId}"] != 1 || len(got) != 2 {
		t.Fatalf("routes = %v, want /pets/{caller}:1 and /v1/pets/{petId}:1", got)
	}
}
