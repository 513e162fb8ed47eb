package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

const unreadCookieSpec = `
openapi: 3.0.3
info: {title: cookies, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /c:
    get:
      parameters:
        - {name: mode, in: cookie, schema: {type: string, enum: [a, b]}}
        - {name: limit, in: cookie, schema: {type: integer, maximum: 10}}
        - {name: f, in: cookie, explode: false, schema: {type: object, properties: {color: {type: string, enum: [red]}}}}
      responses: {"200": {description: ok}}
`

// TestDeclaredCookieNetHTTPCannotReadIsViolation: openapi3filter reads a
// cookie parameter with Request.Cookie, which leaves out a value with a
// byte RFC 6265 does not allow (a '"', a '\', a control or non-ASCII
// byte) and every cookie of a header with more than 3000, so such a
// cookie was not validated at all, an optional one passing whatever its
// value ("mode=admin\"", "limit=99\\", "f=color,gre\"en") to an upstream
// that reads it (PHP, Express, Rack). A cookie parameter the validator
// cannot read is a violation now.
func TestDeclaredCookieNetHTTPCannotReadIsViolation(t *testing.T) {
	checkRequests(t, unreadCookieSpec, func(c string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/c", nil)
		if c == "many" {
			c = strings.Repeat("x=1; ", 3000) + "mode=admin"
		}
		req.Header.Set("Cookie", c)
		return req
	}, map[string]bool{
		`mode=a`:            false,
		`mode="b"; limit=5`: false,
		`mode=a; other=x"y`: false, // not a parameter
		`f=color,red`:       false,
		`j={"n":5}`:         false, // '"' and ','
		`mode=admin"`:       true,
		`mode="admin`:       true,
		`mode=admin\`:       true,
		`mode=ädmin`:        true,
		"mode=ad\x01min":    true,
		`limit=99\`:         true,
		`f=color,gre"en`:    true,
		`many`:              true,
	})
}
