package openapi_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestPHPNameWithNULIsViolation: PHP registers a query or form name as a
// C string (php_register_variable_ex takes its strlen), so a name with a
// NUL, decoded from "%00", is cut there: "page_size%00=99999" reaches a
// PHP upstream as page_size (after "page_size=5", the last one wins),
// which openapi3filter, reading "page_size\x00" as another key, never
// validated. Such a name is a violation as other names PHP reads as a
// declared one are.
func TestPHPNameWithNULIsViolation(t *testing.T) {
	checkRequests(t, phpSpec, func(k string) *http.Request {
		q, form, _ := strings.Cut(k, "|")
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/q?"+q, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}, map[string]bool{
		"page_size=5|":                    false,
		"page_size=5&other%00=1|":         false,
		"page_size=5&page_size%00=99999|": true,
		"page_size%00x=99999|":            true,
		"page.size%00=99999|":             true,
		"ids%00[]=999|":                   true,
		"|max_len=5&max_len%00=99":        true,
		"|max_len%00junk=99":              true,
	})
}
