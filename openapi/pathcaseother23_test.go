package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

const pathCaseOtherSpec = `
openapi: 3.0.3
info: {title: caseother, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /files/{name}:
    get:
      parameters: [{name: name, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /files/secret:
    get:
      parameters: [{name: X-Admin, in: header, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
  /Docs/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses: {"200": {description: ok}}
`

// TestPathMatchingAnotherOperationIgnoringCaseIsViolation: Express and
// ASP.NET Core route a path ignoring case, a literal segment before a
// parameter, so "/files/SECRET" (or "/files/%53ECRET") is the operation
// "/files/secret" there, whose required X-Admin the call did not send;
// the layer validated it as "/files/{name}" and sent it, in either mode
// and with AllowUnknownRoutes or not (the check of a path read ignoring
// case ran for an unknown route with AllowUnknownRoutes only). A path
// that matches one operation as written and another ignoring case is a
// violation; one that matches the same operation either way passes.
func TestPathMatchingAnotherOperationIgnoringCaseIsViolation(t *testing.T) {
	for _, allow := range []bool{false, true} {
		for p, violation := range map[string]bool{
			"/v1/files/SECRET":   true,
			"/v1/files/Secret":   true,
			"/v1/files/%53ECRET": true,
			"/V1/files/SECRET":   true, // no operation as written, one ignoring case (refused before too)
			"/v1/files/Report":   false,
			"/v1/files/secret":   true, // the literal operation, without its X-Admin
			"/v1/Docs/ABC":       false,
			"/v1/docs/abc":       true,
		} {
			next := transporttest.NewResponder(transporttest.Respond(200, ""))
			rt := newLayer(t, next, openapi.Config{Spec: []byte(pathCaseOtherSpec), AllowUnknownRoutes: allow})
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
	// With its header, the literal operation as written passes.
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	rt := newLayer(t, next, openapi.Config{Spec: []byte(pathCaseOtherSpec)})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/files/secret", nil)
	req.Header.Set("X-Admin", "yes")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("literal operation: %v", err)
	}
	resp.Body.Close()
}
