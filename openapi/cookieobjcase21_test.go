package openapi_test

import (
	"net/http"
	"testing"
)

// cookieObjectCaseSpec has an exploded form cookie object (a cookie
// object's default serialization) that allows other properties, next to
// a cookie parameter.
const cookieObjectCaseSpec = `
openapi: 3.0.3
info: {title: cookies, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /c:
    get:
      parameters:
        - name: prefs
          in: cookie
          schema:
            type: object
            properties:
              color: {type: string, enum: [red, blue]}
              Size: {type: integer, maximum: 10}
        - {name: sess, in: cookie, schema: {type: string}}
      responses: {"200": {description: ok}}
`

// TestExplodedCookieObjectPropertyInAnotherCaseIsViolation: a property of
// an exploded form cookie object is a cookie of its own, and one sent
// named in another case ("COLOR=green" for "color") was taken for an
// additional property, which the schema allows, and passed unvalidated to
// an upstream that reads cookies by name ignoring case (ASP.NET Core) and
// binds it to color, as a cookie parameter so named was before
// TestCookieNameInAnotherCaseIsViolation and a query object's property is
// (queryNameCase). It is a violation now; a cookie named as a declared
// one exactly never is.
func TestExplodedCookieObjectPropertyInAnotherCaseIsViolation(t *testing.T) {
	checkRequests(t, cookieObjectCaseSpec, func(c string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/c", nil)
		req.Header.Set("Cookie", c)
		return req
	}, map[string]bool{
		"color=red":             false,
		"color=red; Size=3":     false,
		"color=red; other=x":    false,
		"sess=a; theme=dark":    false,
		"COLOR=green":           true,
		"Color=red":             true,
		"color=red; COLOR=blue": true,
		"size=99":               true,
		"SESS=a":                true,
	})
}
