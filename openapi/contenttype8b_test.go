package openapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestContentTypeReasonHasNoValue: a request or response whose
// Content-Type the operation does not describe is a violation whose reason
// names the header, never its value (which is the caller's or the
// upstream's, and may carry anything, as parameters of the media type).
func TestContentTypeReasonHasNoValue(t *testing.T) {
	const secret = "text/plain; token=secret-canary"
	var reasons []string
	onViolation := func(_ context.Context, v *openapi.Violation) { reasons = append(reasons, v.Reason) }

	rt := newLayer(t, transporttest.NewResponder(transporttest.Respond(201, "")), openapi.Config{OnViolation: onViolation})
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", strings.NewReader(`{"name":"Rex"}`))
	req.Header.Set("Content-Type", secret)
	_, err := rt.RoundTrip(req)
	if !errors.Is(err, transport.ErrSchemaViolation) || !strings.Contains(err.Error(), "Content-Type") || strings.Contains(err.Error(), "canary") {
		t.Errorf("request: err = %v, want a Content-Type violation without the value", err)
	}

	rt = newLayer(t, transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", secret)), openapi.Config{OnViolation: onViolation})
	req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	if !errors.Is(err, transport.ErrSchemaViolation) || !strings.Contains(err.Error(), "Content-Type") || strings.Contains(err.Error(), "canary") {
		t.Errorf("response: err = %v, want a Content-Type violation without the value", err)
	}
	for _, r := range reasons {
		if strings.Contains(r, "canary") || strings.Contains(r, "text/plain") {
			t.Errorf("reason %q quotes the value", r)
		}
	}
	if len(reasons) != 2 {
		t.Errorf("got %d violations, want 2", len(reasons))
	}
}
