package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// Rails routes a resource with an optional format suffix ("/pets(.:format)")
// and Spring MVC before 5.3 matched "/pets.*" as "/pets": "/v1/pets.json"
// is the operation "/v1/pets" there. A path that matches an operation only
// without its last segment's extension is not let through as an unknown
// route.
func TestFormatSuffixNotUnknownRoute(t *testing.T) {
	for _, p := range []string{"/v1/pets.json?limit=99999", "/v1/pets.xml", "/v1/pets%2Ejson", "/v1/pets.json/"} {
		next := transporttest.NewResponder(transporttest.Respond(200, `[]`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+p, nil)
		_, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s: err = %v, want a violation", p, err)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("%s: %d requests sent, want 0", p, n)
		}
	}
	// A path whose stem is no operation either is still an unknown route,
	// and so is a dot that starts no extension.
	for _, p := range []string{"/v1/owners.json", "/v1/pets.", "/v1/.json"} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+p, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Errorf("%s: unknown route: %v", p, err)
			continue
		}
		resp.Body.Close()
		if n := len(next.Requests()); n != 1 {
			t.Errorf("%s: unknown route: %d requests sent, want 1", p, n)
		}
	}
}
