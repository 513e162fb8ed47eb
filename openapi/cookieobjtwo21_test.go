package openapi_test

import (
	"net/http"
	"testing"
)

// twoCookieObjectsSpec has an operation with two exploded form cookie
// objects, each closed (additionalProperties false), and one whose second
// object allows other properties.
const twoCookieObjectsSpec = `
openapi: 3.0.3
info: {title: cookies, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /two:
    get:
      parameters:
        - {name: a, in: cookie, schema: {type: object, additionalProperties: false, properties: {color: {type: string, enum: [red, blue]}}}}
        - {name: b, in: cookie, schema: {type: object, additionalProperties: false, properties: {size: {type: string, enum: [S, L]}}}}
      responses: {"200": {description: ok}}
  /open:
    get:
      parameters:
        - {name: a, in: cookie, schema: {type: object, additionalProperties: false, properties: {color: {type: string, enum: [red, blue]}}}}
        - {name: b, in: cookie, schema: {type: object, properties: {size: {type: string, enum: [S, L]}}}}
      responses: {"200": {description: ok}}
`

// TestTwoExplodedCookieObjectsKeepTheirProperties: each property of an
// exploded form cookie object is a cookie of its own, and a cookie another
// such object of the operation declares (or may take, allowing other
// properties) is that object's, as a query key is (queryKeyOfOther): it
// was taken for an undeclared property of the first, closed object, and
// every valid request sending both objects was a violation, so in Enforce
// mode no such call went out. Each object's own properties are still
// validated, and a cookie neither declares is still refused by a closed
// object when no other may take it.
func TestTwoExplodedCookieObjectsKeepTheirProperties(t *testing.T) {
	checkRequests(t, twoCookieObjectsSpec, func(c string) *http.Request {
		path, cookie, _ := cutSpace(c)
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1"+path, nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		return req
	}, map[string]bool{
		"/two color=red; size=L":              false,
		"/two color=red":                      false,
		"/two size=S":                         false,
		"/two color=green; size=L":            true,
		"/two color=red; size=M":              true,
		"/two color=red; size=L; admin=true":  true,
		"/open color=red; size=L; admin=true": false, // b takes admin
		"/open color=green; size=L":           true,
		"/open color=red; size=M":             true,
	})
}

func cutSpace(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
