package openapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestParseReasonQuotesNoValue: a parameter openapi3filter cannot parse is
// a violation whose reason quotes nothing of the request: not a deepObject
// key that should have been an array index (its parse error quotes the
// key, as strconv's error does).
func TestParseReasonQuotesNoValue(t *testing.T) {
	const s = `
openapi: 3.0.3
info: {title: deep, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /n:
    get:
      parameters:
        - {name: o, in: query, style: deepObject, explode: true, schema: {type: object, properties: {a: {type: array, items: {type: integer}}}}}
      responses: {"200": {description: ok}}
`
	var reasons []string
	rt := newLayer(t, transporttest.NewResponder(transporttest.Respond(200, "")), openapi.Config{
		Spec:        []byte(s),
		OnViolation: func(_ context.Context, v *openapi.Violation) { reasons = append(reasons, v.Reason) },
	})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/n?o[a][secret-canary]=1", nil)
	_, err := rt.RoundTrip(req)
	if err == nil || strings.Contains(err.Error(), "canary") {
		t.Errorf("err = %v, want a violation without the key", err)
	}
	const want = `query parameter "o": at /a: could not convert value map to array: array indexes must be integers`
	if len(reasons) != 1 || reasons[0] != want {
		t.Errorf("reasons %q, want %q", reasons, []string{want})
	}
}
