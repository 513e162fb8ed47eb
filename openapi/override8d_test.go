package openapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// overrideSpec declares id and tags at the path item as integers, and
// overrides both in the operation as arrays the layer splits itself.
const overrideSpec = `
openapi: 3.0.3
info: {title: override, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
      - {name: tags, in: query, schema: {type: integer}}
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: array, items: {type: string}}}
        - {name: tags, in: query, explode: false, schema: {type: array, items: {type: string, enum: [a, b]}}}
      responses: {"200": {description: ok}}
`

// TestOverriddenParamValidatedOnceByOperation: a path item's parameter that
// the operation overrides (same name and location) is validated once, with
// the operation's definition, also when the operation's is an array the
// layer splits itself: the path item's definition is not applied as well.
func TestOverriddenParamValidatedOnceByOperation(t *testing.T) {
	for _, tc := range []struct {
		url        string
		violations int
	}{
		{"/things/x,y?tags=a,b", 0},
		{"/things/x,y?tags=a,c", 1},
	} {
		for _, multi := range []bool{false, true} {
			var reasons []string
			rt := newLayer(t, transporttest.NewResponder(transporttest.Respond(200, "")), openapi.Config{
				Spec:        []byte(overrideSpec),
				Options:     &openapi3filter.Options{MultiError: multi},
				OnViolation: func(_ context.Context, v *openapi.Violation) { reasons = append(reasons, v.Reason) },
			})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1"+tc.url, nil)
			resp, _ := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			want := []string(nil)
			if tc.violations == 1 {
				want = []string{`query parameter "tags": at /1: value is not one of the allowed values ["a","b"]`}
			}
			if len(reasons) != len(want) || len(want) == 1 && reasons[0] != want[0] {
				t.Errorf("MultiError %v, %s: violations %q, want %q", multi, tc.url, reasons, want)
			}
		}
	}
}
