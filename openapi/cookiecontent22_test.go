package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

const cookieContentSpec = `
openapi: 3.0.3
info: {title: cookies, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /c:
    get:
      parameters:
        - {name: j, in: cookie, content: {application/json: {schema: {type: object, properties: {n: {type: integer, maximum: 10}}}}}}
        - {name: mode, in: cookie, schema: {type: string, enum: [a, b]}}
      responses: {"200": {description: ok}}
  /r:
    get:
      parameters:
        - {name: j, in: cookie, required: true, content: {application/json: {schema: {type: object, properties: {n: {type: integer, maximum: 10}}}}}}
      responses: {"200": {description: ok}}
`

// TestCookieContentParameter: a cookie parameter described by content
// (a JSON object in a cookie) refused every request to its operation in
// Enforce mode, with a reason naming the parameter only: openapi3filter
// reads it with Request.Cookie, keeps ErrNoCookie as its error when the
// cookie is absent (an optional one included), and cannot read a JSON
// object sent as it is (its '"' is no cookie-octet) nor decode one
// percent-encoded (as a browser's document.cookie, Express and PHP write
// and read it). The layer validates it itself now: absent, it is a
// violation only when required; its value, percent-decoded when it is
// percent-encoded, is validated against the media type's schema; sent
// twice, it is a violation.
func TestCookieContentParameter(t *testing.T) {
	checkRequests(t, cookieContentSpec, func(c string) *http.Request {
		path, cookie, _ := strings.Cut(c, " ")
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		return req
	}, map[string]bool{
		"/c":                       false,
		"/c mode=a":                false,
		"/c j=%7B%22n%22%3A5%7D":   false,
		`/c j={"n":5}`:             false,
		`/c j={"n":5}; mode=a`:     false,
		"/c j=%7B%22n%22%3A50%7D":  true,
		`/c j={"n":50}`:            true,
		"/c j=5":                   true,
		"/c j=%7B%22n":             true,
		"/c j=%ZZ":                 true,
		`/c j={"n":5}; j={"n":50}`: true,
		`/c j={"n":5}; mode=c`:     true,
		"/r":                       true,
		"/r mode=a":                true,
		"/r j=%7B%22n%22%3A5%7D":   false,
	})
}
