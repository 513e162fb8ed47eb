package openapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

const formUndeclaredSpec = `
openapi: 3.0.3
info: {title: form, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /closed:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, additionalProperties: false, properties: {name: {type: string}, tags: {type: array, items: {type: string}}}}
          multipart/form-data:
            schema: {type: object, additionalProperties: false, properties: {name: {type: string}, tags: {type: array, items: {type: string}}}}
      responses: {"200": {description: ok}}
  /open:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {name: {type: string}}}
      responses: {"200": {description: ok}}
`

// TestFormBodyUndeclaredFieldIsViolation: openapi3filter decodes the
// declared fields of a urlencoded or multipart/form-data body only, so
// with additionalProperties false "name=rex&admin=true" passed as
// {"name":"rex"} to an upstream that binds every field naming a member of
// its model (Spring's @ModelAttribute, ASP.NET Core's [FromForm], Rails'
// params): mass assignment, which the layer refuses for a query or cookie
// object already. A field such a schema does not declare is a violation
// now; a schema allowing other properties takes it, as before.
func TestFormBodyUndeclaredFieldIsViolation(t *testing.T) {
	checkRequests(t, formUndeclaredSpec, func(k string) *http.Request {
		path, body, _ := strings.Cut(k, " ")
		if fields, ok := strings.CutPrefix(body, "multipart "); ok {
			var buf bytes.Buffer
			w := multipart.NewWriter(&buf)
			for f := range strings.SplitSeq(fields, "&") {
				name, v, _ := strings.Cut(f, "=")
				if err := w.WriteField(name, v); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, &buf)
			req.Header.Set("Content-Type", w.FormDataContentType())
			return req
		}
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}, map[string]bool{
		"/closed name=rex":                      false,
		"/closed name=rex&tags=a&tags=b":        false,
		"/closed name=rex&admin=true":           true,
		"/closed admin=true":                    true,
		"/closed multipart name=rex&tags=a":     false,
		"/closed multipart name=rex&admin=true": true,
		"/open name=rex&admin=true":             false,
	})
}
