package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// Express (caseSensitive false by default) and ASP.NET Core route a path
// ignoring case: "/V1/PETS/0" is "/v1/pets/{petId}" there. A path that
// matches an operation only so read is not let through as an unknown
// route.
func TestPathInOtherCaseNotUnknownRoute(t *testing.T) {
	for _, p := range []string{"/v1/PETS/0", "/V1/pets/0", "/V1/Pets"} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+p+"?limit=99999", nil)
		_, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s: err = %v, want a violation", p, err)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("%s: %d requests sent, want 0", p, n)
		}
	}
	// A path of no operation in any case is still an unknown route.
	next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/V1/Owners/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("unknown route: %v", err)
	}
	resp.Body.Close()
	if n := len(next.Requests()); n != 1 {
		t.Fatalf("unknown route: %d requests sent, want 1", n)
	}
}
