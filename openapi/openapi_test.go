package openapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

func spec(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newLayer(t testing.TB, next http.RoundTripper, cfg openapi.Config) http.RoundTripper {
	t.Helper()
	if cfg.Spec == nil && cfg.Doc == nil {
		cfg.Spec = spec(t, "pets.yaml")
	}
	rt, err := openapi.New(next, cfg)
	if err != nil {
		t.Fatalf("openapi.New: %v", err)
	}
	return rt
}

func TestConformance(t *testing.T) {
	s := spec(t, "conformance.yaml")
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newLayer(t, next, openapi.Config{Spec: s})
	})
}

func TestConformanceReportOnly(t *testing.T) {
	s := spec(t, "pets.yaml") // every conformance request is a violation here
	transporttest.Conformance(t, func(next http.RoundTripper) http.RoundTripper {
		return newLayer(t, next, openapi.Config{Spec: s, Mode: openapi.ReportOnly})
	})
}

// recordRoute is a per-call layer above the validator that makes the call
// record and reads the route the validator set.
func recordRoute(t *testing.T, next http.RoundTripper, route *string) http.RoundTripper {
	inv, err := transport.NewInventory(transport.InventoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inv.Close() })
	probe := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		*route = transport.RouteFrom(req.Context())
		return resp, err
	})
	rt, err := transport.NewInventoryLayer(probe, inv)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func TestValidRequestAndResponse(t *testing.T) {
	next := transporttest.NewResponder(
		transporttest.Respond(200, `{"id":7,"name":"Rex","tag":"dog"}`, "Content-Type", "application/json"),
		transporttest.Respond(201, `{"id":8,"name":"Tom"}`, "Content-Type", "application/json"),
	)
	var route string
	rt := recordRoute(t, newLayer(t, next, openapi.Config{}), &route)

	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"id":7,"name":"Rex","tag":"dog"}` {
		t.Fatalf("body after validation = %q", body)
	}
	if route != "/v1/pets/{petId}" {
		t.Fatalf("route = %q, want /v1/pets/{petId}", route)
	}
	if !next.Bodies()[0].Closed() {
		t.Fatal("upstream body not closed")
	}

	req, _ = http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", strings.NewReader(`{"name":"Tom"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err = rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	resp.Body.Close()
	if got := next.Requests()[1].Body; string(got) != `{"name":"Tom"}` {
		t.Fatalf("upstream got body %q", got)
	}
}

func TestInvalidRequestNotSent(t *testing.T) {
	for _, tc := range []struct {
		name, method, url, body string
		reasonHas               []string
	}{
		{"path param not an integer", "GET", "https://api.example.test/v1/pets/abc-s3cr3t", "", []string{`path parameter "petId"`}},
		{"path param below minimum", "GET", "https://api.example.test/v1/pets/0", "", []string{`path parameter "petId"`, "number must be at least 1"}},
		{"query param above maximum", "GET", "https://api.example.test/v1/pets?limit=1000", "", []string{`query parameter "limit"`}},
		{"body missing required", "POST", "https://api.example.test/v1/pets", `{"tag":"x"}`, []string{"body", `"name"`}},
		{"body field too long", "POST", "https://api.example.test/v1/pets", `{"name":"a","tag":"s3cr3t-longer-than-ten"}`, []string{"body", "at /tag", "maximum string length"}},
		{"body extra property", "POST", "https://api.example.test/v1/pets", `{"name":"a","card":"s3cr3t"}`, []string{"body"}},
		{"body missing", "POST", "https://api.example.test/v1/pets", "", []string{"body"}},
		{"unknown path", "GET", "https://api.example.test/v1/admin", "", []string{"no matching operation"}},
		{"unknown method", "DELETE", "https://api.example.test/v1/pets", "", []string{"method not allowed"}},
		{"other server", "GET", "https://evil.example.test/v1/pets/1", "", []string{"no matching operation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(200, "{}"))
			var seen []*openapi.Violation
			rt := newLayer(t, next, openapi.Config{OnViolation: func(_ context.Context, v *openapi.Violation) { seen = append(seen, v) }})
			var body *transporttest.TrackedBody
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			if tc.body != "" {
				body = transporttest.NewTrackedBody([]byte(tc.body))
				req.Body = body
				req.ContentLength = int64(len(tc.body))
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := rt.RoundTrip(req)
			var ve *openapi.ViolationError
			if resp != nil || !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) {
				t.Fatalf("resp %v err %v, want *ViolationError", resp, err)
			}
			if ve.Direction != "request" {
				t.Fatalf("Direction = %q", ve.Direction)
			}
			for _, s := range tc.reasonHas {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("reason carries the value: %v", err)
			}
			if next.Calls() != 0 {
				t.Fatal("an invalid request was sent")
			}
			if body != nil && !body.Closed() {
				t.Fatal("request body not closed")
			}
			if len(seen) != 1 || seen[0].Reason != ve.Reason {
				t.Fatalf("OnViolation saw %v", seen)
			}
			if transport.ErrorType(err) != "schema_violation" {
				t.Fatalf("ErrorType = %q", transport.ErrorType(err))
			}
		})
	}
}

func TestInvalidResponse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		step      transporttest.Step
		reasonHas string
	}{
		{"missing field", transporttest.Respond(200, `{"id":7}`, "Content-Type", "application/json"), "name"},
		{"wrong type", transporttest.Respond(200, `{"id":"seven-s3cr3t","name":"Rex"}`, "Content-Type", "application/json"), "at /id"},
		{"wrong media type", transporttest.Respond(200, `<pet/>`, "Content-Type", "application/xml"), "Content-Type"},
		{"not json", transporttest.Respond(200, `{"id":`, "Content-Type", "application/json"), "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(tc.step)
			rt := newLayer(t, next, openapi.Config{})
			req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
			resp, err := rt.RoundTrip(req)
			var ve *openapi.ViolationError
			if resp != nil || !errors.As(err, &ve) || ve.Direction != "response" || ve.StatusCode != 200 || ve.Route != "/v1/pets/{petId}" {
				t.Fatalf("resp %v err %v, want a response *ViolationError", resp, err)
			}
			if !strings.Contains(ve.Reason, tc.reasonHas) {
				t.Errorf("reason %q lacks %q", ve.Reason, tc.reasonHas)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Fatalf("reason carries the value: %v", err)
			}
			if b := next.Bodies()[0]; !b.Closed() {
				t.Fatal("refused response body not closed")
			}
		})
	}
}

func TestReportOnly(t *testing.T) {
	var mu sync.Mutex
	var seen []openapi.Violation
	next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Mode: openapi.ReportOnly, OnViolation: func(_ context.Context, v *openapi.Violation) {
		mu.Lock()
		seen = append(seen, *v)
		mu.Unlock()
	}})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/0", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("report-only failed the call: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"id":7}` {
		t.Fatalf("body = %q", body)
	}
	if next.Calls() != 1 {
		t.Fatal("request not sent in report-only mode")
	}
	if len(seen) != 2 || seen[0].Direction != "request" || seen[1].Direction != "response" || seen[1].StatusCode != 200 {
		t.Fatalf("violations %+v, want one request and one response violation", seen)
	}
}

func TestUnknownRoutesAllowed(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, "whatever", "Content-Type", "text/plain"))
	rt := newLayer(t, next, openapi.Config{AllowUnknownRoutes: true})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/health", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// TestBodyWithoutGetBody: a request body that cannot be had again is
// buffered for validation and the upstream still gets every byte; the
// caller's request is not modified.
func TestBodyWithoutGetBody(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(201, `{"id":1,"name":"x"}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{})
	body := transporttest.NewTrackedBody([]byte(`{"name":"x"}`))
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", nil)
	req.Body = body
	req.ContentLength = 12
	req.Header.Set("Content-Type", "application/json")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Body != body || req.GetBody != nil {
		t.Fatal("caller's request modified")
	}
	if !body.Closed() {
		t.Fatal("caller's body not closed")
	}
	if got := next.Requests()[0]; string(got.Body) != `{"name":"x"}` || !got.HasGetBody {
		t.Fatalf("upstream got %q (GetBody %v)", got.Body, got.HasGetBody)
	}
}

// TestLargeBodiesPassUnvalidated: in ReportOnly mode, bodies over
// MaxBodyBytes are streamed through intact; only parameters and status
// are validated (Enforce refuses one it would check:
// TestResponseBodyOverMaxBodyBytesFailsEnforce).
func TestLargeBodiesPassUnvalidated(t *testing.T) {
	big := `{"id":1,"name":"` + strings.Repeat("n", 4096) + `"}`
	next := transporttest.NewResponder(transporttest.Respond(200, big, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Mode: openapi.ReportOnly, MaxBodyBytes: 1024})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/1", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != big {
		t.Fatalf("large body altered: %d bytes", len(got))
	}
	if !next.Bodies()[0].Closed() {
		t.Fatal("upstream body not closed")
	}
}

// TestBehindLimits: with the limits layer below, validation reads the
// body behind the size limit and the call fails with ErrResponseTooLarge.
func TestBehindLimits(t *testing.T) {
	huge := bytes.Repeat([]byte("x"), 64<<10)
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(huge)), ContentLength: -1, Request: req}, nil
	})
	limits, err := transport.NewLimits(next, transport.LimitsConfig{MaxBodyBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	rt := newLayer(t, limits, openapi.Config{})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/1", nil)
	resp, err := rt.RoundTrip(req)
	if resp != nil || !errors.Is(err, transport.ErrResponseTooLarge) {
		t.Fatalf("resp %v err %v, want ErrResponseTooLarge", resp, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   openapi.Config
		field string
	}{
		{"no description", openapi.Config{}, "Spec"},
		{"garbage", openapi.Config{Spec: []byte("{not yaml: [")}, "Spec"},
		{"invalid description", openapi.Config{Spec: []byte(`{"openapi":"3.0.3","info":{"title":"x"},"paths":{"/a":{"get":{}}}}`)}, "Spec"},
		{"negative max", openapi.Config{Spec: spec(t, "pets.yaml"), MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"bad mode", openapi.Config{Spec: spec(t, "pets.yaml"), Mode: 7}, "Mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := openapi.New(nil, tc.cfg)
			var ce *transport.ConfigError
			if !errors.As(err, &ce) || ce.Option != tc.field {
				t.Fatalf("err = %v, want *ConfigError for %s", err, tc.field)
			}
		})
	}
}

func TestServersOverride(t *testing.T) {
	next := transporttest.NewResponder(transporttest.Respond(200, `{"id":7,"name":"Rex"}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Servers: []string{"http://127.0.0.1:8080/api"}})
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:8080/api/pets/7", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	req, _ = http.NewRequest(http.MethodGet, "https://api.example.test/v1/pets/7", nil)
	if _, err := rt.RoundTrip(req); !errors.Is(err, transport.ErrSchemaViolation) {
		t.Fatalf("the description's own server still matched: %v", err)
	}
}

// TestReasonsOpenAPI31: with an OpenAPI 3.1 description (validated by
// kin-openapi's JSON Schema 2020-12 validator, whose messages quote the
// value) a violation's reason still names the parameter or the JSON
// pointer of the failing field and the rule, and never the value.
func TestReasonsOpenAPI31(t *testing.T) {
	for _, tc := range []struct {
		name, url, body string
		reasonHas       []string
	}{
		{"path param pattern", "https://api.example.test/v1/things/S3CR3T", `{"name":"x"}`, []string{`path parameter "code"`, "pattern"}},
		{"query param maximum", "https://api.example.test/v1/things/abc?limit=999", `{"name":"x"}`, []string{`query parameter "limit"`, "maximum"}},
		{"body field pattern", "https://api.example.test/v1/things/abc", `{"name":"x","card":"S3CR3T"}`, []string{"body", "at /card", "pattern"}},
		{"body field enum", "https://api.example.test/v1/things/abc", `{"name":"x","kind":"S3CR3T"}`, []string{"body", "at /kind", "enum"}},
		{"body missing required", "https://api.example.test/v1/things/abc", `{"card":"1234"}`, []string{"body", "required"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			next := transporttest.NewResponder(transporttest.Respond(200, "{}"))
			rt := newLayer(t, next, openapi.Config{Spec: spec(t, "things31.yaml")})
			req, _ := http.NewRequest(http.MethodPost, tc.url, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			_, err := rt.RoundTrip(req)
			var ve *openapi.ViolationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ViolationError", err)
			}
			for _, s := range tc.reasonHas {
				if !strings.Contains(ve.Reason, s) {
					t.Errorf("reason %q lacks %q", ve.Reason, s)
				}
			}
			if strings.Contains(err.Error(), "S3CR3T") {
				t.Fatalf("reason carries the value: %v", err)
			}
		})
	}
	next := transporttest.NewResponder(transporttest.Respond(200, `{"id":"S3CR3T"}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Spec: spec(t, "things31.yaml")})
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/things/abc", strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	_, err := rt.RoundTrip(req)
	var ve *openapi.ViolationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Reason, "at /id") || strings.Contains(err.Error(), "S3CR3T") {
		t.Fatalf("response violation %v: want a reason naming /id without the value", err)
	}
}
