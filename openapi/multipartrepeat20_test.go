package openapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// multipartRepeatSpec has a multipart body with a scalar and an array
// field, and one that allows fields it does not declare.
const multipartRepeatSpec = `
openapi: 3.0.3
info: {title: repeat, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /m:
    post:
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              properties:
                n: {type: integer, maximum: 10}
                tags: {type: array, items: {type: string, maxLength: 3}}
      responses: {"200": {description: ok}}
  /open:
    post:
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              additionalProperties: true
              properties:
                n: {type: integer, maximum: 10}
      responses: {"200": {description: ok}}
`

// TestMultipartFieldRepeatedOrInAnotherCase: openapi3filter validates the
// first part of a scalar field sent twice in a multipart/form-data body,
// PHP and Rails read the last, so "n=1" then "n=99999" passed a maximum of
// 10; and with additionalProperties it skips a part "N", which ASP.NET
// Core binds to n. Both are violations, as in a urlencoded body; an array
// field's parts repeat by design.
func TestMultipartFieldRepeatedOrInAnotherCase(t *testing.T) {
	checkRequests(t, multipartRepeatSpec, func(k string) *http.Request {
		path, fields, _ := strings.Cut(k, "|")
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
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1"+path, &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return req
	}, map[string]bool{
		"/m|n=1":                    false,
		"/m|n=1&tags=a&tags=b":      false,
		"/m|n=1&n=99999":            true,
		"/open|n=1&other=x":         false,
		"/open|n=1&other=x&other=y": false,
		"/open|n=1&n=99999":         true,
		"/open|N=99999":             true,
		"/open|n=1&N=99999":         true,
	})
}
