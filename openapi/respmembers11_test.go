package openapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestResponseMemberNameInOtherCase: a JSON response body with a member
// name that is, but for case, a property its object's schema declares
// ({"TAG":...} for the Pet's "tag", maxLength 10) is a violation. The
// validator, case-sensitive, takes it for an additional property and
// validates nothing; the caller's encoding/json (into a struct) reads it
// as the declared property, a value no schema checked. In ReportOnly the
// response reaches the caller unchanged. A map's keys (a free-form
// object) are data, in any case.
func TestResponseMemberNameInOtherCase(t *testing.T) {
	const bad = `{"id":7,"name":"Rex","TAG":"far-longer-than-ten-s3cr3t"}`
	for _, body := range []string{bad, `[` + `{"id":1,"name":"a"},` + `{"ID":99,"id":1,"name":"b"}]`} {
		path := "/v1/pets/7"
		if strings.HasPrefix(body, "[") {
			path = "/v1/pets"
		}
		next := transporttest.NewResponder(transporttest.Respond(200, body, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test"+path, nil)
		resp, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if resp != nil || !errors.As(err, &ve) || ve.Direction != "response" || ve.StatusCode != 200 {
			t.Fatalf("%s: resp %v err %v, want a response *ViolationError", body, resp, err)
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Fatalf("reason carries the value: %v", err)
		}
		if !next.Bodies()[0].Closed() {
			t.Fatal("refused response body not closed")
		}
	}

	// ReportOnly: reported once, the body delivered unchanged.
	var seen []openapi.Violation
	next := transporttest.NewResponder(transporttest.Respond(200, bad, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Mode: openapi.ReportOnly, OnViolation: func(_ context.Context, v *openapi.Violation) {
		seen = append(seen, *v)
	}})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("report-only failed the call: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != bad || len(seen) != 1 || seen[0].Direction != "response" {
		t.Fatalf("body %q, violations %+v", got, seen)
	}

	// Keys of a free-form object are data: {"ID":1} under {type: object}
	// (the 404 problem) passes.
	next = transporttest.NewResponder(transporttest.Respond(404, `{"Detail":"x","detail":"y"}`, "Content-Type", "application/problem+json"))
	rt = newLayer(t, next, openapi.Config{})
	req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err = rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("free-form object refused: %v", err)
	}
	resp.Body.Close()
}
