package signer

import (
	"fmt"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/dunglas/httpsfv"

	"github.com/securecall/securecall/internal/redact"
)

// Component is a covered component identifier (RFC 9421 §2): an HTTP field
// name or a derived component name, with its parameters. The zero Component
// is invalid.
//
// Use the package variables for the derived components (Method, Authority,
// Path, ...), Field and its variants for header fields, QueryParam for one
// query parameter, or ParseComponent for the serialised form.
type Component struct {
	name     string
	kind     compKind
	params   []compParam // in serialisation order
	optional bool

	id     string // serialised identifier, e.g. `"@query-param";name="Pet"`
	header string // canonical header key, fields only

	key    string // key= parameter (Dictionary member)
	hasKey bool
	qname  string // name= parameter of @query-param, percent-encoded form
	sf, bs bool
}

type compKind uint8

const (
	kindInvalid compKind = iota
	kindField
	kindMethod
	kindTargetURI
	kindAuthority
	kindScheme
	kindRequestTarget
	kindPath
	kindQuery
	kindQueryParam
)

var derivedKinds = map[string]compKind{
	"@method":         kindMethod,
	"@target-uri":     kindTargetURI,
	"@authority":      kindAuthority,
	"@scheme":         kindScheme,
	"@request-target": kindRequestTarget,
	"@path":           kindPath,
	"@query":          kindQuery,
	"@query-param":    kindQueryParam,
}

type compParam struct {
	name  string
	value string // "" with isBool for a true boolean
	bool  bool
}

// Derived components (RFC 9421 §2.2).
var (
	// Method is "@method": the request method, e.g. POST.
	Method = derived("@method")
	// TargetURI is "@target-uri": scheme://host/path?query, with the host
	// (and port) exactly as sent in the Host field. Prefer Authority, Path
	// and Query: they survive host-case and default-port rewriting.
	TargetURI = derived("@target-uri")
	// Authority is "@authority": the host (lower-cased) and port, the
	// default port for the scheme omitted. Taken from Request.Host, else
	// Request.URL.Host.
	Authority = derived("@authority")
	// Scheme is "@scheme": "https" or "http".
	Scheme = derived("@scheme")
	// RequestTarget is "@request-target": the request target as sent on an
	// HTTP/1.1 request line (path and query for ordinary requests; the
	// authority, "host:port", for a CONNECT without a path). Not
	// recommended when HTTP/2 may be in use.
	RequestTarget = derived("@request-target")
	// Path is "@path": the percent-encoded absolute path as sent, "/" when
	// empty. Of a hand-set URL.Opaque, net/http sends it as it is: the
	// path is the part before its first '?', without the scheme and
	// authority of an absolute-form one ("//host/p", "https://host/p").
	Path = derived("@path")
	// Query is "@query": "?" followed by the raw query as sent ("?" alone
	// when there is none): all that follows the request-target's first
	// '?', which a hand-set URL.Opaque may hold ("/a?x=1").
	Query = derived("@query")
)

func derived(name string) Component {
	c := Component{name: name, kind: derivedKinds[name]}
	c.id = string(appendSFString(nil, name))
	return c
}

// Field returns the component for header field name (case-insensitive; the
// component name is its lower-case form). The value is every field line of
// that name, trimmed and joined with ", " (RFC 9421 §2.1).
//
// Host and Content-Length are signed as net/http sends them, never from
// Request.Header (which it ignores for them): host from Request.Host or the
// URL; content-length from the body's length, "0" for a POST, PUT or PATCH
// without a body, and absent for a body of unknown length (sent chunked)
// or for other methods without a body. Sign joins several Cookie lines
// into one with "; " when cookie is covered, as HTTP/2 delivers them.
func Field(name string) Component {
	name = strings.ToLower(name)
	c := Component{name: name, kind: kindField}
	return c.finish()
}

// FieldKey returns the component for one member of a Dictionary structured
// field: name;key="member" (RFC 9421 §2.1.2). member is a Dictionary key
// (RFC 8941 §3.2: lower-case letters, digits and "_-.*", starting with a
// letter or "*"): New and NewVerifier refuse another, which no field
// has, with a *ConfigError naming the component.
func FieldKey(name, member string) Component {
	c := Field(name)
	c.params = []compParam{{name: "key", value: member}}
	c.key, c.hasKey = member, true
	return c.finish()
}

// FieldSF returns the component for a structured field re-serialised
// strictly: name;sf (RFC 9421 §2.1.1). The field's type must be known:
// either a registered structured field or one given in
// Options.StructuredFields / VerifierOptions.StructuredFields.
func FieldSF(name string) Component {
	c := Field(name)
	c.params = []compParam{{name: "sf", bool: true}}
	c.sf = true
	return c.finish()
}

// FieldBS returns the component for a field whose lines are each wrapped as
// a byte sequence: name;bs (RFC 9421 §2.1.3). Use it for fields whose
// values may contain commas, such as Set-Cookie.
func FieldBS(name string) Component {
	c := Field(name)
	c.params = []compParam{{name: "bs", bool: true}}
	c.bs = true
	return c.finish()
}

// QueryParam returns the component for the query parameter called name:
// "@query-param";name="..." (RFC 9421 §2.2.8). name is the decoded
// parameter name; it is percent-encoded for the identifier as the RFC
// requires. A parameter whose name occurs more than once in the query
// cannot be covered (the RFC says it MUST NOT be included): Sign fails with
// an error wrapping ErrMalformed, even when the component is IfPresent, and
// a verifier refuses a signature covering it. Cover Query for such queries.
// An empty name, which no verifier accepts in a signature, is refused by
// New and NewVerifier with a *ConfigError naming the component.
// The same holds for a parameter net/http's url.ParseQuery reads
// otherwise than RFC 9421's WHATWG parser: a pair with a ';' or a '%' not
// followed by two hex digits (Go drops it), a name or value not UTF-8
// once decoded (every invalid sequence signs as U+FFFD, Go keeps the
// bytes), any parameter of a query of more than 10000 '&'-separated parts
// (Go reads none). A pair changed in transit to another such form would
// verify while a Go handler read another value, or none.
func QueryParam(name string) Component {
	q := string(appendQueryEncoded(nil, string(appendUTF8Lossy(nil, []byte(name)))))
	c := Component{name: "@query-param", kind: kindQueryParam, qname: q,
		params: []compParam{{name: "name", value: q}}}
	return c.finish()
}

// IfPresent returns a copy of c that a Signer covers only when the request
// has it, and skips otherwise (for example Field("authorization") for
// requests that may or may not carry credentials). A Signer always adds
// Content-Digest before checking, so Field("content-digest").IfPresent()
// means "when the request has a body". A Verifier cannot honour it:
// NewVerifier refuses it in VerifierOptions.Required (*ConfigError).
func (c Component) IfPresent() Component {
	c.optional = true
	return c
}

// Name returns the component name: a lower-case field name or a derived
// component name starting with "@".
func (c Component) Name() string { return c.name }

// String returns the serialised component identifier, such as "@method"
// or "example-dict";key="a" (quotes included).
func (c Component) String() string { return c.id }

// Optional reports whether c was marked with IfPresent.
func (c Component) Optional() bool { return c.optional }

// Equal reports whether c and o identify the same component: same name and
// same parameters, in any order (RFC 9421 §2). The IfPresent flag is
// ignored.
func (c Component) Equal(o Component) bool {
	return c.name == o.name && c.sf == o.sf && c.bs == o.bs &&
		c.hasKey == o.hasKey && c.key == o.key && c.qname == o.qname
}

func (c Component) finish() Component {
	c.header = textproto.CanonicalMIMEHeaderKey(c.name)
	id := appendSFString(nil, c.name)
	for _, p := range c.params {
		id = append(id, ';')
		id = append(id, p.name...)
		if !p.bool {
			id = append(id, '=')
			id = appendSFString(id, p.value)
		}
	}
	c.id = string(id)
	return c
}

// validate reports why c cannot be used, or nil.
func (c Component) validate() error {
	switch c.kind {
	case kindInvalid:
		if c.name == "" {
			return fmt.Errorf("%w: zero Component", ErrMalformed)
		}
		return fmt.Errorf("%w: unknown derived component %q", ErrMalformed, c.name)
	case kindField:
		if !validFieldName(c.name) {
			return fmt.Errorf("%w: invalid field name %s", ErrMalformed, redact.FieldName(c.name))
		}
		if c.hasKey && !validSFString(c.key) {
			return fmt.Errorf("%w: invalid dictionary key for %q", ErrMalformed, c.name)
		}
		if c.bs && (c.sf || c.hasKey) {
			return fmt.Errorf("%w: %s: bs cannot be combined with sf or key", ErrMalformed, c.id)
		}
	case kindQueryParam:
		if c.qname == "" {
			// As ParseComponent refuses it: every verifier would refuse
			// a signature covering it.
			return fmt.Errorf("%w: @query-param needs a non-empty name", ErrMalformed)
		}
		if !validSFString(c.qname) {
			return fmt.Errorf("%w: invalid query parameter name", ErrMalformed)
		}
	}
	return nil
}

// ParseComponent parses a serialised component identifier such as
// `"@query-param";name="Pet"` or `"example-dict";key="a"`. Unknown
// derived components, unknown or response-only parameters (req, tr) and
// incompatible combinations (bs with sf or key) are errors wrapping
// ErrMalformed.
func ParseComponent(s string) (Component, error) {
	item, err := httpsfv.UnmarshalItem([]string{s})
	if err != nil {
		return Component{}, fmt.Errorf("%w: component %q: %v", ErrMalformed, s, err)
	}
	return componentFromItem(item)
}

func componentFromItem(item httpsfv.Item) (Component, error) {
	name, ok := item.Value.(string)
	if !ok {
		return Component{}, fmt.Errorf("%w: component identifier is not a string", ErrMalformed)
	}
	var c Component
	c.name = name
	if strings.HasPrefix(name, "@") {
		c.kind = derivedKinds[name]
		if c.kind == kindInvalid {
			return Component{}, fmt.Errorf("%w: unknown or unsupported derived component %q", ErrMalformed, name)
		}
	} else {
		if !validFieldName(name) {
			return Component{}, fmt.Errorf("%w: invalid field name %s (must be lower case)", ErrMalformed, redact.FieldName(name))
		}
		c.kind = kindField
	}
	if item.Params != nil {
		for _, pn := range item.Params.Names() {
			v, _ := item.Params.Get(pn)
			switch pn {
			case "sf", "bs":
				if b, ok := v.(bool); !ok || !b || c.kind != kindField {
					return Component{}, fmt.Errorf("%w: %q: parameter %s must be a true flag on a field", ErrMalformed, name, pn)
				}
				if pn == "sf" {
					c.sf = true
				} else {
					c.bs = true
				}
				c.params = append(c.params, compParam{name: pn, bool: true})
			case "key":
				s, ok := v.(string)
				if !ok || c.kind != kindField || c.hasKey {
					return Component{}, fmt.Errorf("%w: %q: invalid key parameter", ErrMalformed, name)
				}
				c.key, c.hasKey = s, true
				c.params = append(c.params, compParam{name: pn, value: s})
			case "name":
				s, ok := v.(string)
				if !ok || c.kind != kindQueryParam || c.qname != "" {
					return Component{}, fmt.Errorf("%w: %q: invalid name parameter", ErrMalformed, name)
				}
				c.qname = s
				c.params = append(c.params, compParam{name: pn, value: s})
			case "req", "tr":
				return Component{}, fmt.Errorf("%w: %q: parameter %s is not supported on requests", ErrMalformed, name, pn)
			default:
				return Component{}, fmt.Errorf("%w: %q: unknown parameter %s", ErrMalformed, name, strconv.Quote(pn))
			}
		}
	}
	if c.kind == kindQueryParam && c.qname == "" {
		return Component{}, fmt.Errorf("%w: @query-param needs a non-empty name parameter", ErrMalformed)
	}
	c = c.finish()
	if err := c.validate(); err != nil {
		return Component{}, err
	}
	return c, nil
}

// DefaultComponents returns the components the transport sign layer covers
// by default, in this order: @method, @authority, @path, @query,
// content-digest when the request has a body, and content-type and
// authorization when present (a Content-Type on a request without a body
// too). Never "all headers": headers added after
// signing (trace context) are not covered.
func DefaultComponents() []Component {
	return []Component{
		Method, Authority, Path, Query,
		Field("content-digest").IfPresent(),
		Field("content-type").IfPresent(),
		Field("authorization").IfPresent(),
	}
}

// checkKeyMember refuses a ;key= member that is not a Dictionary key (RFC
// 8941 §3.2), which no field has: the component would be missing from
// every request (left out unsigned when IfPresent). Only for configured
// components (New, NewVerifier): a received one is looked up as it is.
func checkKeyMember(c Component) error {
	if c.kind != kindField || !c.hasKey || validSFKey(c.key) {
		return nil
	}
	return fmt.Errorf("%w: %s: the key member %q is not a Dictionary key (lower-case letters, digits and _-.*, starting with a letter or *), so no field has it", ErrMalformed, c.id, c.key)
}

// coversSignatureFields reports whether c covers the Signature-Input or
// Signature field whole (plain, ;sf or ;bs), or the member of either under
// label (a signer's own label; "" for none): a signature that Sign then
// adds to those fields can never cover itself.
func coversSignatureFields(c Component, label string) bool {
	if c.kind != kindField || c.name != "signature" && c.name != "signature-input" {
		return false
	}
	return !c.hasKey || label != "" && c.key == label
}
