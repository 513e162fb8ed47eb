package openapi

import (
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
)

// TestParamIntegersAllocs: paramIntegers read a header parameter with
// Header.Values, which allocates the canonical form of a name the
// description does not write canonically ("x-request-id"): one allocation
// a request for every such parameter, with no integer of 16 digits in
// sight. A request without one allocates nothing in paramIntegers.
func TestParamIntegersAllocs(t *testing.T) {
	integer := &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}}}
	ps := []*openapi3.Parameter{
		{Name: "x-request-id", In: openapi3.ParameterInHeader, Schema: integer},
		{Name: "X-Limit", In: openapi3.ParameterInHeader, Schema: integer},
		{Name: "limit", In: openapi3.ParameterInQuery, Schema: integer},
		{Name: "id", In: openapi3.ParameterInPath, Schema: integer},
		{Name: "session", In: openapi3.ParameterInCookie, Schema: integer},
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/n/7?limit=5", nil)
	req.Header.Set("X-Request-Id", "12")
	req.Header.Set("X-Limit", "3")
	req.Header.Set("Cookie", "session=4")
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: map[string]string{"id": "7"}, Options: &openapi3filter.Options{}}
	in.GetQueryParams() // as validateRequest's earlier checks do
	if errs := paramIntegers(in, ps, nil); len(errs) != 0 {
		t.Fatalf("paramIntegers = %v", errs)
	}
	if n := testing.AllocsPerRun(100, func() { paramIntegers(in, ps, nil) }); n != 0 {
		t.Errorf("paramIntegers: %v allocations a request without a long integer, want 0", n)
	}

	// A header named in another case than the description's is still read.
	req.Header.Set("X-Request-Id", "9223372036854775808")
	ps[0].Schema = &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Format: "int64"}}
	if errs := paramIntegers(in, ps, nil); len(errs) != 1 {
		t.Errorf("x-request-id 2^63, format int64: paramIntegers = %v, want one violation", errs)
	}
}
