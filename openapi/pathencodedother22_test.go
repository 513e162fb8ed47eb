package openapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

const encodedOtherSpec = `
openapi: 3.0.3
info: {title: files, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /files/{name}:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses: {"200": {description: ok}}
  /files/{name}/secret:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
        - {name: X-Admin, in: header, required: true, schema: {type: string, enum: ["yes"]}}
      responses: {"200": {description: ok}}
`

// TestEncodedSlashReadingAnotherOperationIsViolation: "/files/a%2Fsecret"
// matches GET /files/{name} as written (name "a/secret"), but an upstream
// that decodes "%2F" (or "%5C", or decodes twice) before it routes
// (Tomcat with ALLOW_ENCODED_SLASH, many proxies) serves it as
// "/files/a/secret", another operation, whose required X-Admin header the
// call did not send: it went out validated against the first only, in
// either mode, AllowUnknownRoutes or not (a path matching no operation as
// written but one decoded was refused already). A path that matches one
// operation as written and another once so decoded is a violation now;
// one whose decoded reading matches the same operation, or none, is not.
func TestEncodedSlashReadingAnotherOperationIsViolation(t *testing.T) {
	for _, allow := range []bool{false, true} {
		for target, violation := range map[string]bool{
			"/files/a%2Fsecret":           true,
			"/files/a%2fsecret":           true,
			"/files/a%252Fsecret":         true,
			"/files/a%5Csecret":           true,
			"/files/a%2Fb":                false,
			"/files/a%20b":                false,
			"/files/a%2Bb":                false,
			"/files/a;x=1":                false,
			"/files/a/secret X-Admin":     false,
			"/files/a%2Fb/secret X-Admin": false,
		} {
			next := transporttest.NewResponder(transporttest.Respond(200, ""))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(encodedOtherSpec), AllowUnknownRoutes: allow})
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
