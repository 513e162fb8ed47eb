package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// bigIntFormSpec bounds integers of a form body past 2^53.
const bigIntFormSpec = `
openapi: 3.0.3
info: {title: bigint, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /f:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                n: {type: integer, maximum: 9007199254740992}
                id: {type: integer, format: int64, maximum: 10000000000000000}
                ids: {type: array, items: {type: integer, maximum: 9007199254740992}}
                csv: {type: array, items: {type: integer, maximum: 9007199254740992}}
                note: {type: string}
            encoding:
              csv: {style: form, explode: false}
      responses: {"200": {description: ok}}
`

// TestBigIntegerFormBodyBounds: a form body's integer field is read by
// openapi3filter as an int64 and compared with its bounds as a float64:
// "n=9007199254740993" passed a maximum of 9007199254740992. It is held
// to its bounds exactly, as a JSON body's.
func TestBigIntegerFormBodyBounds(t *testing.T) {
	checkRequests(t, bigIntFormSpec, func(body string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/f", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}, map[string]bool{
		"n=9007199254740992":            false,
		"n=9007199254740993":            true,
		"id=10000000000000000":          false,
		"id=10000000000000001":          true,
		"ids=1&ids=9007199254740992":    false,
		"ids=1&ids=9007199254740993":    true,
		"note=12345678901234567890":     false,
		"csv=1,9007199254740992":        false,
		"csv=1,9007199254740993":        true,
		"n=1&note=12345678901234567890": false,
	})
}
