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
	"github.com/securecall/securecall/transport/transporttest"
)

var errNoReplay = errors.New("body cannot be had again")

// TestReportOnlyRequestGetBodyFailurePassesThrough: in ReportOnly mode the
// call goes on unchanged. The layer reads a request body for validation
// through GetBody when it has one; a GetBody that fails (or whose copy
// fails to read) is no reason to fail a call that would have gone out
// without the layer (the first send uses req.Body, not GetBody): the
// request is sent as it is, with its body, and the skipped validation is
// reported with EventSchemaSkipped. Enforce mode still fails the call,
// closing the body.
func TestReportOnlyRequestGetBodyFailurePassesThrough(t *testing.T) {
	for _, tc := range []struct {
		name    string
		getBody func() (io.ReadCloser, error)
	}{
		{"GetBody fails", func() (io.ReadCloser, error) { return nil, errNoReplay }},
		{"copy fails", func() (io.ReadCloser, error) {
			return &errAfterBody{r: strings.NewReader(`{"na`), err: errNoReplay}, nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const payload = `{"name":"rex"}`
			var sent string
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				b, err := io.ReadAll(req.Body)
				req.Body.Close()
				if err != nil {
					return nil, err
				}
				sent = string(b)
				return &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(`{"id":1,"name":"rex"}`)), Request: req}, nil
			})
			var violations int
			rt := newLayer(t, next, openapi.Config{Mode: openapi.ReportOnly,
				OnViolation: func(context.Context, *openapi.Violation) { violations++ }})
			span := &eventSpan{}
			ctx := trace.ContextWithSpan(context.Background(), span)
			body := &errAfterBody{r: strings.NewReader(payload), err: io.EOF}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://api.example.test/v1/pets", body)
			req.Header.Set("Content-Type", "application/json")
			req.GetBody = tc.getBody
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("report-only failed the call: %v", err)
			}
			resp.Body.Close()
			if sent != payload {
				t.Fatalf("sent body %q, want %q", sent, payload)
			}
			if violations != 0 {
				t.Fatalf("%d violations reported for a body that could not be read", violations)
			}
			span.mu.Lock()
			attrs, ok := span.events[openapi.EventSchemaSkipped]
			span.mu.Unlock()
			if !ok {
				t.Fatalf("no %s event; events %v", openapi.EventSchemaSkipped, span.events)
			}
			set := attribute.NewSet(attrs...)
			if v, _ := set.Value("securecall.schema.direction"); v.AsString() != "request" {
				t.Fatalf("skipped event attributes %v", attrs)
			}

			// Enforce: the call fails, and the caller's body is closed.
			body = &errAfterBody{r: strings.NewReader(payload), err: io.EOF}
			req, _ = http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", body)
			req.Header.Set("Content-Type", "application/json")
			req.GetBody = tc.getBody
			if resp, err := newLayer(t, next, openapi.Config{}).RoundTrip(req); resp != nil || !errors.Is(err, errNoReplay) {
				t.Fatalf("enforce: resp %v err %v, want %v", resp, err, errNoReplay)
			}
			if !body.isClosed() {
				t.Fatal("enforce: request body not closed")
			}
		})
	}
}
