package openapi_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/securecall/securecall/openapi"
	"github.com/securecall/securecall/transport"
	"github.com/securecall/securecall/transport/transporttest"
)

// TestDocDiscriminatorValidPayloadPasses: with a description given as
// Config.Doc, which the layer does not modify, openapi3filter held a
// payload of a oneOf with a discriminator and no mapping to every branch,
// so a valid {"kind":"Dog","bark":"wof"} matching both Cat (which allows
// other members) and Dog broke oneOf, and beside a partial mapping a
// branch's implicit value ("Cat") was refused: in Enforce mode no valid
// call went out. The layer now takes such a refusal back when the payload
// passes the branch its value names (and the rest of its schema), as it
// would with the description given as Spec; an invalid payload, or one
// naming no branch, is still a violation.
func TestDocDiscriminatorValidPayloadPasses(t *testing.T) {
	for _, ver := range []string{"3.0.3", "3.1.0"} {
		doc, err := openapi3.NewLoader().LoadFromData([]byte(discriminatorSpec(ver)))
		if err != nil {
			t.Fatal(err)
		}
		for k, violation := range map[string]bool{
			`/one {"kind":"Dog","bark":"wof"}`:          false,
			`/one {"kind":"Cat","lives":3}`:             false,
			`/one {"kind":"Dog","bark":"woofwoofwoof"}`: true,
			`/one {"kind":"Cat","lives":99}`:            true,
			`/one {"kind":"Horse"}`:                     true,
			`/mapped {"kind":"dog","bark":"wof"}`:       false,
			`/mapped {"kind":"Cat","lives":3}`:          false,
			`/mapped {"kind":"Cat","lives":99}`:         true,
			`/mapped {"kind":"Horse"}`:                  true,
		} {
			for _, multi := range []bool{false, true} {
				next := transporttest.NewResponder(transporttest.Respond(200, ""))
				cfg := openapi.Config{Doc: doc}
				if multi {
					cfg.Options = &openapi3filter.Options{MultiError: true}
				}
				rt := newLayer(t, next, cfg)
				path, body, _ := strings.Cut(k, " ")
				req, _ := http.NewRequest(http.MethodPost, "https://api.example.test"+path, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := rt.RoundTrip(req)
				if resp != nil {
					resp.Body.Close()
				}
				if got := errors.Is(err, transport.ErrSchemaViolation); got != violation {
					t.Errorf("%s MultiError %v %q: err = %v, want violation %v", ver, multi, k, err, violation)
				}
			}
		}
	}
}
