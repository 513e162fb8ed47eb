package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/securecall/securecall/openapi"
	_ "github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// reviewSpec is an OpenAPI 3.0 description with date formats, a string
// path parameter, and an operation whose responses list 200 only.
const reviewSpec = `
openapi: 3.0.3
info: {title: review, version: "1"}
servers: [{url: "https://api.example.test/v1"}]
paths:
  /people/{name}:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object}
  /people/{name}/keys:
    get:
      parameters:
        - {name: name, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}
  /forms:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                born: {type: string, format: date}
                at: {type: string, format: date-time}
      responses:
        "200": {description: ok}
`

// TestFormatReasonHasNoValue: a value that fails a "format" (an
// impossible date of birth) is named by its JSON pointer and the format,
// never quoted: kin-openapi's format reason carries the date parser's
// error, which repeats the value.
func TestFormatReasonHasNoValue(t *testing.T) {
	for _, body := range []string{`{"born":"1990-02-31"}`, `{"at":"1990-02-31T00:00:00Z"}`} {
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		var hooked string
		rt := newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec), OnViolation: func(_ context.Context, v *openapi.Violation) { hooked = v.Reason }})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/forms", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		_, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) {
			t.Fatalf("%s: err = %v, want *ViolationError", body, err)
		}
		if !strings.Contains(ve.Reason, "format") || !strings.Contains(ve.Reason, "at /") {
			t.Errorf("%s: reason %q does not name the field and the format", body, ve.Reason)
		}
		for _, s := range []string{err.Error(), hooked} {
			if strings.Contains(s, "1990") || strings.Contains(s, "02-31") {
				t.Errorf("%s: violation carries the value: %q", body, s)
			}
		}
	}
}

// TestUndocumentedStatusIsViolation: the package validates the response
// status; a status the operation does not list (and no "default") is a
// response violation, as the description does not allow it.
func TestUndocumentedStatusIsViolation(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(418, `{"error":"x"}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec)})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/people/ann", nil)
	resp, err := rt.RoundTrip(req)
	var ve *openapi.ViolationError
	if resp != nil || !errors.As(err, &ve) || ve.Direction != "response" || ve.StatusCode != 418 {
		t.Fatalf("resp %v err %v, want a response *ViolationError for status 418", resp, err)
	}
	if !next.Bodies()[0].Closed() {
		t.Fatal("refused response body not closed")
	}
	// An unlisted 429 or 5xx is the server's state, not a contract
	// breach: the caller gets the answer (and its Retry-After) as it is.
	for _, status := range []int{429, 500, 503} {
		next = transporttest.NewResponder(transporttest.Respond(status, `busy`, "Content-Type", "text/plain", "Retry-After", "1"))
		rt = newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec)})
		req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/v1/people/ann", nil)
		resp, err = rt.RoundTrip(req)
		if err != nil || resp.StatusCode != status || resp.Header.Get("Retry-After") != "1" {
			t.Fatalf("unlisted %d: resp %v err %v; want the upstream answer", status, resp, err)
		}
		resp.Body.Close()
	}
	// A listed status still goes through.
	next = transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	rt = newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec)})
	req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/v1/people/ann", nil)
	resp, err = rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestDotSegmentPathMatchesNoOperation: a path with a "." or ".."
// segment (also percent-encoded) is not the operation its shape matches:
// the upstream removes dot segments (RFC 3986 section 5.2.4), so
// /v1/people/../keys is /v1/keys there. It matches no operation: a
// violation, nothing sent.
func TestDotSegmentPathMatchesNoOperation(t *testing.T) {
	for _, u := range []string{
		"https://api.example.test/v1/people/..",
		"https://api.example.test/v1/people/../keys",
		"https://api.example.test/v1/people/%2e%2E/keys",
		"https://api.example.test/v1/people/./keys",
		"https://api.example.test/v1/people/%2E",
	} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec)})
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		resp, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if resp != nil || !errors.As(err, &ve) || ve.Route != "" {
			t.Errorf("%s: resp %v err %v, want a request *ViolationError without a route", u, resp, err)
		}
		if next.Calls() != 0 {
			t.Errorf("%s: sent", u)
		}
	}
	// Dots inside a segment are an ordinary value.
	next := transporttest.NewResponder(transporttest.Respond(200, `{}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec)})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/people/a..b", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestLargeBodyMediaTypeChecked: a response body over MaxBodyBytes is not
// validated, but its headers still are (Config.MaxBodyBytes), the
// Content-Type among them: a large HTML page where the operation lists
// JSON only is a violation.
func TestLargeBodyMediaTypeChecked(t *testing.T) {
	page := "<html>" + strings.Repeat("x", 4096) + "</html>"
	next := transporttest.NewResponder(transporttest.Respond(200, page, "Content-Type", "text/html"))
	rt := newLayer(t, next, openapi.Config{MaxBodyBytes: 1024})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/1", nil)
	resp, err := rt.RoundTrip(req)
	var ve *openapi.ViolationError
	if resp != nil || !errors.As(err, &ve) || ve.Direction != "response" || !strings.Contains(ve.Reason, "Content-Type") {
		t.Fatalf("resp %v err %v, want a response *ViolationError naming Content-Type", resp, err)
	}
	if !next.Bodies()[0].Closed() {
		t.Fatal("refused response body not closed")
	}
}

// TestRedirectStatusNotListedIsFollowed: http.Client follows a 302 or 303
// through the layer, which sees each hop; a spec rarely lists redirects,
// and the status check (IncludeResponseStatus) must not turn a redirect the
// client would follow into a violation, as openapi3filter does not for
// 301, 307 and 308.
func TestRedirectStatusNotListedIsFollowed(t *testing.T) {
	for _, status := range []int{http.StatusFound, http.StatusSeeOther} {
		next := transporttest.NewResponder(
			transporttest.Respond(status, "", "Location", "https://api.example.test/v1/people/bob"),
			transporttest.Respond(200, `{}`, "Content-Type", "application/json"),
		)
		rt := newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec)})
		hc := &http.Client{Transport: rt}
		resp, err := hc.Get("https://api.example.test/v1/people/ann")
		if err != nil {
			t.Fatalf("status %d: %v, want the redirect followed", status, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || next.Calls() != 2 {
			t.Fatalf("status %d: got %d after %d sends, want 200 after 2", status, resp.StatusCode, next.Calls())
		}
	}
}

// TestExcludeResponseBodyAlsoSkipsLargeContentType: with
// Options.ExcludeResponseBody the caller turned off the validation of
// response bodies, Content-Type included (openapi3filter checks it with the
// body): a large response must not be held to a media type a small one is
// not.
func TestExcludeResponseBodyAlsoSkipsLargeContentType(t *testing.T) {
	for _, body := range []string{"small", strings.Repeat("x", 64)} {
		next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", "text/plain"))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(reviewSpec), MaxBodyBytes: 16,
			Options: &openapi3filter.Options{ExcludeResponseBody: true}})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/people/ann", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("%d-byte body: %v", len(body), err)
		}
		resp.Body.Close()
	}
}
