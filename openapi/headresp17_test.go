package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// respSpec17 lists a 200 with a required header and a JSON body, a 307
// with a required Location, a 301 with a JSON body and a 304 with a
// required ETag.
const respSpec17 = `
openapi: 3.0.3
info: {title: resp, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /things/{id}:
    get:
      parameters:
        - {name: id, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          headers:
            X-Rate:
              required: true
              schema: {type: integer}
          content:
            application/json:
              schema: {type: object, required: [a], properties: {a: {type: integer}}}
        "301":
          description: moved
          content:
            application/json:
              schema: {type: object, required: [a], properties: {a: {type: integer}}}
        "304":
          description: not modified
          headers:
            ETag:
              required: true
              schema: {type: string}
        "307":
          description: moved
          headers:
            Location:
              required: true
              schema: {type: string}
`

// roundTrip17 sends method to /things/x through the layer over a
// responder answering status, body and header kv, and returns the error
// and the violation reported (in ReportOnly mode by OnViolation).
func roundTrip17(t *testing.T, method string, mode openapi.Mode, status int, body string, kv ...string) (*openapi.ViolationError, error) {
	t.Helper()
	next := transporttest.NewResponder(transporttest.Respond(status, body, kv...))
	var seen *openapi.Violation
	rt := newLayer(t, next, openapi.Config{Spec: []byte(respSpec17), Mode: mode,
		OnViolation: func(_ context.Context, v *openapi.Violation) { seen = v }})
	req, _ := http.NewRequest(method, "https://api.example.test/v1/things/x", nil)
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	var ve *openapi.ViolationError
	if errors.As(err, &ve) {
		return ve, err
	}
	if err == nil && seen != nil {
		return &openapi.ViolationError{Violation: *seen}, nil
	}
	return nil, err
}

// TestHeadResponseStatusAndHeadersValidated: openapi3filter returns at
// once for a HEAD, so its status and headers were never validated
// (doc.go: a HEAD "is returned as soon as its headers are validated"):
// a status the GET operation does not list, or a header it declares
// required missing, reached the caller in Enforce mode. They are
// validated as the GET's; the body (there is none) and its Content-Type
// are not.
func TestHeadResponseStatusAndHeadersValidated(t *testing.T) {
	for _, mode := range []openapi.Mode{openapi.Enforce, openapi.ReportOnly} {
		for _, c := range []struct {
			name   string
			status int
			kv     []string
			want   string // a reason's part, "" for none
		}{
			{"valid", 200, []string{"X-Rate", "1"}, ""},
			{"valid with content type", 200, []string{"X-Rate", "1", "Content-Type", "application/json"}, ""},
			{"unlisted status", 418, nil, "status is not supported"},
			{"required header missing", 200, []string{"Content-Type", "application/json"}, `"X-Rate" missing`},
			{"header of wrong type", 200, []string{"X-Rate", "many"}, `"X-Rate"`},
			{"5xx passes", 503, nil, ""},
		} {
			ve, err := roundTrip17(t, http.MethodHead, mode, c.status, "", c.kv...)
			switch {
			case c.want == "" && (ve != nil || err != nil):
				t.Errorf("mode %d %s: %v %v, want no violation", mode, c.name, ve, err)
			case c.want != "" && (ve == nil || !strings.Contains(ve.Reason, c.want)):
				t.Errorf("mode %d %s: %v %v, want a violation %q", mode, c.name, ve, err, c.want)
			case c.want != "" && mode == openapi.ReportOnly && err != nil:
				t.Errorf("mode ReportOnly %s: %v, want the response", c.name, err)
			}
		}
	}
}
