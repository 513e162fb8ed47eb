package openapi

import (
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// reasonCharset is the reason of a request body whose Content-Type
// names a charset other than UTF-8 (bodyCharset).
const reasonCharset = "header Content-Type names a charset other than UTF-8: the body is validated as UTF-8 and would be read otherwise"

// otherCharset reports whether the Content-Type ct has a charset
// parameter naming another charset than UTF-8 (any case, quoted or not,
// "utf8") or US-ASCII; every one counts, as an upstream may read the
// last of two. It reads ct leniently, as bodyMediaType does: a malformed
// parameter elsewhere does not hide one.
func otherCharset(ct string) bool {
	_, params, ok := strings.Cut(ct, ";")
	for ok {
		var p string
		p, params, ok = strings.Cut(params, ";")
		k, v, eq := strings.Cut(p, "=")
		if !eq || !strings.EqualFold(strings.TrimSpace(k), "charset") {
			continue
		}
		switch strings.ToLower(strings.Trim(strings.TrimSpace(v), `"`)) {
		case "utf-8", "utf8", "us-ascii":
		default:
			return true
		}
	}
	return false
}

// bodyCharset returns a violation for a request body of in validated
// against a schema that constrains it (not a free string: a binary
// upload) whose Content-Type names a charset other than UTF-8 (or its
// subset US-ASCII): openapi3filter and the layer read the body's bytes
// as UTF-8 whatever the charset, and an upstream decoding it by its
// charset (ASP.NET Core's input formatters read UTF-16, a form or text
// body is read in the charset named) reads other text than the one
// validated. JSON has no charset but UTF-8 between systems (RFC 8259
// section 8.1). multipart/form-data, whose parts carry their own, is
// left as it is.
func bodyCharset(in *openapi3filter.RequestValidationInput) error {
	op := in.Route.Operation
	r := in.Request
	if in.Options.ExcludeRequestBody || op == nil || op.RequestBody == nil || op.RequestBody.Value == nil || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if !otherCharset(ct) || bodyMediaType(ct) == "multipart/form-data" {
		return nil
	}
	m := op.RequestBody.Value.Content.Get(ct)
	if m == nil || m.Schema == nil || m.Schema.Value == nil || freeString(m.Schema.Value) {
		return nil
	}
	return &openapi3filter.RequestError{Input: in, RequestBody: op.RequestBody.Value, Reason: reasonCharset}
}
