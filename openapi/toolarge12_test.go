package openapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestBodyOverMaxBodyBytesIsReported: a request or response body over
// MaxBodyBytes is not validated (its status, headers and Content-Type
// still are), and the skipped validation is not silent: a
// securecall.schema.skipped span event names the direction and the
// reason, in both modes. Either is a violation too, which Enforce mode
// does not send (a request) or return (a response).
func TestBodyOverMaxBodyBytesIsReported(t *testing.T) {
	big := `{"name":"` + strings.Repeat("r", 64) + `"}`
	for _, mode := range []openapi.Mode{openapi.Enforce, openapi.ReportOnly} {
		for _, dir := range []string{"request", "response"} {
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				if req.Body != nil {
					io.Copy(io.Discard, req.Body)
					req.Body.Close()
				}
				body := `{"id":1,"name":"rex"}`
				if dir == "response" {
					body = `[{"id":1,"name":"` + strings.Repeat("r", 64) + `"}]`
				}
				return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
			})
			if dir == "request" {
				next = transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
					io.Copy(io.Discard, req.Body)
					req.Body.Close()
					return &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
						Body: io.NopCloser(strings.NewReader(`{"id":1,"name":"rex"}`)), Request: req}, nil
				})
			}
			var violations int
			rt := newLayer(t, next, openapi.Config{Mode: mode, MaxBodyBytes: 32,
				OnViolation: func(context.Context, *openapi.Violation) { violations++ }})
			span := &eventSpan{}
			ctx := trace.ContextWithSpan(context.Background(), span)
			var req *http.Request
			if dir == "request" {
				req, _ = http.NewRequestWithContext(ctx, http.MethodPost, "https://api.example.test/v1/pets", strings.NewReader(big))
				req.Header.Set("Content-Type", "application/json")
			} else {
				req, _ = http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.test/v1/pets", nil)
			}
			resp, err := rt.RoundTrip(req)
			// Not sent, nor returned, unvalidated in Enforce mode, and a
			// violation in both
			// (TestRequestBodyOverMaxBodyBytesIsRefusedInEnforce,
			// TestResponseBodyOverMaxBodyBytesFailsEnforce).
			if (mode == openapi.Enforce) != errors.Is(err, transport.ErrSchemaViolation) {
				t.Fatalf("mode %v %s: %v", mode, dir, err)
			}
			if violations != 1 {
				t.Errorf("mode %v %s: %d violations for a body not validated, want 1", mode, dir, violations)
			}
			if resp != nil {
				resp.Body.Close()
			}
			span.mu.Lock()
			attrs, ok := span.events[openapi.EventSchemaSkipped]
			span.mu.Unlock()
			if !ok {
				t.Errorf("mode %v %s: no %s event for a body over MaxBodyBytes", mode, dir, openapi.EventSchemaSkipped)
				continue
			}
			set := attribute.NewSet(attrs...)
			d, _ := set.Value("securecall.schema.direction")
			r, _ := set.Value("securecall.schema.reason")
			if d.AsString() != dir || r.AsString() != "body over MaxBodyBytes" {
				t.Errorf("mode %v %s: event attributes %v", mode, dir, attrs)
			}
		}
	}
}
