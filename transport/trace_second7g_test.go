package transport_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport/transporttest"
)

// The attempt trace's traceparent replaces a caller's line under any
// spelling of the name (req.Header["traceparent"]), which net/http would
// send as well: two traceparent lines make the receiver discard both (W3C
// Trace Context), and the call's trace would be lost.
func TestTraceparentReplacesEverySpelling(t *testing.T) {
	for _, name := range []string{"traceparent", "TRACEPARENT"} {
		t.Run(name, func(t *testing.T) {
			r := newOtelRig(t, nil)
			var got http.Header
			base := transporttest.RoundTripperFunc(func(req *http.Request) (*http.Response, error) {
				got = req.Header.Clone()
				return &http.Response{StatusCode: 200, Header: http.Header{}, Body: http.NoBody, Request: req}, nil
			})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://api.example.test/v1", nil)
			caller := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
			req.Header[name] = []string{caller}
			resp, err := r.stack(base).RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var lines []string
			for k, vs := range got {
				if strings.EqualFold(k, "traceparent") {
					lines = append(lines, vs...)
				}
			}
			if len(lines) != 1 || lines[0] == caller {
				t.Errorf("traceparent lines sent: %q, want only the attempt's", lines)
			}
			if vs := req.Header[name]; len(vs) != 1 || vs[0] != caller {
				t.Errorf("caller's request changed: %q", vs)
			}
		})
	}
}
