package openapi_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// queryObjSpec has an exploded form object query parameter, whose
// properties are query parameters of their own, next to a scalar one.
const queryObjSpec = `
openapi: 3.0.3
info: {title: objects, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: ids, in: query, schema: {type: array, items: {type: integer, maximum: 100}}}
        - name: filter
          in: query
          schema:
            type: object
            properties:
              color: {type: string, enum: [red, blue]}
              n: {type: integer, maximum: 100}
      responses: {"200": {description: ok}}
`

// checkQueries sends each query through an Enforce layer over spec and
// checks whether it is a violation.
func checkQueries(t *testing.T, spec string, cases map[string]bool) {
	t.Helper()
	for q, violation := range cases {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(spec)})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q?"+q, nil)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
			t.Errorf("%q: err = %v, want violation %v", q, err, violation)
		}
		if sent := next.Calls() != 0; sent == violation {
			t.Errorf("%q: sent %v", q, sent)
		}
	}
}

// TestRepeatedExplodedObjectPropertyIsViolation: a property of an
// exploded form object is a query parameter of its own, serialized once;
// openapi3filter validates its first value only, and an upstream that
// reads the last (PHP) or all of them gets one not validated.
func TestRepeatedExplodedObjectPropertyIsViolation(t *testing.T) {
	checkQueries(t, queryObjSpec, map[string]bool{
		"color=red":               false,
		"color=red&n=5":           false,
		"color=green":             true,
		"color=red&color=green":   true,
		"color=red&color=red":     true,
		"n=5&n=99999":             true,
		"c%6Flor=red&color=green": true,
		"ids=1&ids=2&color=blue":  false,
		"limit=5&color=red&n=100": false,
	})
}

// queryCaseSpec has query parameters of every kind whose name an
// upstream may read in another case.
const queryCaseSpec = `
openapi: 3.0.3
info: {title: case, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 100}}
        - {name: pageSize, in: query, schema: {type: integer, maximum: 100}}
        - {name: ids, in: query, schema: {type: array, items: {type: integer, maximum: 100}}}
        - {name: d, in: query, style: deepObject, schema: {type: object, properties: {s: {type: string, minLength: 3}}}}
        - name: filter
          in: query
          schema:
            type: object
            properties:
              color: {type: string, enum: [red, blue]}
      responses: {"200": {description: ok}}
`

// TestQueryNameInAnotherCaseIsViolation: ASP.NET and other
// case-insensitive binders read "LIMIT" as the parameter "limit", which
// openapi3filter (case-sensitive, as OpenAPI is) does not validate. A query
// name that is a declared one but for case is a violation.
func TestQueryNameInAnotherCaseIsViolation(t *testing.T) {
	checkQueries(t, queryCaseSpec, map[string]bool{
		"limit=5":             false,
		"pageSize=5":          false,
		"other=1&OTHER=2":     false,
		"LIMIT=99999":         true,
		"Limit=5":             true,
		"limit=5&LIMIT=99999": true,
		"pagesize=99999":      true,
		"PAGESIZE=5":          true,
		"IDS=999":             true,
		"D[s]=x":              true,
		"d[s]=abc":            false,
		"COLOR=green":         true,
		"color=red":           false,
		"L%49MIT=99999":       true,
	})
}

// TestQuerySemicolonIsViolation: url.ParseQuery, and so openapi3filter,
// drops a query pair with a ";", while older upstreams (and some
// frameworks still) split the query on ";" as on "&": "limit=5;limit=99999"
// would reach them unvalidated. A ";" in the query of a validated
// operation is a violation; one escaped as "%3B" is part of a value.
func TestQuerySemicolonIsViolation(t *testing.T) {
	checkQueries(t, queryCaseSpec, map[string]bool{
		"limit=5;limit=99999": true,
		"limit=99999;":        true,
		"x=1;limit=99999":     true,
		";":                   true,
		"limit=5&x=a%3Bb":     false,
		"limit=5&x=a;b":       true,
	})
}

// TestQueryInvalidEscapeIsViolation: url.ParseQuery, and so
// openapi3filter, drops a query pair with an invalid percent-encoding,
// while PHP and Node's qs keep it as written: "limit=99999%zz" is limit
// 99999 to (int) and parseInt, never validated. Such a query is a
// violation.
func TestQueryInvalidEscapeIsViolation(t *testing.T) {
	checkQueries(t, queryCaseSpec, map[string]bool{
		"limit=99999%zz":    true,
		"limit=99999%":      true,
		"limit=99999%2":     true,
		"li%zzmit=5":        true,
		"limit=5&x=%zz":     true,
		"limit=5&x=100%25":  false,
		"limit=5&x=a%2Bb+c": false,
	})
}
