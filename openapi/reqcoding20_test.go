package openapi_test

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRequestBodyContentEncodingValidatedDecoded: a caller that compresses
// its upload (Content-Encoding: gzip or deflate, which the upstream
// decodes) had every request refused in Enforce mode, a valid JSON body
// included: the layer parsed the compressed bytes as JSON. The body is now
// validated decoded, as a response body is, and sent as the caller wrote
// it, byte for byte; an invalid body is still a violation once decoded, a
// body decoding past MaxBodyBytes is held to the over-limit rule, and one
// in a coding the layer cannot decode (br) or that does not decode is a
// violation in Enforce mode, nothing sent.
func TestRequestBodyContentEncodingValidatedDecoded(t *testing.T) {
	valid, invalid := `{"name":"rex"}`, `{"name":7}`
	bomb := `{"name":"` + strings.Repeat("r", 4096) + `"}`
	for _, tc := range []struct {
		name, coding, body string
		ok                 bool
		reason             string
	}{
		{"gzip valid", "gzip", gz(t, valid), true, ""},
		{"x-gzip valid", "x-gzip", gz(t, valid), true, ""},
		{"deflate valid", "deflate", deflate(t, valid), true, ""},
		{"identity, gzip valid", "identity, gzip", gz(t, valid), true, ""},
		{"gzip invalid", "gzip", gz(t, invalid), false, "name"},
		{"gzip over the limit decoded", "gzip", gz(t, bomb), false, "MaxBodyBytes"},
		{"br", "br", "\x0b\x02\x80" + valid + "\x03", false, "coding"},
		{"gzip, gzip", "gzip, gzip", gz(t, gz(t, valid)), false, "coding"},
		{"gzip corrupt", "gzip", gz(t, valid)[:12], false, "gzip"},
	} {
		for _, getBody := range []bool{false, true} {
			next := transporttest.NewResponder(transporttest.Respond(201, `{"id":1,"name":"rex"}`, "Content-Type", "application/json"))
			var violations []*openapi.Violation
			rt := newLayer(t, next, openapi.Config{Mode: openapi.Enforce, MaxBodyBytes: 1024,
				OnViolation: func(_ context.Context, v *openapi.Violation) { violations = append(violations, v) }})
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", strings.NewReader(tc.body))
			if !getBody {
				req.GetBody = nil
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Content-Encoding", tc.coding)
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if tc.ok {
				if err != nil || len(violations) != 0 || next.Calls() != 1 {
					t.Errorf("%s (GetBody %v): err %v, violations %+v, %d sent; want it validated decoded and sent", tc.name, getBody, err, violations, next.Calls())
					continue
				}
				sent := next.Requests()[0]
				if !bytes.Equal(sent.Body, []byte(tc.body)) || sent.Header.Get("Content-Encoding") != tc.coding {
					t.Errorf("%s (GetBody %v): sent %q with Content-Encoding %q, want the caller's encoded bytes", tc.name, getBody, sent.Body, sent.Header.Get("Content-Encoding"))
				}
				continue
			}
			var ve *openapi.ViolationError
			if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || next.Calls() != 0 {
				t.Errorf("%s (GetBody %v): err %v, %d sent; want a violation, nothing sent", tc.name, getBody, err, next.Calls())
				continue
			}
			if !strings.Contains(ve.Reason, tc.reason) {
				t.Errorf("%s (GetBody %v): reason %q, want it to name %q", tc.name, getBody, ve.Reason, tc.reason)
			}
		}
	}
}

// deflate returns s zlib-compressed (HTTP's "deflate" coding).
func deflate(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestUploadInUndecodableCodingWithNothingToCheckIsSent: a binary upload
// the layer has nothing to check of (no schema, or a binary string) in a
// coding it cannot decode (br) goes out intact in Enforce mode, as one
// over MaxBodyBytes does; one whose schema constrains it is refused.
func TestUploadInUndecodableCodingWithNothingToCheckIsSent(t *testing.T) {
	checkUploads(t, openapi.Config{Spec: []byte(uploadSpec)}, "\x0b\x02\x80compressed\x03", http.Header{"Content-Encoding": {"br"}})
}
