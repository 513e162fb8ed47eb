package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestResponseMembersContentTypeBadParameter: a JSON response whose
// Content-Type has a malformed parameter ("application/json; charset",
// "application/json;;") is validated as JSON (kin-openapi reads the media
// type up to the ";"), so it is held to the member rules as well:
// mime.ParseMediaType failing on the parameter must not skip them, or an
// upstream puts {"ID":...} past Enforce with one header.
func TestResponseMembersContentTypeBadParameter(t *testing.T) {
	for _, ct := range []string{"application/json; charset", "application/json;;", "Application/JSON; a=\"x", "application/problem+json; =x"} {
		path, status, body := "/v1/pets", 200, `[{"id":1,"name":"a"},{"ID":99,"id":1,"name":"b"}]`
		if ct == "application/problem+json; =x" {
			// A free-form object: any case of a key is data, but a name
			// twice is not.
			path, status, body = "/v1/pets/7", 404, `{"detail":"x","detail":"y"}`
		}
		next := transporttest.NewResponder(transporttest.Respond(status, body, "Content-Type", ct))
		rt := newLayer(t, next, openapi.Config{})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
		resp, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if resp != nil || !errors.As(err, &ve) || ve.Direction != "response" {
			t.Errorf("Content-Type %q: resp %v err %v, want a response *ViolationError", ct, resp, err)
		}
	}
}
