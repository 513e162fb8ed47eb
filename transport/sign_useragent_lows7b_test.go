package transport_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/signer"
)

// A signature covering user-agent verifies over HTTP/1.1 and HTTP/2
// whatever User-Agent lines the caller set: net/http sends only the first
// (and none when it is empty), so that is what is signed. (All the lines
// joined with ", " were signed, and an empty one as an empty value: the
// server never saw either.)
func TestSignUserAgentAsSent(t *testing.T) {
	cases := []struct {
		name     string
		set      map[string][]string
		ifAbsent bool   // covered IfPresent
		want     string // the User-Agent the server sees
	}{
		{"two lines", map[string][]string{"User-Agent": {"a/1", "b/2"}}, false, "a/1"},
		{"two spellings", map[string][]string{"User-Agent": {"a/1"}, "user-agent": {"b/2"}}, false, "a/1"},
		{"empty first line", map[string][]string{"User-Agent": {"", "b/2"}}, true, ""},
		{"one empty line", map[string][]string{"User-Agent": {""}}, true, ""},
	}
	for _, h2 := range []bool{false, true} {
		for _, tc := range cases {
			srv := protoServer(t, h2, func(r *http.Request, res *signer.Result) string {
				if got := strings.Join(r.Header["User-Agent"], "|"); got != tc.want {
					return "user-agent " + got
				}
				return ""
			})
			ua := signer.Field("user-agent")
			if tc.ifAbsent {
				ua = ua.IfPresent()
			}
			rt := signedClient(t, srv, signer.Method, signer.Authority, signer.Path, signer.Query, ua)
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.set {
				req.Header[k] = v
			}
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Errorf("%s, %s: %v", protoName(h2), tc.name, err)
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s, %s: %d %s", protoName(h2), tc.name, resp.StatusCode, strings.TrimSpace(string(body)))
			}
		}
	}
}
