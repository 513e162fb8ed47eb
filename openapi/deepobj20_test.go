package openapi_test

import (
	"net/http"
	"testing"
)

// deepObjectClosedSpec has a deepObject query parameter whose schema
// allows no other property than its own.
const deepObjectClosedSpec = `
openapi: 3.0.3
info: {title: deep, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /q:
    get:
      parameters:
        - name: f
          in: query
          style: deepObject
          explode: true
          schema:
            type: object
            additionalProperties: false
            properties:
              color: {type: string, enum: [red, blue]}
        - name: g
          in: query
          style: deepObject
          explode: true
          schema:
            type: object
            additionalProperties: {type: integer, maximum: 10}
      responses: {"200": {description: ok}}
`

// TestDeepObjectUndeclaredPropertyIsViolation: a deepObject property the
// schema does not declare, with additionalProperties false, is a violation
// (openapi3filter dropped it, so "?f[color]=red&f[admin]=true" passed, and
// reached an upstream that binds f as {"color":"red","admin":"true"}).
func TestDeepObjectUndeclaredPropertyIsViolation(t *testing.T) {
	checkRequests(t, deepObjectClosedSpec, func(q string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/q?"+q, nil)
		return req
	}, map[string]bool{
		"f[color]=red":               false,
		"f[color]=green":             true,
		"f[color]=red&f[admin]=true": true,
		"f[admin]=true":              true,
		"f[color][x]=red":            true,
		"g[a]=5":                     false,
		"g[a]=99999":                 true,
	})
}
