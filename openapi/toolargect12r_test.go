package openapi_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestBodyOverMaxBodyBytesKeepsItsContentTypeChecked: a request body over
// MaxBodyBytes is not validated, but its Content-Type still is, as the
// docs say (EventSchemaSkipped, docs/security.md): a media type the
// operation does not describe is a violation whatever the body's size
// (openapi3filter checks it only with the body, which the layer excludes
// for a body over the limit).
func TestBodyOverMaxBodyBytesKeepsItsContentTypeChecked(t *testing.T) {
	var sent int
	next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		sent++
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
		return &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(`{"id":1,"name":"rex"}`)), Request: req}, nil
	})
	rt := newLayer(t, next, openapi.Config{Mode: openapi.Enforce, MaxBodyBytes: 32})
	for _, body := range []string{`<pet>rex</pet>`, `<pet><name>` + strings.Repeat("r", 64) + `</name></pet>`} {
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/xml")
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		var ve *openapi.ViolationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "Content-Type") {
			t.Errorf("%d-byte application/xml body: err = %v, want a violation naming the Content-Type", len(body), err)
		}
	}
	if sent != 0 {
		t.Errorf("%d requests with an undescribed Content-Type were sent", sent)
	}
}
