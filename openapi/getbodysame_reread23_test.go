package openapi_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestRequestGetBodyReturningTheBodyOverLimitNotResent: in ReportOnly mode
// a body over MaxBodyBytes goes out as the bytes read and the rest of
// req.Body, reported; with a GetBody returning req's own Body, the request
// sent kept that GetBody, which a retry layer below (503) called for the
// next attempt: the server got the request again with an empty body, the
// retry layer's own check (7cec636) not seeing through the layer's body.
// The request sent has no GetBody then, as without one: not re-sent.
func TestRequestGetBodyReturningTheBodyOverLimitNotResent(t *testing.T) {
	const payload = `{"name":"rex"}`
	var sent []string
	server := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		sent = append(sent, string(b))
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{"Retry-After": {"0"}},
			Body: http.NoBody, Request: req}, nil
	})
	retry, err := transport.NewRetry(server, transport.RetryConfig{MaxAttempts: 3, BaseDelay: time.Nanosecond, MaxDelay: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	rt := newLayer(t, retry, openapi.Config{Mode: openapi.ReportOnly, MaxBodyBytes: 4})
	req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/pets", streamBody{strings.NewReader(payload)})
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "k1") // a POST the retry layer may send again
	req.GetBody = func() (io.ReadCloser, error) { return req.Body, nil }
	resp, err := rt.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	for i, b := range sent {
		if b != payload {
			t.Errorf("attempt %d sent %q, want %q", i+1, b, payload)
		}
	}
	if len(sent) == 0 {
		t.Errorf("nothing sent: %v", err)
	}
}
