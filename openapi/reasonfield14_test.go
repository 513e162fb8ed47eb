package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

func reasonSpec(ver string) []byte {
	return []byte(`openapi: ` + ver + `
info: {title: t, version: "1"}
servers: [{url: "https://api.example.test"}]
paths:
  /login:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                password: {type: string, pattern: "^[a-z]+$", maxLength: 5}
                num: {type: integer}
                not: {not: {type: string}}
      responses:
        "200": {description: ok}
`)
}

// reasonFor sends body to POST /login under spec and returns the
// violation's reason, failing the test if the request was sent or the
// reason quotes the canary.
func reasonFor(t *testing.T, spec []byte, body string) string {
	t.Helper()
	next := transporttest.NewResponder(transporttest.Respond(200, ``))
	rt := newLayer(t, next, openapi.Config{Spec: spec})
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	_, err := rt.RoundTrip(req)
	var ve *openapi.ViolationError
	if !errors.As(err, &ve) {
		t.Fatalf("%s: err = %v, want a *ViolationError", body, err)
	}
	if n := len(next.Requests()); n != 0 {
		t.Fatalf("%s: %d requests sent, want 0", body, n)
	}
	if strings.Contains(ve.Reason, "unter2") {
		t.Fatalf("%s: reason quotes the value: %q", body, ve.Reason)
	}
	return ve.Reason
}

// A field of an OpenAPI 3.1 body breaking two rules, or two fields
// breaking one each: the reason names the JSON pointer of a failing
// field and the rule it broke, as for one failure, and how many more
// there are.
func TestReason31NamesFieldOfSeveralFailures(t *testing.T) {
	s := reasonSpec("3.1.0")
	for _, tc := range []struct{ body, ptr string }{
		{`{"password":"Hunter2Canary"}`, "at /password: fails "},
		{`{"password":"Hunter2Canary","num":"Hunter2Canary"}`, `: fails "`}, // either field first
	} {
		r := reasonFor(t, s, tc.body)
		if !strings.Contains(r, tc.ptr) || !strings.Contains(r, " more)") {
			t.Errorf("%s: reason %q, want it to hold %q and how many more", tc.body, r, tc.ptr)
		}
	}
	// One failure: as before.
	if r := reasonFor(t, s, `{"num":"Hunter2Canary"}`); !strings.HasSuffix(r, `at /num: fails "type"`) {
		t.Errorf("one failure: reason %q", r)
	}
}

// A value an OpenAPI 3.0 "not" refuses: the reason names the rule, where
// kin-openapi gives none.
func TestReason30NamesNot(t *testing.T) {
	r := reasonFor(t, reasonSpec("3.0.3"), `{"not":"Hunter2Canary"}`)
	if !strings.HasSuffix(r, `at /not: fails "not"`) {
		t.Errorf("reason %q, want it to end with %q", r, `at /not: fails "not"`)
	}
}
