package openapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestSubtypesReachOnlyPolymorphicBodies: the allOf polymorphism check
// read and decoded again every JSON body of a description with one base,
// and walked it whole, though most operations' schemas reach no base: it
// now runs only for a body whose schema reaches one (an array of them, a
// member, a subtype).
func TestSubtypesReachOnlyPolymorphicBodies(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(`
openapi: 3.0.3
info: {title: reach, version: "1"}
paths:
  /pet:
    post:
      requestBody: {content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Owner'}}}}}
      responses: {"200": {description: ok}}
  /other:
    post:
      requestBody: {content: {application/json: {schema: {type: object, properties: {n: {type: integer}}}}}}
      responses: {"200": {description: ok}}
components:
  schemas:
    Owner: {type: object, properties: {pet: {$ref: '#/components/schemas/Pet'}}}
    Pet: {type: object, properties: {petType: {type: string}}, discriminator: {propertyName: petType}}
    Dog: {allOf: [{$ref: '#/components/schemas/Pet'}, {type: object, properties: {bark: {type: string}}}]}
    Tree: {type: object, properties: {kids: {type: array, items: {$ref: '#/components/schemas/Tree'}}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	subs := subtypesOf(doc, false)
	body := func(path string) *openapi3.SchemaRef {
		return doc.Paths.Value(path).Post.RequestBody.Value.Content.Get("application/json").Schema
	}
	for name, c := range map[string]struct {
		ref  *openapi3.SchemaRef
		want bool
	}{
		"/pet":   {body("/pet"), true},
		"Dog":    {doc.Components.Schemas["Dog"], true},
		"/other": {body("/other"), false},
		"Tree":   {doc.Components.Schemas["Tree"], false},
	} {
		if got := subs.reaches(c.ref); got != c.want {
			t.Errorf("%s: reaches = %v, want %v", name, got, c.want)
		}
	}
}
