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

// streamBody is a request body of unknown length (no bytes.Reader,
// strings.Reader or bytes.Buffer: net/http cannot tell its length).
type streamBody struct{ io.Reader }

func (streamBody) Close() error { return nil }

// TestRequestGetBodyReturningTheBodyIsSentWhole: a request whose GetBody
// returns its own Body (req.GetBody = func() (io.ReadCloser, error) {
// return req.Body, nil }, the mistake the sign, retry and auth layers
// refuse since session 23) had the layer read that "copy" to its end for
// validation, and then send the request as it was: its Body at EOF, the
// request went out with an empty body (unknown length), the content
// validated never reaching the upstream, in either mode; a GetBody
// returning neither a body nor an error panicked. Such a GetBody is now
// not used: the layer reads the body itself, as for a request without
// GetBody, and sends what it validated; a body that breaks the schema is
// still a violation.
func TestRequestGetBodyReturningTheBodyIsSentWhole(t *testing.T) {
	for _, mode := range []openapi.Mode{openapi.Enforce, openapi.ReportOnly} {
		for _, tc := range []struct {
			name      string
			payload   string
			nilBody   bool
			violation bool
		}{
			{"valid", `{"name":"rex"}`, false, false},
			{"valid, GetBody returns nil", `{"name":"rex"}`, true, false},
			{"invalid", `{"name":5}`, false, true},
		} {
			var sent []string
			next := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				b, err := io.ReadAll(req.Body)
				req.Body.Close()
				if err != nil {
					return nil, err
				}
				sent = append(sent, string(b))
				return &http.Response{StatusCode: 201, Header: http.Header{"Content-Type": {"application/json"}},
					Body: io.NopCloser(strings.NewReader(`{"id":1,"name":"rex"}`)), Request: req}, nil
			})
			rt := newLayer(t, next, openapi.Config{Mode: mode})
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", streamBody{strings.NewReader(tc.payload)})
			req.Header.Set("Content-Type", "application/json")
			if tc.nilBody {
				req.GetBody = func() (io.ReadCloser, error) { return nil, nil }
			} else {
				req.GetBody = func() (io.ReadCloser, error) { return req.Body, nil }
			}
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if mode == openapi.Enforce && tc.violation {
				if !errors.Is(err, transport.ErrSchemaViolation) {
					t.Errorf("%v %s: err = %v, want a violation", mode, tc.name, err)
				}
				if len(sent) != 0 {
					t.Errorf("%v %s: sent %q despite the violation", mode, tc.name, sent)
				}
				continue
			}
			if err != nil {
				t.Errorf("%v %s: err = %v", mode, tc.name, err)
				continue
			}
			if len(sent) != 1 || sent[0] != tc.payload {
				t.Errorf("%v %s: sent %q, want the body %q once", mode, tc.name, sent, tc.payload)
			}
		}
	}
}
