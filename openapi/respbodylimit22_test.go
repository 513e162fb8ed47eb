package openapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

const respLimitSpec = `
openapi: 3.0.3
info: {title: download, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /list:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: array, items: {type: object, additionalProperties: false, properties: {id: {type: integer}}}}
  /file:
    get:
      responses:
        "200":
          description: ok
          content:
            application/octet-stream:
              schema: {type: string, format: binary}
  /short:
    get:
      responses:
        "200":
          description: ok
          content:
            text/plain:
              schema: {type: string, maxLength: 16}
`

// TestResponseBodyOverMaxBodyBytesFailsEnforce: a response body over
// MaxBodyBytes cannot be validated, and in Enforce mode it reached the
// caller all the same, so an upstream padding a response past the limit
// put any body past the contract ({"id":1,"admin":true} and 64 spaces
// for an object allowing id only), with no violation reported in either
// mode. It is a violation now, as a request body over the limit is:
// Enforce fails the call with a *ViolationError naming MaxBodyBytes and
// the limit, its body closed; ReportOnly reports it and returns the
// response, its body intact. A body with nothing to check (a binary
// download: a string schema that constrains nothing) still passes in
// both modes.
func TestResponseBodyOverMaxBodyBytesFailsEnforce(t *testing.T) {
	const max = 32
	padded := `[{"id":1,"admin":true}]` + strings.Repeat(" ", 64)
	for _, mode := range []openapi.Mode{openapi.Enforce, openapi.ReportOnly} {
		for path, refused := range map[string]bool{"/list": true, "/short": true, "/file": false} {
			body, ct := padded, "application/json"
			switch path {
			case "/file":
				body, ct = strings.Repeat("\x00\xff", 64), "application/octet-stream"
			case "/short":
				body, ct = strings.Repeat("x", 64), "text/plain"
			}
			next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", ct))
			var violations []*openapi.Violation
			rt := newLayer(t, next, openapi.Config{Spec: []byte(respLimitSpec), Mode: mode, MaxBodyBytes: max,
				OnViolation: func(_ context.Context, v *openapi.Violation) { violations = append(violations, v) }})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
			resp, err := rt.RoundTrip(req)
			name := path + " " + map[openapi.Mode]string{openapi.Enforce: "Enforce", openapi.ReportOnly: "ReportOnly"}[mode]
			if refused != (len(violations) == 1) || len(violations) > 1 {
				t.Errorf("%s: violations %+v, want %v", name, violations, refused)
			} else if refused && (violations[0].Direction != "response" || !strings.Contains(violations[0].Reason, "MaxBodyBytes (32 bytes)")) {
				t.Errorf("%s: violation %+v, want a response one naming MaxBodyBytes and its limit", name, violations[0])
			}
			if refused && mode == openapi.Enforce {
				var ve *openapi.ViolationError
				if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || resp != nil ||
					ve.Direction != "response" || !strings.Contains(ve.Reason, "MaxBodyBytes (32 bytes)") {
					t.Errorf("%s: resp %v err %v, want a response *ViolationError naming MaxBodyBytes", name, resp, err)
				}
				if !next.Bodies()[0].Closed() {
					t.Errorf("%s: refused body not closed", name)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(got) != body {
				t.Errorf("%s: read back %q %v, want the body intact", name, got, err)
			}
		}
	}
}
