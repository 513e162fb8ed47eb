package openapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// itemsSpec has integer arrays in a query (split by the layer) and a
// header (split by openapi3filter).
const itemsSpec = `
openapi: 3.0.3
info: {title: items, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /n:
    get:
      parameters:
        - {name: ids, in: query, explode: false, schema: {type: array, items: {type: integer}}}
        - {name: h, in: header, schema: {type: array, items: {type: integer}}}
      responses: {"200": {description: ok}}
`

// TestItemParseReasonNamesRule: an array item that is not of its items'
// type is a violation whose reason names the item's index and the rule
// (openapi3filter wraps the parse error of an item in one without a
// reason), never the item.
func TestItemParseReasonNamesRule(t *testing.T) {
	for _, tc := range []struct{ url, header, want string }{
		{"/n?ids=1,secret", "", `query parameter "ids": at /1: an invalid integer`},
		{"/n", "2, secret", `header parameter "h": at /1: an invalid integer`},
	} {
		var reasons []string
		rt := newLayer(t, transporttest.NewResponder(transporttest.Respond(200, "")), openapi.Config{
			Spec:        []byte(itemsSpec),
			OnViolation: func(_ context.Context, v *openapi.Violation) { reasons = append(reasons, v.Reason) },
		})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1"+tc.url, nil)
		if tc.header != "" {
			req.Header.Set("H", tc.header)
		}
		if _, err := rt.RoundTrip(req); err == nil {
			t.Errorf("%s: no error", tc.url)
		}
		if len(reasons) != 1 || reasons[0] != tc.want {
			t.Errorf("%s: reasons %q, want %q", tc.url, reasons, tc.want)
		}
	}
}
