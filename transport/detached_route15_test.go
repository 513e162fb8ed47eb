package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// A token fetch is a call of its own: the route the caller named its API
// call with (WithRoute, a Template) is not the token request's. The
// detached context hid it only when a layer of the API stack had made a
// call record (the inventory, the audit log); a hand-built stack without
// them (a retry and an auth layer, a call trace or not) passed the
// caller's route to the token source, and a token endpoint client that
// keeps an inventory recorded its token request under the API's route
// (POST https://auth.example.test:443 "/users/{id}"), as its call span's
// url.template and its audit record would name it.
func TestDetachedContextHidesTheCallersRoute(t *testing.T) {
	for _, withCallTrace := range []bool{false, true} {
		inv, err := transport.NewInventory(transport.InventoryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		endpoint := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: http.NoBody, Request: req}, nil
		})
		tokenClient, err := transport.NewInventoryLayer(transport.NewAttemptScope(endpoint), inv)
		if err != nil {
			t.Fatal(err)
		}
		src := authCache(t, &r3EndpointSource{rt: tokenClient, ttl: time.Hour})
		api := transporttest.NewResponder(transporttest.Respond(200, "ok"))
		rt := newRetry(t, newAuth(t, api, src), transport.RetryConfig{MaxAttempts: 1})
		if withCallTrace {
			rt = transport.NewCallTrace(rt, transport.TraceConfig{})
		}
		resp, err := resGet(t, transport.WithRoute(t.Context(), "/v1/items/{id}"), rt)
		if err != nil {
			t.Fatal(err)
		}
		resReadAll(t, resp)
		snap := inv.Snapshot()
		if len(snap.Entries) != 1 {
			t.Fatalf("call trace %v: %d inventory entries, want 1 (the token request): %+v", withCallTrace, len(snap.Entries), snap.Entries)
		}
		if got := snap.Entries[0].Route; got != "/token" {
			t.Errorf("call trace %v: the token request's inventory route = %q, want %q (the API call's route leaked into the token fetch)", withCallTrace, got, "/token")
		}
	}
}
