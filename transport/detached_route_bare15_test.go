package transport_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// The auth layer on its own (docs/tokens.md's first example:
// transport.NewAuth(next, ...), no retry layer or attempt scope around
// it) hands its token source the caller's context as it is: the route the
// caller named its API call with (WithRoute, a Template) was the token
// request's too, and a token endpoint client keeping an inventory recorded
// its token request under the API's route. The detached context hid it
// only when the request had an attempt.
func TestDetachedContextHidesTheCallersRouteWithoutAttempt(t *testing.T) {
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
	rt := newAuth(t, api, src)
	resp, err := resGet(t, transport.WithRoute(t.Context(), "/v1/items/{id}"), rt)
	if err != nil {
		t.Fatal(err)
	}
	resReadAll(t, resp)
	snap := inv.Snapshot()
	if len(snap.Entries) != 1 {
		t.Fatalf("%d inventory entries, want 1 (the token request): %+v", len(snap.Entries), snap.Entries)
	}
	if got := snap.Entries[0].Route; got != "/token" {
		t.Errorf("the token request's inventory route = %q, want %q (the API call's route leaked into the token fetch)", got, "/token")
	}
}
