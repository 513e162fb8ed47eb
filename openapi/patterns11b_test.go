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

func patterns11bSpec(ver, schema string) []byte {
	return []byte(`
openapi: ` + ver + `
info: {title: p, version: "1"}
servers: [{url: "https://api.example.test"}]
components:
  schemas:
    Counts:
` + schema + `
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

// TestPattern31GoRegexpAsWritten: in an OpenAPI 3.1 description, a
// "pattern" Go's regexp does not compile as written ("\u0041": the
// description's own check rewrites \u for Go, the JSON Schema 2020-12
// validator does not) in a schema that also uses a 2020-12 keyword
// (patternProperties, propertyNames, if, ...) is a *transport.ConfigError
// naming Spec: the 2020-12 validator fails to compile the schema and
// kin-openapi falls back to one that knows none of those keywords, so
// {"xa":"not a number"} passed where patternProperties wants an integer.
// The same pattern where no 2020-12 keyword is in reach (the fallback
// then validates all there is), or in a 3.0 description, is fine and
// validated.
func TestPattern31GoRegexpAsWritten(t *testing.T) {
	const code = `      type: object
      properties:
        code: {type: string, pattern: "^\\u0041+$"}
`
	for _, schema := range []string{
		code + `      patternProperties: {"^x": {type: integer}}`,
		code + `        nested: {type: object, propertyNames: {maxLength: 2}}`,
		// Recursive: the walk ends.
		code + "        self: {$ref: \"#/components/schemas/Counts\"}\n      if: {required: [code]}",
	} {
		_, err := openapi.New(nil, openapi.Config{Spec: patterns11bSpec("3.1.0", schema)})
		var ce *transport.ConfigError
		if !errors.As(err, &ce) || ce.Option != "Spec" || !strings.Contains(err.Error(), "pattern") {
			t.Errorf("%s: New = %v, want a ConfigError naming Spec and the pattern", schema, err)
		}
	}

	for _, ver := range []string{"3.1.0", "3.0.3"} {
		next := transporttest.NewResponder(transporttest.Respond(200, `{"code":"B"}`, "Content-Type", "application/json"))
		rt := newLayer(t, next, openapi.Config{Spec: patterns11bSpec(ver, code)})
		req, _ := http.NewRequest(http.MethodGet, "https://api.example.test/x", nil)
		resp, err := rt.RoundTrip(req)
		var ve *openapi.ViolationError
		if resp != nil || !errors.As(err, &ve) {
			t.Fatalf("%s: resp %v err %v, want a *ViolationError (pattern)", ver, resp, err)
		}
	}
}
