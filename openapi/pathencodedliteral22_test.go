package openapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

const encodedLiteralSpec = `
openapi: 3.0.3
info: {title: files, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /files/{name}:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
  /files/secret:
    get:
      parameters:
        - {name: X-Admin, in: header, required: true, schema: {type: string, enum: ["yes"]}}
      responses: {"200": {description: ok}}
`

// TestEncodedLiteralSegmentReadingAnotherOperationIsViolation:
// "/files/%2573ecret" (a double-encoded "s") matches GET /files/{name} as
// written, but an upstream that decodes twice (a decoding proxy in front
// of a decoding router), as for "%252F", serves it as "/files/secret",
// the literal operation whose required X-Admin header the call did not
// send. Its decoded reading has as many segments as the path, which
// ffa3588 did not compare: it went out validated against the first only.
func TestEncodedLiteralSegmentReadingAnotherOperationIsViolation(t *testing.T) {
	for _, allow := range []bool{false, true} {
		for target, violation := range map[string]bool{
			"/files/%2573ecret":        true,
			"/files/%252573ecret":      true,
			"/files/secre%2574":        true,
			"/files/%73ecret X-Admin":  false, // normalized: the literal operation, validated
			"/files/%2573ecre X-Admin": false, // "secre": /files/{name} both ways
			"/files/a%20b":             false,
			"/files/a%2525":            false,
		} {
			next := transporttest.NewResponder(transporttest.Respond(200, ""))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(encodedLiteralSpec), AllowUnknownRoutes: allow})
			path, admin := strings.CutSuffix(target, " X-Admin")
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
			if admin {
				req.Header.Set("X-Admin", "yes")
			}
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if got := err != nil; got != violation {
				t.Errorf("%s (AllowUnknownRoutes %v): err = %v, want violation %v", target, allow, err, violation)
			}
			if sent := next.Calls() != 0; sent == violation {
				t.Errorf("%s (AllowUnknownRoutes %v): sent %v", target, allow, sent)
			}
		}
	}
}
