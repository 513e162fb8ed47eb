package openapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
)

// TestListedRedirectAndNotModifiedValidated: openapi3filter returns at
// once for a 301, 304, 307 or 308, so one the operation lists (by its
// code or a range) was never validated: a 307 without the Location it
// declares required, a 301 whose JSON body breaks its schema, a 304
// without its required ETag reached the caller in Enforce mode (one not
// followed: no Location, CheckRedirect, a 304). They are validated like
// any other status (a 304's body, which it never has, not). One the
// operation does not list by code or range still passes, as before.
func TestListedRedirectAndNotModifiedValidated(t *testing.T) {
	for _, mode := range []openapi.Mode{openapi.Enforce, openapi.ReportOnly} {
		for _, c := range []struct {
			name   string
			status int
			body   string
			kv     []string
			want   string // a reason's part, "" for none
		}{
			{"307 with Location", 307, "", []string{"Location", "https://api.example.test/v1/things/y"}, ""},
			{"307 without Location", 307, "", nil, `"Location" missing`},
			{"301 valid body", 301, `{"a":1}`, []string{"Content-Type", "application/json"}, ""},
			{"301 body breaks schema", 301, `{"a":"x"}`, []string{"Content-Type", "application/json"}, "/a"},
			{"301 body twice a member", 301, `{"a":1,"a":2}`, []string{"Content-Type", "application/json"}, "member"},
			{"301 other media type", 301, `<html/>`, []string{"Content-Type", "text/html"}, "Content-Type"},
			{"304 with ETag", 304, "", []string{"ETag", `"v1"`}, ""},
			{"304 without ETag", 304, "", nil, `"ETag" missing`},
			{"308 not listed", 308, `{"a":"x"}`, []string{"Content-Type", "application/json"}, ""},
		} {
			ve, err := roundTrip17(t, http.MethodGet, mode, c.status, c.body, c.kv...)
			switch {
			case c.want == "" && (ve != nil || err != nil):
				t.Errorf("mode %d %s: %v %v, want no violation", mode, c.name, ve, err)
			case c.want != "" && (ve == nil || !strings.Contains(ve.Reason, c.want)):
				t.Errorf("mode %d %s: %v %v, want a violation %q", mode, c.name, ve, err, c.want)
			case c.want != "" && mode == openapi.ReportOnly && err != nil:
				t.Errorf("mode ReportOnly %s: %v, want the response", c.name, err)
			}
		}
	}
}
