package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// net/http sends a method as written ("get"), and Django and Flask
// (Werkzeug) upper-case the method they are given, as ASP.NET Core
// compares it ignoring case: "get /v1/pets" is the GET operation there. A
// method that matches an operation only in upper case is not let through
// as an unknown route.
func TestMethodInOtherCaseNotUnknownRoute(t *testing.T) {
	for _, tc := range []struct{ method, url string }{
		{"get", "https://api.example.test/v1/pets?limit=99999"},
		{"Get", "https://api.example.test/v1/pets?limit=5"},
		{"post", "https://api.example.test/v1/pets"},
		{"get", "https://api.example.test/v1/pets%2F0"},
		{"head", "https://api.example.test/v1/pets/0"},
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `[]`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
		req, err := http.NewRequest(tc.method, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) {
			t.Errorf("%s %s: err = %v, want a violation", tc.method, tc.url, err)
		}
		if n := len(next.Requests()); n != 0 {
			t.Errorf("%s %s: %d requests sent, want 0", tc.method, tc.url, n)
		}
	}
	// A method of no operation in any case is still an unknown route.
	next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
	req, _ := http.NewRequest("patch", "https://api.example.test/v1/pets", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("unknown method: %v", err)
	}
	resp.Body.Close()
	if n := len(next.Requests()); n != 1 {
		t.Fatalf("unknown method: %d requests sent, want 1", n)
	}
}
