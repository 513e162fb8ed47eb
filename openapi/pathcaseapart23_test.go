package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// pathCaseServersSpec has "/files/secret" as a path "/secret" under a
// server of its own whose base path ("/v1/files") is the other's and a
// segment of its path: only with their base paths do the two templates
// have as many segments.
const pathCaseServersSpec = `
openapi: 3.0.3
info: {title: caseservers, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /files/{name}:
    get:
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /secret:
    servers: [{url: "https://api.example.test/v1/files"}]
    get:
      parameters: [{name: X-Admin, in: header, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
`

// TestPathMatchingAnotherOperationIgnoringCaseAcrossServersIsViolation:
// a description where a path may match an operation as written and
// another ignoring case still has such a path refused once findRoute
// routes a path again only for such descriptions (caseApart), when the
// two operations are under servers of other base paths too
// ("/v1" + "/files/{name}" and "/v1/files" + "/secret" for
// "/v1/files/SECRET"); a path that matches the same operation either way
// passes.
func TestPathMatchingAnotherOperationIgnoringCaseAcrossServersIsViolation(t *testing.T) {
	for _, allow := range []bool{false, true} {
		for p, violation := range map[string]bool{
			"/v1/files/SECRET": true,
			"/v1/files/Secret": true,
			"/v1/files/Report": false,
			"/v1/files/report": false,
		} {
			next := transporttest.NewResponder(transporttest.Respond(200, ""))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(pathCaseServersSpec), AllowUnknownRoutes: allow})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+p, nil)
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
				t.Errorf("AllowUnknownRoutes %v, %s: err = %v, want violation %v", allow, p, err, violation)
			}
			if sent := next.Calls() != 0; sent == violation {
				t.Errorf("AllowUnknownRoutes %v, %s: sent %v", allow, p, sent)
			}
		}
	}
}
