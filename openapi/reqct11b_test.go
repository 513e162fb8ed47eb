package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestRequestMembersContentTypeBadParameter: a JSON request body whose
// Content-Type has a malformed parameter ("application/json; charset") is
// validated as JSON (openapi3filter reads the media type up to the ";"),
// and so is held to the member rules: mime.ParseMediaType failing on the
// parameter must not skip them ({"TAG":...} past Enforce with one header).
// (A form body so described is refused as well: openapi3filter does not
// decode it.)
func TestRequestMembersContentTypeBadParameter(t *testing.T) {
	cases := []struct{ ct, body string }{
		{"application/json; charset", `{"name":"a","TAG":"waytoolong"}`},
		{"application/json;;", `{"name":"a","tag":"waytoolong","tag":"ok"}`},
		{"Application/JSON; a=\"x", `{"name":"a"} {"name":"b"}`},
		{"application/x-www-form-urlencoded; charset", `name=a&TAG=waytoolong`},
	}
	for _, c := range cases {
		spec := bodySpec
		if strings.HasPrefix(c.ct, "application/x-www") {
			spec = strings.Replace(spec, "application/json:", "application/x-www-form-urlencoded:", 1)
		}
		next := transporttest.NewResponder(transporttest.Respond(200, ""))
		rt := newLayer(t, next, openapi.Config{Spec: []byte(spec)})
		req, _ := http.NewRequest(http.MethodPost, "https://api.example.test/v1/b", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		resp, err := rt.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		var ve *openapi.ViolationError
		if !errors.Is(err, transport.ErrSchemaViolation) || !errors.As(err, &ve) || ve.Direction != "request" {
			t.Errorf("Content-Type %q, %s: err = %v, want a request violation", c.ct, c.body, err)
		}
		if got := len(next.Requests()); got != 0 {
			t.Errorf("Content-Type %q: %d requests reached next, want 0", c.ct, got)
		}
	}
}
