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

// TestRequestBodyOverMaxBodyBytesIsRefusedInEnforce: a request body over
// MaxBodyBytes cannot be validated, and in Enforce mode it is not sent
// unvalidated (a caller could otherwise put any body past the contract by
// padding it): the call fails with a request *ViolationError saying so,
// nothing is sent and the caller's body is closed, whether or not the
// request has a GetBody. In ReportOnly mode the same violation is
// reported and the request goes out with its body intact, byte for byte.
// A body of MaxBodyBytes exactly is validated as before.
func TestRequestBodyOverMaxBodyBytesIsRefusedInEnforce(t *testing.T) {
	const max = 32
	// Valid but for its size: additionalProperties false, the name long.
	big := `{"name":"` + strings.Repeat("r", 64) + `"}`
	fits := `{"name":"` + strings.Repeat("r", max-11) + `"}`
	if len(fits) != max {
		t.Fatalf("fits is %d bytes", len(fits))
	}
	for _, mode := range []openapi.Mode{openapi.Enforce, openapi.ReportOnly} {
		for _, getBody := range []bool{true, false} {
			for _, body := range []string{big, fits} {
				next := transporttest.NewResponder(transporttest.Respond(201, `{"id":1,"name":"rex"}`, "Content-Type", "application/json"))
				var violations []*openapi.Violation
				rt := newLayer(t, next, openapi.Config{Mode: mode, MaxBodyBytes: max,
					OnViolation: func(_ context.Context, v *openapi.Violation) { violations = append(violations, v) }})
				tb := transporttest.NewTrackedBody([]byte(body))
				req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", tb)
				req.Header.Set("Content-Type", "application/json")
				req.ContentLength = int64(len(body))
				if getBody {
					req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
				}
				resp, err := rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
				}
				name := func() string {
					return "mode " + map[openapi.Mode]string{openapi.Enforce: "Enforce", openapi.ReportOnly: "ReportOnly"}[mode] +
						map[bool]string{true: ", GetBody", false: ", no GetBody"}[getBody] + ", " + map[bool]string{true: "over", false: "at"}[body == big] + " the limit"
				}()
				if body == fits {
					if err != nil || len(violations) != 0 || next.Calls() != 1 {
						t.Errorf("%s: err %v, %d violations, %d sent; want it validated and sent", name, err, len(violations), next.Calls())
					}
					continue
				}
				if len(violations) != 1 || violations[0].Direction != "request" || violations[0].Route != "/v1/pets" ||
					!strings.Contains(violations[0].Reason, "MaxBodyBytes") {
					t.Errorf("%s: violations %+v, want one request violation naming MaxBodyBytes", name, violations)
				}
				if mode == openapi.Enforce {
					var ve *openapi.ViolationError
					if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || ve.Direction != "request" ||
						!strings.Contains(ve.Reason, "MaxBodyBytes") {
						t.Errorf("%s: err = %v, want a request *ViolationError naming MaxBodyBytes", name, err)
					}
					if next.Calls() != 0 {
						t.Errorf("%s: %d requests sent unvalidated", name, next.Calls())
					}
					if !tb.Closed() {
						t.Errorf("%s: the caller's body was not closed", name)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
					continue
				}
				if reqs := next.Requests(); len(reqs) != 1 || string(reqs[0].Body) != body {
					t.Errorf("%s: upstream got %d requests, want one with the body intact", name, len(reqs))
				}
			}
		}
	}
}

// uploadSpec has upload operations whose body the layer has nothing to
// check beyond its media type: no schema, or a binary string.
const uploadSpec = `
openapi: 3.0.3
info: {title: upload, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /blob:
    put:
      requestBody:
        content:
          application/octet-stream: {}
      responses: {"200": {description: ok}}
  /file:
    put:
      requestBody:
        content:
          application/octet-stream:
            schema: {type: string, format: binary}
      responses: {"200": {description: ok}}
  /short:
    put:
      requestBody:
        content:
          text/plain:
            schema: {type: string, maxLength: 16}
      responses: {"200": {description: ok}}
`

// TestUploadOverMaxBodyBytesWithNothingToCheckIsSent: a body over
// MaxBodyBytes whose media type has no schema, or a string schema that
// constrains nothing (a binary upload), has nothing the layer would
// check: it is sent in Enforce mode, intact, with no violation. One whose
// schema constrains it (a maxLength) is refused.
func TestUploadOverMaxBodyBytesWithNothingToCheckIsSent(t *testing.T) {
	checkUploads(t, openapi.Config{Spec: []byte(uploadSpec), MaxBodyBytes: 32}, strings.Repeat("\x00\xff", 64), nil)
}

// checkUploads PUTs body to uploadSpec's /blob and /file (nothing to
// check but the media type) and /short (a maxLength): the first two are
// sent intact with no violation, the third is refused. header is set on
// each request.
func checkUploads(t *testing.T, cfg openapi.Config, body string, header http.Header) {
	t.Helper()
	for path, refused := range map[string]bool{"/blob": false, "/file": false, "/short": true} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		var violations int
		cfg.OnViolation = func(context.Context, *openapi.Violation) { violations++ }
		rt := newLayer(t, next, cfg)
		req, _ := http.NewRequest(http.MethodPut, "https://api.example.test/v1"+path, io.NopCloser(strings.NewReader(body)))
		for k, v := range header {
			req.Header[k] = v
		}
		ct := "application/octet-stream"
		if path == "/short" {
			ct = "text/plain"
		}
		req.Header.Set("Content-Type", ct)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if refused {
			if !errors.Is(err, transport.ErrSchemaViolation) || next.Calls() != 0 {
				t.Errorf("%s: err %v, %d sent; want it refused", path, err, next.Calls())
			}
			continue
		}
		if err != nil || violations != 0 {
			t.Errorf("%s: err %v, %d violations; want it sent", path, err, violations)
			continue
		}
		if reqs := next.Requests(); len(reqs) != 1 || string(reqs[0].Body) != body {
			t.Errorf("%s: upstream got %d requests, want one with the body intact", path, len(reqs))
		}
	}
}
