package openapi_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestUndecodableCodingMediaTypeStillChecked: a request body in a coding
// the layer cannot decode (br, two codings, a gzip that does not decode)
// is excluded from validation (0d8716e), and was refused only when its
// media type is one the operation constrains: one the operation does not
// describe at all (application/xml to an operation taking JSON, text/html
// to a binary upload) was sent in Enforce mode, where the same body
// without Content-Encoding, or padded past MaxBodyBytes, is refused for
// its Content-Type. Its media type is checked as a body over the limit's
// is.
func TestUndecodableCodingMediaTypeStillChecked(t *testing.T) {
	for _, tc := range []struct {
		spec, method, path, ct, coding string
	}{
		{"", http.MethodPost, "/v1/pets", "application/xml", "br"},
		{"", http.MethodPost, "/v1/pets", "application/xml", "gzip, gzip"},
		{"", http.MethodPost, "/v1/pets", "application/xml", "gzip"}, // does not decode
		{"", http.MethodPost, "/v1/pets", "application/xml", ""},     // for comparison
		{uploadSpec, http.MethodPut, "/v1/blob", "text/html", "br"},
		{uploadSpec, http.MethodPut, "/v1/blob", "text/html", ""},
	} {
		next := transporttest.NewResponder(transporttest.Respond(201, `{"id":1,"name":"rex"}`, "Content-Type", "application/json"))
		cfg := openapi.Config{Mode: openapi.Enforce, MaxBodyBytes: 1024}
		if tc.spec != "" {
			next = transporttest.NewResponder(transporttest.Respond(200, ""))
			cfg.Spec = []byte(tc.spec)
		}
		rt := newLayer(t, next, cfg)
		req, _ := http.NewRequest(tc.method, "https://api.example.test"+tc.path, io.NopCloser(strings.NewReader("\x0b\x02\x80<pet><name>rex</name></pet>\x03")))
		req.Header.Set("Content-Type", tc.ct)
		if tc.coding != "" {
			req.Header.Set("Content-Encoding", tc.coding)
		}
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !errors.Is(err, transport.ErrSchemaViolation) || next.Calls() != 0 {
			t.Errorf("%s %s %s, Content-Encoding %q: err %v, %d sent; want a violation, nothing sent", tc.method, tc.path, tc.ct, tc.coding, err, next.Calls())
			continue
		}
		if !strings.Contains(ve.Reason, "Content-Type") {
			t.Errorf("%s %s %s, Content-Encoding %q: reason %q, want it to name the Content-Type", tc.method, tc.path, tc.ct, tc.coding, ve.Reason)
		}
	}
}
