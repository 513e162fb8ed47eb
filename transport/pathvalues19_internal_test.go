package transport

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
)

// TestHasPathValuesAgreesWithReflect: hasPathValues, which reads
// http.Request's matches and otherValues through their offsets, says what
// reflect says of them, for a client request without path values, one
// given some with SetPathValue, and a server request a ServeMux matched
// by a pattern with a wildcard (matches set, otherValues not).
func TestHasPathValuesAgreesWithReflect(t *testing.T) {
	if !pathValueFields.ok {
		t.Fatal("http.Request's path-value fields not found: every attempt would take Request.Clone")
	}
	viaReflect := func(r *http.Request) bool {
		v := reflect.ValueOf(r).Elem()
		return v.FieldByName("matches").Len() > 0 || v.FieldByName("otherValues").Len() > 0
	}
	plain, _ := http.NewRequest("GET", "https://api.example.test/x", nil)
	set, _ := http.NewRequest("GET", "https://api.example.test/x", nil)
	set.SetPathValue("id", "7")
	var matched *http.Request
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(_ http.ResponseWriter, r *http.Request) { matched = r })
	mux.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/items/42", nil))
	if matched == nil {
		t.Fatal("the mux did not match")
	}
	for _, c := range []struct {
		name string
		r    *http.Request
		want bool
	}{{"plain", plain, false}, {"SetPathValue", set, true}, {"matched", matched, true}} {
		if got := hasPathValues(c.r); got != c.want || got != viaReflect(c.r) {
			t.Errorf("%s: hasPathValues = %v, reflect says %v, want %v", c.name, got, viaReflect(c.r), c.want)
		}
	}
}
