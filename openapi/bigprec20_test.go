package openapi_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
)

// bigMultipartSpec bounds an integer field of a multipart body past 2^53.
const bigMultipartSpec = `
openapi: 3.0.3
info: {title: bigint, version: "1"}
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
                n: {type: integer, maximum: 9007199254740992}
                id: {type: integer, format: int64}
                note: {type: string}
      responses: {"200": {description: ok}}
`

// TestBigIntegerMultipartFieldBounds: a multipart/form-data field of type
// integer is read by openapi3filter and compared with its bounds as a
// float64, as a urlencoded field was (TestBigIntegerFormBodyBounds): the
// part "n=9007199254740993" passed a maximum of 9007199254740992, and
// "id=9223372036854775808" (2^63) format int64, to an upstream that reads
// an int64. Both are violations; a string field of digits is not.
func TestBigIntegerMultipartFieldBounds(t *testing.T) {
	checkRequests(t, bigMultipartSpec, func(k string) *http.Request {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for f := range strings.SplitSeq(k, "&") {
			name, v, _ := strings.Cut(f, "=")
			if err := w.WriteField(name, v); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/m", &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		return req
	}, map[string]bool{
		"n=9007199254740992":            false,
		"n=9007199254740993":            true,
		"id=9223372036854775807":        false,
		"id=9223372036854775808":        true,
		"note=12345678901234567890":     false,
		"n=1&note=12345678901234567890": false,
	})
}
