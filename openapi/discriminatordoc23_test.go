package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestDocDiscriminatorImplicitMapping: a description given as Config.Doc
// got no implicit mapping (the layer does not modify it), so a
// discriminator of anyOf or oneOf without a mapping held a payload to
// every branch, and {"kind":"Dog","bark":"woofwoofwoof"} went out as a Cat
// allowing other members, Dog's maxLength unchecked, to an upstream
// deserializing it as a Dog; a value naming no branch ("Horse") went out
// too. The payload is now held to the branch its value names, and one
// naming none is a violation, for Doc as for Spec; Doc is still not
// modified.
func TestDocDiscriminatorImplicitMapping(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		doc, err := openapi3.NewLoader().LoadFromData([]byte(discriminatorSpec(ver)))
		if err != nil {
			t.Fatal(err)
		}
		for k, violation := range map[string]bool{
			`/any {"kind":"Dog","bark":"wof"}`:          false,
			`/any {"kind":"Cat","lives":3}`:             false,
			`/any {"kind":"Dog","bark":"woofwoofwoof"}`: true,
			`/any {"kind":"Cat","lives":99}`:            true,
			`/any {"kind":"Horse"}`:                     true,
			`/one {"kind":"Dog","bark":"woofwoofwoof"}`: true,
			`/one {"kind":"Horse","lives":99}`:          true,
		} {
			next := transporttest.NewResponder(transporttest.Respond(200, ""))
			rt := newLayer(t, next, openapi.Config{Doc: doc})
			path, body, _ := strings.Cut(k, " ")
			req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
				t.Errorf("%s %q: err = %v, want violation %v", ver, k, err, violation)
			}
			var ve *openapi.ViolationError
			if errors.As(err, &ve) && (strings.Contains(ve.Reason, "Horse") || strings.Contains(ve.Reason, "woof")) {
				t.Errorf("%s %q: reason %q names a value", ver, k, ve.Reason)
			}
		}
		s := doc.Paths.Value("/any").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
		if len(s.Discriminator.Mapping) != 0 {
			t.Errorf("%s: Doc modified: mapping %v", ver, s.Discriminator.Mapping)
		}
	}
}
