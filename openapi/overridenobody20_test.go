package openapi_test

import (
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// overrideNoBodySpec has a POST that describes no request body (an action
// on a resource), and a DELETE the upstream also serves.
const overrideNoBodySpec = `
openapi: 3.0.3
info: {title: override, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /pets/{id}/feed:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    post:
      responses: {"200": {description: fed}}
    delete:
      responses: {"204": {description: gone}}
`

// TestMethodOverrideInBodyOfOperationWithoutBody: a _method form field
// is a violation unless the operation declares it (TestMethodOverrideIsViolation),
// but the layer did not read the body of an operation that describes none,
// so "POST /pets/1/feed" with the urlencoded or multipart body
// "_method=DELETE" reached Rack, Symfony or Laravel as the DELETE. A form
// body sent to such an operation is read for the override too; another
// body (an upload the operation does not describe) is still sent unread.
func TestMethodOverrideInBodyOfOperationWithoutBody(t *testing.T) {
	checkRequests(t, overrideNoBodySpec, func(k string) *http.Request {
		kind, form, _ := strings.Cut(k, "|")
		var body io.Reader
		ct := ""
		switch kind {
		case "form":
			body, ct = strings.NewReader(form), "application/x-www-form-urlencoded"
		case "multipart":
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			for f := range strings.SplitSeq(form, "&") {
				name, v, _ := strings.Cut(f, "=")
				w.WriteField(name, v)
			}
			w.Close()
			body, ct = &buf, w.FormDataContentType()
		case "octet":
			body, ct = strings.NewReader(form), "application/octet-stream"
		}
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets/1/feed", body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		return req
	}, map[string]bool{
		"none|":                      false,
		"form|food=kibble":           false,
		"form|_method=DELETE":        true,
		"form|food=a&_METHOD=DELETE": true,
		"multipart|_method=DELETE":   true,
		"multipart|food=kibble":      false,
		"octet|_method=DELETE":       false,
	})
}

// TestMethodOverrideInBodyOverMaxBodyBytes: a form body over MaxBodyBytes
// to an operation that describes none cannot be checked for a _method
// field past the limit: Enforce mode does not send it.
func TestMethodOverrideInBodyOverMaxBodyBytes(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, ""))
	rt := newLayer(t, next, openapi.Config{Spec: []byte(overrideNoBodySpec), MaxBodyBytes: 32})
	body := "food=" + strings.Repeat("k", 64) + "&_method=DELETE"
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets/1/feed", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrSchemaViolation) || next.Calls() != 0 {
		t.Errorf("err %v, %d sent; want it refused", err, next.Calls())
	}
}
