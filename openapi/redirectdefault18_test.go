package openapi_test

import (
	"strings"
	"testing"
)

// TestUnlistedRedirectPassesDespiteDefault: a 301, 307 or 308 the
// operation does not list by code or range passes whatever its
// "default" response says (e654335), but a 302 or 303 was validated
// against the default (an error body's JSON schema: "Content-Type not
// allowed"), failing every redirect http.Client would follow. Each 3xx
// not listed passes; one listed by code or range is validated.
func TestUnlistedRedirectPassesDespiteDefault(t *testing.T) {
	def := `        default:
          description: error
          headers:
            X-Err: {required: true, schema: {type: string}}
          content:
            application/json:
              schema: {type: object, required: [code], properties: {code: {type: integer}}}
`
	s := spec18(`[{url: "https://api.example.test/v1"}]`, def)
	for _, st := range []int{301, 302, 303, 307, 308} {
		if ve, _ := call18(t, s, "https://api.example.test/v1/pets/1", st, "Location", "https://api.example.test/v1/pets/2"); ve != nil {
			t.Errorf("unlisted %d with a default: %v, want no violation", st, ve)
		}
	}
	// Listed by a range: validated (its required header missing).
	listed := def + `        "3XX":
          description: redirect
          headers:
            Location: {required: true, schema: {type: string}}
`
	s = spec18(`[{url: "https://api.example.test/v1"}]`, listed)
	for _, st := range []int{301, 302, 303, 307, 308} {
		if ve, _ := call18(t, s, "https://api.example.test/v1/pets/1", st); ve == nil || !strings.Contains(ve.Reason, `"Location" missing`) {
			t.Errorf("listed %d without Location: %v, want a violation", st, ve)
		}
	}
	// A 4xx still goes to the default.
	if ve, _ := call18(t, spec18(`[{url: "https://api.example.test/v1"}]`, def), "https://api.example.test/v1/pets/1", 404); ve == nil {
		t.Errorf("404 against the default: no violation")
	}
}
