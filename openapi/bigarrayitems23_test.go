package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func bigArrayItemsSpec(ver string) string {
	excl := "{type: integer, maximum: 9007199254740993, exclusiveMaximum: true}"
	if ver == "3.1.0" {
		excl = "{type: integer, exclusiveMaximum: 9007199254740993}"
	}
	arr := "{type: array, items: " + excl + "}"
	return `
openapi: ` + ver + `
info: {title: bigarrayitems, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /a/{p}:
    get:
      parameters:
        - {name: p, in: path, required: true, schema: ` + arr + `}
        - {name: ids, in: query, schema: ` + arr + `}
        - {name: csv, in: query, explode: false, schema: ` + arr + `}
        - {name: X-Ids, in: header, schema: ` + arr + `}
      responses: {"200": {description: ok}}
`
}

// TestBigArrayItemWithinExclusiveBoundPasses: openapi3filter compares an
// array parameter's item with its bounds as float64s, so it refused
// "?ids=9007199254740992" for items of exclusiveMaximum 9007199254740993
// (both the float64 9007199254740992) in a query (exploded or not), path
// or header array: in Enforce mode no such call went out, as the exact
// answer stood for a scalar parameter only. An item is now held to its
// bounds exactly too; an item breaking its bound, or another failure, is
// still a violation.
func TestBigArrayItemWithinExclusiveBoundPasses(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		checkRequests(t, bigArrayItemsSpec(ver), func(k string) *http.Request {
			target, header, _ := strings.Cut(k, " X-Ids: ")
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+target, nil)
			if header != "" {
				req.Header.Set("X-Ids", header)
			}
			return req
		}, map[string]bool{
			"/a/1?ids=1&ids=9007199254740992":                   false,
			"/a/1?ids=9007199254740993":                         true,
			"/a/1?ids=9007199254740992&ids=x":                   true,
			"/a/1?csv=1,9007199254740992":                       false,
			"/a/1?csv=9007199254740993":                         true,
			"/a/1,9007199254740992":                             false,
			"/a/9007199254740993":                               true,
			"/a/1 X-Ids: 1, 9007199254740992":                   false,
			"/a/1 X-Ids: 9007199254740993":                      true,
			"/a/1?ids=9007199254740992 X-Ids: 9007199254740993": true,
		})
	}
}
