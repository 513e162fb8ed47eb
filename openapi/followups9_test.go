package openapi_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// cookieCaseSpec declares cookie parameters, two of one name but for case.
const cookieCaseSpec = `
openapi: 3.0.3
info: {title: cookies, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - {name: limit, in: cookie, schema: {type: integer, maximum: 100}}
        - {name: mode, in: cookie, schema: {type: string, enum: [a, b]}}
        - {name: Mode, in: cookie, schema: {type: string, enum: [a, b]}}
      responses: {"200": {description: ok}}
`

// checkRequests sends each request mk builds, keyed by a case name,
// through an Enforce layer over spec and checks whether it is a violation.
func checkRequests(t *testing.T, spec string, mk func(k string) *http.Request, cases map[string]bool) {
	t.Helper()
	for k, violation := range cases {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(spec)})
		resp, err := rt.RoundTrip(mk(k))
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%q: err = %v, want violation %v", k, err, violation)
		}
		if sent := next.Calls() != 0; sent == violation {
			t.Errorf("%q: sent %v", k, sent)
		}
	}
}

// TestCookieNameInAnotherCaseIsViolation: ASP.NET Core reads request cookies
// by name ignoring case (RequestCookieCollection, OrdinalIgnoreCase), so it
// reads "LIMIT=99999" as the cookie parameter "limit", which openapi3filter
// (case-sensitive, as OpenAPI is) does not validate. A cookie name that is a
// declared one but for case is a violation, as a query name is.
func TestCookieNameInAnotherCaseIsViolation(t *testing.T) {
	checkRequests(t, cookieCaseSpec, func(c string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q", nil)
		req.Header.Set("Cookie", c)
		return req
	}, map[string]bool{
		"limit=5":              false,
		"other=1; OTHER=2":     false,
		"mode=a; Mode=b":       false,
		"LIMIT=99999":          true,
		"Limit=5":              true,
		"limit=5; LIMIT=99999": true,
		"MODE=c":               true,
		"limit=99999":          true,
	})
}

// phpSpec declares query and cookie parameters and a form body whose names
// have an "_" where PHP turns "." and " " into one.
const phpSpec = `
openapi: 3.0.3
info: {title: php, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    post:
      parameters:
        - {name: page_size, in: query, schema: {type: integer, maximum: 100}}
        - {name: ids, in: query, schema: {type: array, items: {type: integer, maximum: 100}}}
        - {name: d, in: query, style: deepObject, schema: {type: object, properties: {s: {type: string, minLength: 3}}}}
        - {name: a_b, in: query, schema: {type: string, maxLength: 3}}
        - {name: sess_id, in: cookie, schema: {type: string, maxLength: 3}}
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                max_len: {type: integer, maximum: 10}
      responses: {"200": {description: ok}}
`

// TestPHPMangledNameIsViolation: PHP files a query, form or cookie name
// under another one ($_GET, $_POST, $_COOKIE): "." and " " become "_", a
// "[" no "]" closes becomes "_", leading spaces go, and "x[...]" is the
// array x. So "page.size=99999" reaches a PHP upstream as the declared
// page_size, which openapi3filter (exact names) never validated. A name
// PHP reads as a declared one but that is not that name is a violation.
func TestPHPMangledNameIsViolation(t *testing.T) {
	checkRequests(t, phpSpec, func(k string) *http.Request {
		parts := strings.SplitN(k, "|", 3)
		q, form, cookie := parts[0], parts[1], parts[2]
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/q?"+q, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		return req
	}, map[string]bool{
		"page_size=5||":          false,
		"ids=1&ids=2||":          false,
		"d[s]=abc||":             false,
		"a_b=x||":                false,
		"other.x=1&o%20y=2||":    false,
		"page.size=99999||":      true,
		"page+size=99999||":      true,
		"page%20size=99999||":    true,
		"page%2Esize=99999||":    true,
		"%20page_size=99999||":   true,
		"page[size=99999||":      true,
		"page_size[]=99999||":    true,
		"ids[]=999||":            true,
		"a[b=waytoolong||":       true,
		"a.b=waytoolong||":       true,
		"|max_len=5|":            false,
		"|max.len=99|":           true,
		"|max%20len=99|":         true,
		"|max_len[]=99|":         true,
		"||sess_id=abc":          false,
		"||sess.id=waytoolong":   true,
		"page_size=5|max_len=5|": false,
	})
}

// overrideMethodSpec has a GET an upstream may be told to run as a DELETE,
// and a POST that declares an override header itself.
const overrideMethodSpec = `
openapi: 3.0.3
info: {title: override, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /pets/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer}}
    get:
      responses: {"200": {description: ok}}
    post:
      parameters:
        - {name: X-HTTP-Method-Override, in: header, schema: {type: string, enum: [PATCH]}}
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {name: {type: string}}}
      responses: {"200": {description: ok}}
`

// TestMethodOverrideIsViolation: Rack, ASP.NET Core, Express's
// method-override, Symfony and Laravel run a POST (some any method) as the
// method an X-HTTP-Method-Override, X-HTTP-Method or X-Method-Override
// header or a _method field names, so "GET /pets/1" validated as the GET
// would reach them as a DELETE no operation allows. Such a header or field
// is a violation unless the operation declares it.
func TestMethodOverrideIsViolation(t *testing.T) {
	checkRequests(t, overrideMethodSpec, func(k string) *http.Request {
		method, rest, _ := strings.Cut(k, " ")
		target, hdr, _ := strings.Cut(rest, " ")
		path, form, _ := strings.Cut(target, "|")
		var body io.Reader
		if form != "" {
			body = strings.NewReader(form)
		}
		req, _ := http.NewRequest(method, "https://api.example.test/v1"+path, body)
		if form != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if name, v, ok := strings.Cut(hdr, ":"); ok {
			req.Header[name] = []string{v}
		}
		return req
	}, map[string]bool{
		"GET /pets/1": false,
		"GET /pets/1 X-HTTP-Method-Override:DELETE":         true,
		"GET /pets/1 x-http-method-override:DELETE":         true,
		"GET /pets/1 X-Http-Method:DELETE":                  true,
		"GET /pets/1 X-Method-Override:DELETE":              true,
		"GET /pets/1?_method=DELETE":                        true,
		"GET /pets/1?%5Fmethod=DELETE":                      true,
		"POST /pets/1|name=a&_METHOD=DELETE":                true,
		"POST /pets/1|name=a&%5Fmethod=DELETE":              true,
		"POST /pets/1|name=a":                               false,
		"POST /pets/1|name=a&_method=DELETE":                true,
		"POST /pets/1|name=a X-Method-Override:PUT":         true,
		"POST /pets/1|name=a X-HTTP-Method-Override:PATCH":  false,
		"POST /pets/1|name=a X-HTTP-Method-Override:DELETE": true,
	})
}
