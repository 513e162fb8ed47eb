package openapi_test

import (
	"net/http"
	"testing"
)

// TestHeadValidatedAsGet: Go's ServeMux, Express, Rails and most other
// frameworks serve a HEAD with the GET handler of its path. A description
// without a HEAD operation, then, has the HEAD validated as the GET: with
// AllowUnknownRoutes "HEAD /pets/0" must not reach the GET handler
// unvalidated, and without it a valid HEAD is not refused.
func TestHeadValidatedAsGet(t *testing.T) {
	const base = "https://api.example.test/v1"
	checkRoutedMethod(t, http.MethodHead, []routedPath{
		{base + "/pets/7", "/v1/pets/{petId}", false},
		{base + "/pets/0", "/v1/pets/{petId}", true},
		{base + "/pets?limit=0", "/v1/pets", true},
		{base + "/pets?limit=5", "/v1/pets", false},
	})
}
