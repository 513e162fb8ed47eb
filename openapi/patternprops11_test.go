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

func patternPropsSpec(pattern string) []byte {
	return []byte(`
openapi: 3.1.0
info: {title: p, version: "1"}
servers: [{url: "https://api.example.test"}]
components:
  schemas:
    Counts:
      type: object
      patternProperties:
        "` + pattern + `": {type: integer}
paths:
  /x:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Counts"}
`)
}

// TestPatternPropertiesRegexpIsChecked: a patternProperties key Go's
// regexp cannot compile (ECMA-only syntax: a lookahead) is a
// *transport.ConfigError naming Spec. kin-openapi compiles it only when
// it validates, and when it cannot, it falls back to a validator that
// knows no patternProperties: every member the pattern was to constrain
// passed unvalidated. A key Go compiles is validated.
func TestPatternPropertiesRegexpIsChecked(t *testing.T) {
	_, err := openapi.New(nil, openapi.Config{Spec: patternPropsSpec(`^x(?!y)`)})
	var ce *transport.ConfigError
	if !errors.As(err, &ce) || ce.Option != "Spec" || !strings.Contains(err.Error(), "patternProperties") {
		t.Fatalf("New = %v, want a ConfigError naming Spec and patternProperties", err)
	}

	next := transporttest.NewResponder(transporttest.Respond(200, `{"xa":"not a number"}`, "Content-Type", "application/json"))
	rt := newLayer(t, next, openapi.Config{Spec: patternPropsSpec(`^x`)})
	req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
	resp, err := rt.RoundTrip(req)
	var ve *openapi.ViolationError
	if resp != nil || !errors.As(err, &ve) {
		t.Fatalf("resp %v err %v, want a *ViolationError", resp, err)
	}
}
