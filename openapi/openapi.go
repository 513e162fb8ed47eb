package openapi

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.opentelemetry.io/otel/attribute"

	"github.com/securecall/securecall/internal/ascii"
	"github.com/securecall/securecall/internal/hostname"
	"github.com/securecall/securecall/internal/redact"
	"github.com/securecall/securecall/internal/reqbody"
	"github.com/securecall/securecall/transport"
)

// DefaultMaxBodyBytes is the largest request or response body validated
// when Config.MaxBodyBytes is zero: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// EventSchemaViolation is the span event added for every violation, in
// both modes, with the attributes securecall.schema.direction,
// url.template and securecall.schema.reason.
const EventSchemaViolation = "securecall.schema.violation"

// EventSchemaSkipped is the span event added when a body was not
// validated: in both modes, a request or response body over MaxBodyBytes
// (reason "body over MaxBodyBytes"; its parameters, headers, status and
// Content-Type still were; either is a violation too, see
// Config.MaxBodyBytes); in ReportOnly mode, a response whose body
// failed while the layer read it, or a request whose body copy from
// GetBody could not be had or read. Its attributes are
// securecall.schema.direction, url.template and securecall.schema.reason.
// But for a request body over MaxBodyBytes in Enforce mode, the call goes
// on as it would without the layer: the request is sent with its body;
// the response reaches the caller with the bytes read, then the error.
const EventSchemaSkipped = "securecall.schema.skipped"

// Mode says what a violation does.
type Mode int

const (
	// Enforce fails the call: a request violation before anything is sent,
	// a response violation instead of returning the response.
	Enforce Mode = iota
	// ReportOnly reports violations (OnViolation, span event) and lets
	// the call go on unchanged.
	ReportOnly
)

// Config configures New.
type Config struct {
	// Spec is the OpenAPI 3 description, JSON or YAML. External
	// references ($ref to other files or URLs) are not loaded. One of Spec
	// and Doc is required. A regular expression of it ("pattern", a
	// patternProperties key) that Go's regexp does not compile (ECMA-only
	// syntax such as a lookahead) is a *transport.ConfigError naming Spec;
	// so is, in OpenAPI 3.1, a "pattern" with a \u escape (write \x{...})
	// in a schema that also uses a JSON Schema 2020-12 keyword. A
	// server's variable with an enum limits that server to the enum's
	// values (and the default): a request to another ("/v3" for
	// [v1, v2]) is to no server of the description, so no operation; a
	// server whose variables' enums have more than 1024 combinations is a
	// *transport.ConfigError naming Spec, and so is a description whose
	// servers come to more than 64 once each variable with an enum in a
	// URL's scheme or port, or a URL that is one variable, stands for one
	// server per value (the router tries each for every path). A server
	// variable without an enum in the scheme or the authority that the
	// router cannot match as a variable (a host name with dots, one
	// standing for the scheme and host as in "{baseUrl}/v1") matches its
	// default only.
	Spec []byte
	// Doc is an already loaded description, used instead of Spec. It is
	// not modified, and it is not copied: the layer reads it on every
	// call, so it must not be changed after New (load another and build
	// another layer instead). Spec has no such rule: it is parsed at New.
	// kin-openapi loads every number of a description as a float64 and
	// keeps no text of it (Schema.Origin, with Loader.IncludeOrigin,
	// says where a keyword is, not what it says), so a minimum,
	// maximum, exclusiveMinimum, exclusiveMaximum, multipleOf, const or
	// enum member of Doc written as an integer past 2^53 is the float64
	// nearest it, and values are held to that float64 exactly: a maximum
	// written 9007199254740993 refuses 9007199254740993, a minimum so
	// written takes 9007199254740992, a maximum of 9223372036854775807
	// is 2^63. New cannot tell such a bound from one written as its
	// float64 (every float64 past 2^53 is an integer) and does not
	// refuse it; give the description as Spec, whose integers are read
	// from its text, to have them as written. A discriminator's
	// implicit mapping (see the package doc) is given to openapi3filter
	// for Spec only; with Doc the layer reads it itself, holding a
	// payload to the branch its value names and taking back
	// openapi3filter's refusal of one that passes that branch (a valid
	// payload matching two oneOf branches, an implicit value beside a
	// partial mapping).
	Doc *openapi3.T
	// Servers replaces the description's servers: the base URLs the
	// client's requests go to ("https://api.example.com/v1"). A request is
	// matched against them, so they must match the client's URLs. Empty:
	// the description's own. An entry that is not a server URL (empty,
	// undeclared variables, a scheme other than http or https) is a
	// *transport.ConfigError naming Servers, whose message shows none of a
	// URL's userinfo or query values (a base URL from configuration may
	// carry credentials; nothing after the scheme of one url.Parse
	// refuses). An entry starting with "/"
	// is relative, a "://" in it part of its path
	// ("/proxy/https://up.example.com/v1", a gateway's path naming its
	// upstream), not a scheme.
	Servers []string
	// Mode is Enforce (the zero value) or ReportOnly.
	Mode Mode
	// SkipRequests and SkipResponses turn off one direction.
	SkipRequests  bool
	SkipResponses bool
	// AllowUnknownRoutes lets requests that match no operation of the
	// description through without validation (a path that matches one
	// but for repeated or trailing slashes is validated against it). A
	// path with a "." or ".." segment is a violation all the same: the
	// upstream may resolve it to a described operation. So is one whose
	// segment is "." or ".." once "%2F", "%5C" or a backslash is read
	// as "/" ("/x%2F..%2Fpets/0"), percent-encodings are decoded (twice
	// over, too) or a ";" ends the segment ("..;", as Tomcat reads it),
	// and a path that matches an operation only once read that way
	// ("/pets%2F0", "/pets;x=1/0") or read ignoring case ("/V1/PETS/0",
	// as Express and ASP.NET Core route it), also when a template matches
	// it for other methods only ("/{coll}/{id}" with a DELETE, for a
	// GET). A HEAD is validated as the GET of its path when the
	// description has no HEAD operation there, most frameworks serving
	// one with the other. Zero: such a
	// request is a violation ("no matching operation").
	AllowUnknownRoutes bool
	// MaxBodyBytes is the largest body buffered for validation. A larger
	// request body cannot be validated, which is a violation (reason
	// "body over MaxBodyBytes (N bytes) cannot be validated", after any
	// other violation of the request): Enforce mode fails the call with a
	// *ViolationError and sends nothing, so that a body padded past the
	// limit does not go out unchecked; ReportOnly sends it, body intact.
	// A body there is nothing to check of but its media type is sent in
	// both modes: one whose media type the operation describes without a
	// schema, or with a string schema with no maxLength, pattern, enum,
	// const or composition (a binary upload). A larger form body
	// (urlencoded, multipart) always is a violation. Raise MaxBodyBytes for
	// an API with large uploads of other kinds. A larger response body is
	// not validated either (its status and headers still are, and its
	// Content-Type), and is a violation with the same reason: Enforce
	// fails the call with a *ViolationError, closing the body, so that
	// an upstream padding a response past the limit does not put any body
	// past the contract; ReportOnly returns it, body intact. One with
	// nothing to check (a string schema that constrains nothing: a binary
	// download) is returned in both modes. Both add the EventSchemaSkipped
	// span event. Zero means DefaultMaxBodyBytes. Bound the response size
	// itself with transport.NewLimits below this layer.
	MaxBodyBytes int64
	// OnViolation, when set, is called for every violation, in both
	// modes, on the goroutine of the call. nil: none.
	OnViolation func(context.Context, *Violation)
	// Options are passed to openapi3filter. nil: defaults, with
	// AuthenticationFunc set to openapi3filter.NoopAuthenticationFunc
	// (credentials are added by layers below this one, so they are not on
	// the request yet). SkipSettingDefaults (the request is never
	// changed) and IncludeResponseStatus (a status the operation lists
	// neither itself, nor by range, nor with a "default" response is a
	// violation, but for a 302 or 303 the client follows and for a 429 or
	// 5xx, which pass as they are; a 301, 304, 307 or 308 is validated
	// only when listed by its code or a range, and passes otherwise) are
	// always set. A string's format is checked as kin-openapi checks it:
	// "date", "date-time", "byte", "ipv4" and "ipv6"; another ("uuid",
	// "email", "uri") is an annotation, not checked, unless its validator
	// is given here (SchemaValidationOptions:
	// openapi3.WithStringFormatValidators, with
	// openapi3.NewRegexpFormatValidator of
	// openapi3.FormatOfStringForUUIDOfRFC4122 for "uuid") or registered
	// with openapi3.DefineStringFormatValidator.
	Options *openapi3filter.Options
}

// Violation describes a request or response that does not match the
// description.
type Violation struct {
	// Direction is "request" or "response".
	Direction string
	// Method is the request method.
	Method string
	// Route is the matched operation's path template (with the server's
	// base path, a server variable in it kept as "{name}" but for one with
	// an enum, which is its value; the scheme and the authority dropped
	// with their variables, one standing for them at the URL's start
	// ("{baseUrl}/v1") taken as its default, whose path is kept; the base
	// path normalised by transport.NormalizePath, so that a credential in
	// it, https://api.telegram.org/bot<TOKEN>, is "{id}"), "" when no
	// operation matched.
	Route string
	// StatusCode is the response status (responses only).
	StatusCode int
	// Reason says what is wrong: the parameter or the JSON pointer of the
	// failing field and the rule it broke, never the offending value.
	Reason string
}

// ViolationError is the error of a call failed by a violation in Enforce
// mode. It wraps transport.ErrSchemaViolation.
type ViolationError struct {
	Violation
}

func (e *ViolationError) Error() string {
	s := "openapi: " + e.Direction + " " + e.Method
	if e.Route != "" {
		s += " " + e.Route
	}
	if e.Direction == "response" {
		s += " (status " + strconv.Itoa(e.StatusCode) + ")"
	}
	return s + ": " + e.Reason
}

func (e *ViolationError) Unwrap() error { return transport.ErrSchemaViolation }

// ErrorType returns "schema_violation", the error.type of telemetry.
func (e *ViolationError) ErrorType() string { return "schema_violation" }

// serversErr returns err, an error about a server URL of Servers or of the
// description, with the URL of every *url.Error in it redacted (no
// userinfo, no query value; url.Parse's own error shows nothing after the
// scheme), the *url.Error kept for errors.As: a base URL handed over from
// configuration may carry credentials.
func serversErr(err error) error { return serverRedaction.Error(err) }

var serverRedaction = &redact.Policy{}

// New returns the OpenAPI validation layer. Bad configuration (no
// description, one that does not load or validate, a bad server URL) is a
// *transport.ConfigError.
func New(next http.RoundTripper, cfg Config) (http.RoundTripper, error) {
	doc := cfg.Doc
	var exact exactNumbers
	if doc == nil {
		if len(cfg.Spec) == 0 {
			return nil, &transport.ConfigError{Option: "Spec", Reason: "an OpenAPI description (Spec or Doc) is required"}
		}
		loader := openapi3.NewLoader()
		// Origins locate the integers no float64 holds in Spec's text
		// (exactNumbersOf); a description without a number of 16 digits
		// or more (hasLongDigits) has none.
		loader.IncludeOrigin = hasLongDigits(string(cfg.Spec))
		d, err := loader.LoadFromData(cfg.Spec)
		if err != nil {
			return nil, &transport.ConfigError{Option: "Spec", Reason: "does not load", Err: err}
		}
		doc = d
		if loader.IncludeOrigin {
			exact = exactNumbersOf(d, cfg.Spec)
		}
		implicitMappings(d)
	}
	if len(cfg.Servers) > 0 {
		d := *doc
		d.Servers = nil
		for i, s := range cfg.Servers {
			srv := &openapi3.Server{URL: s}
			if err := srv.Validate(context.Background()); err != nil {
				return nil, &transport.ConfigError{Option: "Servers", Reason: "entry " + strconv.Itoa(i) + " is not a server URL", Err: serversErr(err)}
			}
			if j := schemeEnd(s); j >= 0 && !strings.EqualFold(s[:j], "https") && !strings.EqualFold(s[:j], "http") {
				return nil, &transport.ConfigError{Option: "Servers", Reason: "entry " + strconv.Itoa(i) + " is not an http or https URL"}
			}
			d.Servers = append(d.Servers, srv)
		}
		doc = &d
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, &transport.ConfigError{Option: "Spec", Reason: "is not a valid OpenAPI 3 description", Err: err}
	}
	if err := responseKeysValid(doc); err != nil {
		return nil, err
	}
	if err := patternPropertiesCompile(doc); err != nil {
		return nil, err
	}
	if err := patterns2020Compile(doc); err != nil {
		return nil, err
	}
	rdoc, err := enumServers(doc)
	if err != nil {
		return nil, err
	}
	router, err := newServerRouter(rdoc)
	if err != nil {
		return nil, &transport.ConfigError{Option: "Servers", Reason: "cannot build a router", Err: serversErr(err)}
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, &transport.ConfigError{Option: "MaxBodyBytes", Reason: "must not be negative"}
	}
	if cfg.Mode != Enforce && cfg.Mode != ReportOnly {
		return nil, &transport.ConfigError{Option: "Mode", Reason: "must be Enforce or ReportOnly"}
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}
	if cfg.Options != nil {
		o := *cfg.Options
		opts = &o
		if opts.AuthenticationFunc == nil {
			opts.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
		}
	}
	opts.SkipSettingDefaults = true
	// openapi3filter lets a status the operation does not list through
	// unless told otherwise; the status is part of what is validated.
	opts.IncludeResponseStatus = true
	if next == nil {
		next = http.DefaultTransport
	}
	max := cfg.MaxBodyBytes
	if max == 0 {
		max = DefaultMaxBodyBytes
	}
	// The router of the description in lower case (foldDoc) finds the
	// operation an upstream routing ignoring case serves a path as.
	foldRouter, err := newServerRouter(foldDoc(rdoc))
	if err != nil {
		if cfg.AllowUnknownRoutes {
			return nil, &transport.ConfigError{Option: "Servers", Reason: "cannot build a router", Err: serversErr(err)}
		}
		// Without AllowUnknownRoutes it serves findRoute's check of a
		// path another operation matches ignoring case only.
		foldRouter = nil
	}
	return &layer{
		foldRouter: foldRouter,
		caseApart:  caseApart(rdoc),
		next:       next, router: router, mode: cfg.Mode,
		skipReq: cfg.SkipRequests, skipResp: cfg.SkipResponses, allowUnknown: cfg.AllowUnknownRoutes,
		max: max, onViolation: cfg.OnViolation, opts: opts,
		opaque: doc.IsOpenAPI31OrLater(),
		exact:  exact,
		subs:   subtypesOf(doc, cfg.Doc != nil),
	}, nil
}

// implicitMappings gives each discriminator of doc (loaded from Spec,
// the layer's own) with oneOf or anyOf an entry for each branch
// "#/components/schemas/Name" that no entry of its mapping names: Name,
// the branch's implicit value (OpenAPI 3.0.3 and 3.1, "implicit
// mapping"). openapi3filter reads none: without a mapping it held a
// payload to every branch, so {"kind":"Dog",...} passed as a Cat that
// allows other members (and reached an upstream that deserializes it as
// a Dog, its constraints unchecked), and a valid one matching both
// branches broke oneOf; with a mapping it refused a branch's implicit
// value. It now holds a payload to the branch its value names, and
// refuses one naming none.
func implicitMappings(doc *openapi3.T) {
	_ = doc.WalkSchemas(func(_ string, sr *openapi3.SchemaRef) error {
		s := sr.Value
		if s == nil || s.Discriminator == nil || s.Discriminator.PropertyName == "" {
			return nil
		}
		eachImplicitBranch(s, func(name string, b *openapi3.SchemaRef) {
			if s.Discriminator.Mapping == nil {
				s.Discriminator.Mapping = make(map[string]openapi3.MappingRef)
			}
			s.Discriminator.Mapping[name] = openapi3.MappingRef{Ref: b.Ref}
		})
		return nil
	})
}

// eachImplicitBranch calls f for each branch of s's oneOf and anyOf (s
// has a discriminator) that is a reference "#/components/schemas/Name"
// which no entry of the discriminator's mapping names, by its key or its
// target (a branch an entry names takes that entry's value), with Name,
// the branch's implicit value. The mapping is read again for each branch:
// f may add to it.
func eachImplicitBranch(s *openapi3.Schema, f func(name string, b *openapi3.SchemaRef)) {
	const prefix = "#/components/schemas/"
	for _, branches := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		for _, b := range branches {
			name, ok := strings.CutPrefix(b.Ref, prefix)
			if !ok || name == "" || strings.Contains(name, "/") {
				continue
			}
			if _, taken := s.Discriminator.Mapping[name]; taken {
				continue
			}
			mapped := false
			for _, m := range s.Discriminator.Mapping {
				mapped = mapped || m.Ref == b.Ref || m.Ref == name
			}
			if !mapped {
				f(name, b)
			}
		}
	}
}

// responseKeysValid returns a *transport.ConfigError naming Spec for a key
// of an operation's responses that is neither an HTTP status code
// (100-599), a range 1XX-5XX (upper case, as OpenAPI writes it) nor
// "default": "2xx", "20X", "6XX". doc.Validate takes them, and no status
// ever matches them, so that every answer the key was written for would
// fail validation ("status is not supported") at run time, in Enforce
// mode every call.
func responseKeysValid(doc *openapi3.T) error {
	if doc.Paths == nil {
		return nil
	}
	for _, path := range slices.Sorted(maps.Keys(doc.Paths.Map())) {
		ops := doc.Paths.Value(path).Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			op := ops[method]
			if op == nil || op.Responses == nil {
				continue
			}
			for _, key := range slices.Sorted(maps.Keys(op.Responses.Map())) {
				if !validResponseKey(key) {
					return &transport.ConfigError{Option: "Spec", Reason: "response key " + strconv.Quote(key) + " of " + method + " " + path +
						" is not a status code (100-599), a range 1XX-5XX or default"}
				}
			}
		}
	}
	return nil
}

func validResponseKey(k string) bool {
	if k == "default" {
		return true
	}
	if len(k) != 3 || k[0] < '1' || k[0] > '5' {
		return false
	}
	if k[1:] == "XX" {
		return true
	}
	return k[1] >= '0' && k[1] <= '9' && k[2] >= '0' && k[2] <= '9'
}

// patternPropertiesCompile returns a *transport.ConfigError naming Spec
// for a patternProperties key (OpenAPI 3.1) that Go's regexp does not
// compile: ECMA-only syntax such as a lookahead ("^x(?!y)"). doc.Validate
// compiles "pattern" but not these keys; kin-openapi compiles them only
// while it validates and, when it cannot, falls back to a validator that
// knows no patternProperties, so every member the key was to constrain
// would pass unvalidated.
func patternPropertiesCompile(doc *openapi3.T) error {
	return doc.WalkSchemas(func(ptr string, sr *openapi3.SchemaRef) error {
		for _, pat := range slices.Sorted(maps.Keys(sr.Value.PatternProperties)) {
			if _, err := regexp.Compile(pat); err != nil {
				return &transport.ConfigError{Option: "Spec", Reason: "patternProperties key " + strconv.Quote(pat) + " at " + ptr + " is not a Go (RE2) regular expression", Err: err}
			}
		}
		return nil
	})
}

// patterns2020Compile returns a *transport.ConfigError naming Spec for a
// "pattern" of an OpenAPI 3.1 description that Go's regexp does not
// compile as written ("\u0041") in reach of a JSON Schema 2020-12 keyword
// (patternProperties, propertyNames, if, ...). doc.Validate compiles a
// pattern once it has rewritten \u for Go; the 2020-12 validator kin-openapi
// uses for 3.1 does not rewrite, fails to compile the whole schema, and
// falls back to a validator that knows none of those keywords: what they
// constrain would pass unvalidated. Without such a keyword the fallback
// validates all there is, and the pattern is fine.
func patterns2020Compile(doc *openapi3.T) error {
	if !doc.IsOpenAPI31OrLater() {
		return nil
	}
	badPattern := func(s *openapi3.Schema) bool {
		if s.Pattern == "" {
			return false
		}
		_, err := regexp.Compile(s.Pattern)
		return err != nil
	}
	var bad []string // pointers of such patterns, if any
	_ = doc.WalkSchemas(func(ptr string, sr *openapi3.SchemaRef) error {
		if badPattern(sr.Value) {
			bad = append(bad, ptr)
		}
		return nil
	})
	if len(bad) == 0 {
		return nil
	}
	// Rare: find a schema (a body's, a parameter's, any) whose subtree has
	// both such a pattern and a 2020-12 keyword.
	return doc.WalkSchemas(func(ptr string, sr *openapi3.SchemaRef) error {
		var pat, kw string
		_ = sr.WalkSubtree(func(sub string, r *openapi3.SchemaRef) error {
			if pat == "" && badPattern(r.Value) {
				pat = ptr + sub + "/pattern"
			}
			if kw == "" {
				kw = keyword2020(r.Value)
			}
			return nil
		})
		if pat != "" && kw != "" {
			return &transport.ConfigError{Option: "Spec", Reason: "pattern at " + pat + " is not a Go (RE2) regular expression as written (write \\x{...} for \\u...): kin-openapi's JSON Schema 2020-12 validator cannot compile it and would validate without " + kw}
		}
		return nil
	})
}

// keyword2020 returns a JSON Schema 2020-12 keyword of s that kin-openapi's
// fallback validator does not know, "" if none (the keywords it falls back
// on: schemaHasJSONSchema2020FallbackGuardKeyword).
func keyword2020(s *openapi3.Schema) string {
	switch {
	case s.Const != nil:
		return "const"
	case len(s.PrefixItems) != 0:
		return "prefixItems"
	case s.Contains != nil:
		return "contains"
	case len(s.PatternProperties) != 0:
		return "patternProperties"
	case len(s.DependentSchemas) != 0:
		return "dependentSchemas"
	case s.PropertyNames != nil:
		return "propertyNames"
	case s.UnevaluatedItems.Has != nil || s.UnevaluatedItems.Schema != nil:
		return "unevaluatedItems"
	case s.UnevaluatedProperties.Has != nil || s.UnevaluatedProperties.Schema != nil:
		return "unevaluatedProperties"
	case s.If != nil || s.Then != nil || s.Else != nil:
		return "if"
	case len(s.DependentRequired) != 0:
		return "dependentRequired"
	case len(s.Defs) != 0:
		return "$defs"
	case s.ContentSchema != nil:
		return "contentSchema"
	}
	return ""
}

// maxServerCombinations bounds the servers a server with enum variables
// stands for (the product of the enums' sizes).
const maxServerCombinations = 1024

// maxRouterServers bounds the servers the router is given for the
// description (its own and its paths'), counting one per value of a
// variable enumServers expands: the router tries each of them for every
// path, one by one, on every call.
const maxRouterServers = 64

// enumServers returns doc for the router (newServerRouter). A server's
// variable with an enum that the router matches as a variable (one in the
// host or the path) stays one, and newServerRouter holds its value to the
// enum once a route matched. One the router cannot match so (in the
// scheme, the port, a URL that is the one variable, or with a value the
// router's variable does not match: one with a "." in the host, with a "/"
// in the path, or empty; or named as a variable of a path it is for) is
// expanded: the server is replaced by one
// server per combination of such variables' values. gorilla/mux matches a
// variable as any value, so that a request to a base path the enum does
// not list ("/v3" for [v1, v2]), to no server of the description, was
// validated as the described operation and sent. doc is not modified.
func enumServers(doc *openapi3.T) (*openapi3.T, error) {
	total := 0
	var top []string // the paths the description's servers are for
	if doc.Paths != nil {
		for _, path := range doc.Paths.InMatchingOrder() {
			if len(doc.Paths.Value(path).Servers) == 0 {
				top = append(top, path)
			}
		}
	}
	servers, changed, err := expandServers(doc.Servers, "servers", pathVars(top...), &total)
	if err != nil {
		return nil, err
	}
	d := *doc
	if changed {
		d.Servers = servers
	}
	if doc.Paths == nil {
		return &d, nil
	}
	var paths *openapi3.Paths
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		ss, ch, err := expandServers(item.Servers, "paths."+path+".servers", pathVars(path), &total)
		if err != nil {
			return nil, err
		}
		if !ch {
			continue
		}
		if paths == nil {
			paths = openapi3.NewPaths()
			paths.Extensions = doc.Paths.Extensions
			for k, v := range doc.Paths.Map() {
				paths.Set(k, v)
			}
		}
		c := *item
		c.Servers = ss
		paths.Set(path, &c)
	}
	if paths != nil {
		d.Paths = paths
	}
	return &d, nil
}

// expandServers expands the variables of in's servers that enumServers
// expands, and puts the default in place of one without an enum in the
// scheme or the authority that the router cannot match as a variable; changed reports whether it expanded any. where names the
// servers in an error; params are the names of the variables of the
// servers' paths; total counts the servers given to the router.
func expandServers(in openapi3.Servers, where string, params map[string]bool, total *int) (out openapi3.Servers, changed bool, err error) {
	for i, s := range in {
		if s == nil {
			out = append(out, s)
			*total++
			continue
		}
		var names []string
		n, all := 1, 1
		for _, name := range slices.Sorted(maps.Keys(s.Variables)) {
			v := s.Variables[name]
			if v == nil || !strings.Contains(s.URL, "{"+name+"}") {
				continue
			}
			if len(v.Enum) == 0 {
				// The router matches a variable in the scheme or the
				// authority it cannot match as one (the URL's scheme and
				// host, "{baseUrl}/v1") as its default only: it is put
				// in its place, so that the URL routes at all and its
				// base path is its path.
				if !inPath(s, name) && !routerMatches(s, name) {
					names = append(names, name)
				}
				continue
			}
			all *= len(serverValues(v))
			if all > maxServerCombinations {
				return nil, false, &transport.ConfigError{Option: "Spec", Reason: fmt.Sprintf(
					"%s[%d] stands for more than %d servers (the product of its variables' enums)", where, i, maxServerCombinations)}
			}
			if !params[name] && routerMatches(s, name) {
				continue
			}
			names = append(names, name)
			n *= len(serverValues(v))
		}
		if *total += n; *total > maxRouterServers {
			return nil, false, &transport.ConfigError{Option: "Spec", Reason: fmt.Sprintf(
				"%s[%d]: the servers stand for more than %d servers to route by (one per value of a variable with an enum in a URL's scheme or port, or of a URL that is one variable)", where, i, maxRouterServers)}
		}
		if len(names) == 0 {
			out = append(out, s)
			continue
		}
		changed = true
		urls := []string{s.URL}
		for _, name := range names {
			var next []string
			for _, u := range urls {
				for _, val := range serverValues(s.Variables[name]) {
					next = append(next, strings.ReplaceAll(u, "{"+name+"}", val))
				}
			}
			urls = next
		}
		vars := maps.Clone(s.Variables)
		for _, name := range names {
			delete(vars, name)
		}
		if len(vars) == 0 {
			vars = nil
		}
		for _, u := range urls {
			c := *s
			c.URL, c.Variables = u, vars
			out = append(out, &c)
		}
	}
	return out, changed, nil
}

// pathVarRe matches a variable of a path template, its name the group.
var pathVarRe = regexp.MustCompile(`\{([^{}:]+)`)

// pathVars returns the names of the variables of the paths: the router
// gives the value of a server variable of the same name as the path's.
func pathVars(paths ...string) map[string]bool {
	names := map[string]bool{}
	for _, p := range paths {
		for _, m := range pathVarRe.FindAllStringSubmatch(p, -1) {
			names[m[1]] = true
		}
	}
	return names
}

// inPath reports whether the variable name of s's URL is in the URL's
// path: not the whole URL, not in its scheme or authority, nor at its
// start standing for them ("{baseUrl}/v1", the default a URL with a
// scheme).
func inPath(s *openapi3.Server, name string) bool {
	u, ph := s.URL, "{"+name+"}"
	at := strings.Index(u, ph)
	if u == ph || at < 0 {
		return false
	}
	if i := schemeEnd(u); i >= 0 {
		j := strings.IndexByte(u[i+3:], '/')
		return j >= 0 && at >= i+3+j
	}
	v := s.Variables[name]
	return at > 0 || v == nil || !strings.Contains(v.Default, "://")
}

// routerMatches reports whether kin-openapi's gorilla/mux router matches
// the variable name of s's URL as a variable, giving its value (so that
// newServerRouter can hold it to the enum): once, in the host or the path,
// each value one the variable's pattern matches. The router puts the
// default in place of a URL that is one variable and of a port variable
// (the variable after the URL's first ":{"), and matches a scheme among
// the values of its variables.
func routerMatches(s *openapi3.Server, name string) bool {
	u, ph := s.URL, "{"+name+"}"
	if strings.Count(u, ph) != 1 || u == ph {
		return false
	}
	if i := strings.Index(u, ":{"); i >= 0 && strings.HasPrefix(u[i+1:], ph) {
		return false
	}
	at := strings.Index(u, ph)
	sep := "/" // a path variable matches a segment's part
	if i := schemeEnd(u); i >= 0 {
		if at < i {
			return false // the scheme
		}
		if j := strings.IndexByte(u[i+3:], '/'); j < 0 || at < i+3+j {
			sep = "." // a host variable matches a label's part
		}
	}
	for _, val := range serverValues(s.Variables[name]) {
		if val == "" || strings.Contains(val, sep) || strings.ContainsAny(val, "{}") {
			return false
		}
	}
	return true
}

// newServerRouter returns a router for doc (made by enumServers) that
// matches a request as kin-openapi's gorilla/mux router of doc does, but
// for a server's variable with an enum that the router matches as any
// value (routerMatches): a route whose value of one is not of the enum is
// no match, and the next route is tried, as the next server would be.
// Each route (one path under one server) has a router of its own, so that
// the routes are tried in the order of one router of doc: that one stops
// at the first match.
func newServerRouter(doc *openapi3.T) (routers.Router, error) {
	r := &serverRouter{doc: doc}
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		servers, own := doc.Servers, len(item.Servers) > 0
		if own {
			servers = item.Servers
		}
		if len(servers) == 0 {
			servers = openapi3.Servers{nil}
		}
		for _, s := range servers {
			if s != nil {
				s = lowerAuthority(s)
			}
			ks, colons := relativeColons(s)
			d, c := *doc, *item
			switch {
			case own:
				c.Servers = openapi3.Servers{ks}
			case s != nil:
				d.Servers = openapi3.Servers{ks}
			}
			d.Paths = openapi3.NewPaths(openapi3.WithPath(path, &c))
			kr, err := gorillamux.NewRouter(&d)
			if err != nil {
				return nil, err
			}
			e := serverRoute{router: kr, item: item}
			if colons > 0 {
				e.server, e.colons = s, colons
			}
			if s != nil {
				e.port, e.checkPort = serverPort(s.URL)
				for _, name := range slices.Sorted(maps.Keys(s.Variables)) {
					if v := s.Variables[name]; v != nil && len(v.Enum) > 0 && strings.Contains(s.URL, "{"+name+"}") {
						e.enums = append(e.enums, serverEnum{name: name, values: serverValues(v)})
					}
				}
			}
			if len(e.enums) > 0 {
				// On a method the path has no operation for, the router
				// gives no variables: the route is matched again with
				// one it has, to learn whether it is a match at all.
				for m := range item.Operations() {
					if e.method == "" || m < e.method {
						e.method = m
					}
				}
			}
			r.routes = append(r.routes, e)
		}
	}
	return r, nil
}

type serverRouter struct {
	doc    *openapi3.T
	routes []serverRoute
}

type serverRoute struct {
	router routers.Router // kin-openapi's, for this route only
	item   *openapi3.PathItem
	enums  []serverEnum // the server's variables with an enum the router matches as any value
	method string       // a method of item's operations (enums only)
	// port is the server's port as written, "" for its scheme's
	// default; checkPort says whether a request's is checked against
	// it (an absolute server whose port no variable may stand for).
	port      string
	checkPort bool
	// colons is the number of colonVar variables in the URL of the
	// router's server (relativeColons), server the server as written
	// (lowerAuthority's) that the route is of; 0 and nil for another.
	colons int
	server *openapi3.Server
}

// serverPort returns the port a server URL (lowerAuthority's) names, ""
// when it names none (its scheme's default: lowerAuthority removed a
// default one written), and whether the URL is an absolute one whose
// port is so known: not a relative server, nor one whose authority ends
// with a variable ("https://{host}/v1"), whose value may carry a port.
func serverPort(u string) (string, bool) {
	i := schemeEnd(u)
	if i < 0 {
		return "", false
	}
	auth := u[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	if auth == "" || strings.HasSuffix(auth, "}") {
		return "", false
	}
	port := hostPort(auth)
	if strings.ContainsAny(port, "{}") {
		return "", false
	}
	return port, true
}

// schemeEnd returns the index of the "://" after the scheme of the
// server URL u, -1 for a relative one ("/v1", "/proxy/https://up/v1":
// a "://" after a "/", "?" or "#" is in its path, query or fragment).
func schemeEnd(u string) int {
	i := strings.Index(u, "://")
	if i < 0 || strings.ContainsAny(u[:i], "/?#") {
		return -1
	}
	return i
}

// colonVar is the name of the router variables newServerRouter puts in
// place of each ":" of "://" in a relative server's URL.
const colonVar = "securecall_colon"

// relativeColons returns s, or a copy of it for kin-openapi's router
// whose URL, relative with a "://" in it ("/proxy/https://up/v1", schemeEnd),
// has each ":" of a "://" as a router variable matching ":" only
// ("{securecall_colon0::}"), and how many: the router takes a URL with
// "://" anywhere for an absolute one, whose scheme ("/proxy/https") no
// request has, so that no request matched the server.
func relativeColons(s *openapi3.Server) (*openapi3.Server, int) {
	if s == nil || schemeEnd(s.URL) >= 0 || !strings.Contains(s.URL, "://") {
		return s, 0
	}
	parts := strings.Split(s.URL, "://")
	var b strings.Builder
	for k, part := range parts {
		if k > 0 {
			b.WriteString("{" + colonVar + strconv.Itoa(k-1) + "::}//")
		}
		b.WriteString(part)
	}
	c := *s
	c.URL = b.String()
	return &c, len(parts) - 1
}

// hostPort returns the port of a URL host ("host:port", "[::1]:port"), ""
// for none.
func hostPort(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i > strings.LastIndexByte(h, ']') {
		return h[i+1:]
	}
	return ""
}

// defaultPort returns the port a URL of scheme goes to when it names
// none: "443" for https, "80" for http, "" for another.
func defaultPort(scheme string) string {
	switch {
	case strings.EqualFold(scheme, "https"):
		return "443"
	case strings.EqualFold(scheme, "http"):
		return "80"
	}
	return ""
}

// onPort reports whether u, which the route's router matched, goes to the
// server's port: the one written, else its scheme's default (the router
// held u's scheme to the server's), u's own being its scheme's default
// when it names none. "https://api.example.com/v1" is on port 443 only
// (":0443" written), "https://api.example.com:8443/v1" on 8443 only.
func (e *serverRoute) onPort(u *url.URL) bool {
	want, got := e.port, hostPort(u.Host)
	if want == "" {
		want = defaultPort(u.Scheme)
	}
	if got == "" {
		got = defaultPort(u.Scheme)
	}
	// ":0443" is dialed as 443: the port as a number.
	return trimZeros(want) == trimZeros(got)
}

// trimZeros returns a port's digits without leading zeros ("0" for
// zeros only).
func trimZeros(p string) string {
	if t := strings.TrimLeft(p, "0"); t != "" || p == "" {
		return t
	}
	return "0"
}

type serverEnum struct {
	name   string
	values []string
}

// FindRoute implements routers.Router.
// A path whose operations are of other methods only does not end the
// search: a later path of the request's method is its operation, as
// gorilla/mux and Express route it ("/pets/{petId}" with a DELETE, then
// "/{coll}/{id}" with a GET); without one the error is
// ErrMethodNotAllowed.
func (r *serverRouter) FindRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	var notAllowed error
	for _, e := range r.routes {
		route, vars, err := e.router.FindRoute(req)
		if errors.Is(err, routers.ErrPathNotFound) {
			continue
		}
		if e.checkPort && !e.onPort(req.URL) {
			// gorilla/mux matches a server written without a port on
			// any port: a request to another port is another service.
			continue
		}
		if len(e.enums) > 0 {
			if err != nil && e.method != "" {
				m := *req
				m.Method = e.method
				_, vars, _ = e.router.FindRoute(&m)
			}
			if !e.inEnums(vars) {
				continue
			}
		}
		if errors.Is(err, routers.ErrMethodNotAllowed) {
			notAllowed = err
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		route.Spec, route.PathItem = r.doc, e.item
		if e.colons > 0 {
			route.Server = e.server
			for k := range e.colons {
				delete(vars, colonVar+strconv.Itoa(k))
			}
		}
		return route, vars, nil
	}
	if notAllowed != nil {
		return nil, nil, notAllowed
	}
	return nil, nil, routers.ErrPathNotFound
}

// inEnums reports whether the route's variables with an enum have a value
// of it.
func (e *serverRoute) inEnums(vars map[string]string) bool {
	for _, v := range e.enums {
		val, ok := vars[v.name]
		if !ok || !slices.Contains(v.values, val) {
			return false
		}
	}
	return true
}

// serverValues returns the values a server variable with an enum takes:
// the enum's, and its default (which OpenAPI 3.1 requires to be one).
func serverValues(v *openapi3.ServerVariable) []string {
	vals := slices.Clone(v.Enum)
	if !slices.Contains(vals, v.Default) {
		vals = append(vals, v.Default)
	}
	return vals
}

type layer struct {
	next         http.RoundTripper
	router       routers.Router
	mode         Mode
	skipReq      bool
	skipResp     bool
	allowUnknown bool
	foldRouter   routers.Router // router's paths and servers in lower case (foldDoc); nil when they do not build one
	caseApart    bool           // no path matches an operation as written and another ignoring case (caseApart)
	max          int64
	onViolation  func(context.Context, *Violation)
	opts         *openapi3filter.Options
	opaque       bool // OpenAPI 3.1+: schema error reasons quote values (see detailOf)
	exact        exactNumbers
	subs         *subtypes // allOf polymorphism: a base's discriminator values and the schemas they select
}

func (l *layer) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// vreq is req as it goes on the wire: its own but for a URL with an
	// Opaque, or a Host that names another authority than the URL
	// (wireURL).
	vreq := req
	if req.URL != nil {
		if other := otherHost(req); other || req.URL.Opaque != "" {
			host := req.URL.Host
			if other {
				host = req.Host
			}
			r := *req
			r.URL = wireURL(req.URL, host)
			vreq = &r
		}
	}
	route, params, err := l.findRoute(vreq)
	if err != nil {
		// A path with a dot segment, or one that matches an operation
		// once decoded, is not let through as an unknown route: the
		// upstream may serve it as an operation of the description (see
		// findRoute).
		if l.allowUnknown && !refusedUnknown(err) {
			return l.next.RoundTrip(req)
		}
		v := &Violation{Direction: "request", Method: req.Method, Reason: reasonOf(err, l.opaque)}
		if verr := l.report(ctx, v); verr != nil {
			closeBody(req.Body)
			return nil, verr
		}
		return l.next.RoundTrip(req)
	}
	name := routeName(route, params)
	if transport.RouteFrom(ctx) == "" {
		// The route the caller gave (WithRoute, a Template) comes first:
		// the operation's path names the call only when it has none.
		transport.SetRoute(ctx, name)
	}

	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: l.opts}
	send := req
	if !l.skipReq {
		vr, s, big, cerr, err := l.bufferRequest(req, l.validatesRequestBody(route) || l.readsFormBody(route, req))
		if err != nil {
			return nil, err
		}
		if vr != nil {
			vr.URL = vreq.URL
		}
		send = s
		vin := *in
		vin.Request = vr
		if big || cerr != nil {
			o := *l.opts
			o.ExcludeRequestBody = true
			vin.Options = &o
		}
		if big {
			transport.AddEvent(ctx, EventSchemaSkipped,
				attribute.String("securecall.schema.direction", "request"),
				attribute.String("url.template", name),
				attribute.String("securecall.schema.reason", reasonTooLarge))
		}
		if vr == nil {
			// ReportOnly, and the copy of the body from GetBody failed:
			// req goes out as it would without the layer, unvalidated.
			transport.AddEvent(ctx, EventSchemaSkipped,
				attribute.String("securecall.schema.direction", "request"),
				attribute.String("url.template", name),
				attribute.String("securecall.schema.reason", "request body copy failed"))
		} else {
			// A body excluded from validation (over the limit, or in a
			// coding the layer cannot decode) still has its media type
			// checked: an undescribed one would otherwise go out.
			if verr := validateRequest(ctx, &vin, params, big || cerr != nil, l.exact, l.subs); verr != nil {
				v := &Violation{Direction: "request", Method: req.Method, Route: name, Reason: reasonOf(verr, l.opaque)}
				if rerr := l.report(ctx, v); rerr != nil {
					closeBody(send.Body)
					return nil, rerr
				}
			}
			if cerr != nil && bodyConstrained(route.Operation, vr.Header.Get("Content-Type")) {
				// A body the layer cannot decode is not sent as if it had
				// been validated: in Enforce mode one header
				// (Content-Encoding: br) would put any body past the
				// contract. One it has nothing to check of (a binary
				// upload) goes out, as one over the limit does.
				v := &Violation{Direction: "request", Method: req.Method, Route: name, Reason: strings.TrimPrefix(cerr.Error(), "openapi: ")}
				if rerr := l.report(ctx, v); rerr != nil {
					closeBody(send.Body)
					return nil, rerr
				}
			}
			if big && bodyConstrained(route.Operation, vr.Header.Get("Content-Type")) {
				// A body the layer cannot validate is not sent as if it
				// had been: in Enforce mode padding a body past the
				// limit would put any body past the contract.
				v := &Violation{Direction: "request", Method: req.Method, Route: name, Reason: l.reasonTooLargeBody()}
				if rerr := l.report(ctx, v); rerr != nil {
					closeBody(send.Body)
					return nil, rerr
				}
			}
		}
	}

	resp, err := l.next.RoundTrip(send)
	if err != nil || l.skipResp {
		return resp, err
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	}
	if passesUnlisted(route.Operation, resp.StatusCode) {
		return resp, nil
	}
	// The body is buffered only if openapi3filter reads it: a response
	// it does not validate the body of (no schema for the status and
	// media type, bodies excluded, a HEAD) is returned with its body
	// unread, so that an event stream or a long poll reaches the caller
	// as soon as its headers do.
	body := &lazyBody{resp: resp, max: l.max}
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   body,
		Options:                l.opts,
	}
	verr := validateResponse(ctx, rin)
	if verr != nil && body.err == nil && !body.big {
		// openapi3filter compares numbers as float64s: the exact
		// answer stands where it refused only such (exactoverride.go).
		verr = exactResponse(ctx, rin, body, verr, l.exact, l.subs)
	}
	tooLarge := false
	switch {
	case body.err != nil:
		// The body failed while read for validation: resp.Body replays
		// the bytes read, then the same error (bufferResponse).
		if l.mode == ReportOnly {
			// The call goes on unchanged: the caller sees the read
			// error where it would have without this layer.
			transport.AddEvent(ctx, EventSchemaSkipped,
				attribute.String("securecall.schema.direction", "response"),
				attribute.String("url.template", name),
				attribute.String("securecall.schema.reason", "response body read failed"))
			return resp, nil
		}
		_ = resp.Body.Close()
		return nil, fmt.Errorf("openapi: reading response body: %w", body.err)
	case body.big && errors.Is(verr, errTooLarge):
		// Over MaxBodyBytes: not validated. Status, headers and
		// Content-Type were, before openapi3filter read the body. A
		// body the layer would check is a violation: in Enforce mode
		// padding a response past the limit would put any body past
		// the contract.
		verr = nil
		tooLarge = responseBodyConstrained(route.Operation, resp)
		transport.AddEvent(ctx, EventSchemaSkipped,
			attribute.String("securecall.schema.direction", "response"),
			attribute.String("url.template", name),
			attribute.String("securecall.schema.reason", reasonTooLarge))
	case verr == nil && body.buf != nil:
		verr = jsonResponseMembers(route.Operation, resp, body.buf, l.exact)
		if verr == nil {
			verr = responseSubtypes(in, l.opts, resp, body.buf, l.subs, l.exact)
		}
	}
	if verr == nil {
		verr = responseHeaderIntegers(route.Operation, resp, l.exact)
	}
	if verr != nil || tooLarge {
		reason := l.reasonTooLargeBody()
		if verr != nil {
			reason = reasonOf(verr, l.opaque)
		}
		v := &Violation{Direction: "response", Method: req.Method, Route: name, StatusCode: resp.StatusCode, Reason: reason}
		if rerr := l.report(ctx, v); rerr != nil {
			_ = resp.Body.Close()
			return nil, rerr
		}
	}
	return resp, nil
}

// validateResponse is openapi3filter.ValidateResponse without its two
// blind spots:
//
//   - a HEAD, which it returns at once for, status and headers
//     unvalidated: a HEAD's are validated as the GET's would be (the
//     operation's, or the GET one's of its path when there is no HEAD
//     operation: findRoute), its body (a HEAD has none) and Content-Type
//     not;
//   - a 301, 304, 307 or 308, which it never validates, even one the
//     operation lists: one the operation lists by its code or a range
//     ("3XX") is validated as any other status is, a 304's body (it
//     never has one) and Content-Type aside. One it lists only with a
//     "default" response, or not at all, passes, as before: a redirect
//     the client follows, a 304 answering the caller's own conditional
//     request (a 302 or 303 so listed or not is passesUnlisted's, the
//     same rule).
func validateResponse(ctx context.Context, in *openapi3filter.ResponseValidationInput) error {
	if err := repeatedHeader(in); err != nil {
		return err
	}
	head := in.RequestValidationInput.Request.Method == http.MethodHead
	var ref *openapi3.ResponseRef
	switch in.Status {
	case http.StatusMovedPermanently, http.StatusNotModified, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		if op := in.RequestValidationInput.Route.Operation; op != nil && op.Responses != nil {
			ref = op.Responses.Status(in.Status)
		}
		if ref == nil {
			return nil
		}
	default:
		if !head {
			return openapi3filter.ValidateResponse(ctx, in)
		}
	}
	rvi := *in.RequestValidationInput
	vin := *in
	vin.RequestValidationInput = &rvi
	if ref != nil {
		// The response listed for the status, as the 200 of an
		// operation listing it alone: a status openapi3filter validates.
		rs := openapi3.NewResponsesWithCapacity(1)
		rs.Set(strconv.Itoa(http.StatusOK), ref)
		op := *rvi.Route.Operation
		op.Responses = rs
		route := *rvi.Route
		route.Operation = &op
		rvi.Route = &route
		vin.Status = http.StatusOK
	}
	if head {
		get := *rvi.Request
		get.Method = http.MethodGet
		rvi.Request = &get
	}
	if head || in.Status == http.StatusNotModified {
		opts := openapi3filter.Options{}
		if in.Options != nil {
			opts = *in.Options
		}
		opts.ExcludeResponseBody = true
		vin.Options = &opts
	}
	return openapi3filter.ValidateResponse(ctx, &vin)
}

// repeatedHeader returns a violation for a response header the response
// listed for in's status (by code or range, else "default" but for a 301,
// 304, 307 or 308: validateResponse) declares with a schema other than an
// array's or an object's, and that the response carries on more than one
// field line (the first one by name, if several). openapi3filter
// validates its first line only ("X-Rate: 1" then "X-Rate: 99999" passes
// a maximum of 10), where the caller's reader may take the last one
// (Header.Values), or the lines joined (RFC 9110 section 5.3, as a proxy
// may have joined them): such a header has one value in the simple style,
// as a request's header parameter does (repeatedParams). An array's or an
// object's lines are one list, which openapi3filter joins and validates
// whole; a header with content (no schema) it refuses repeated itself.
func repeatedHeader(in *openapi3filter.ResponseValidationInput) error {
	op := in.RequestValidationInput.Route.Operation
	if op == nil || op.Responses == nil {
		return nil
	}
	ref := op.Responses.Status(in.Status)
	if ref == nil {
		switch in.Status {
		case http.StatusMovedPermanently, http.StatusNotModified, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			return nil
		}
		ref = op.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return nil
	}
	first := ""
	for name, h := range ref.Value.Headers {
		if h == nil || h.Value == nil || h.Value.Schema == nil || h.Value.Schema.Value == nil || http.CanonicalHeaderKey(name) == "Content-Type" {
			continue
		}
		if typ := h.Value.Schema.Value.Type; typ.Is(openapi3.TypeArray) || typ.Is(openapi3.TypeObject) {
			continue
		}
		if len(in.Header.Values(name)) > 1 && (first == "" || name < first) {
			first = name
		}
	}
	if first == "" {
		return nil
	}
	return &openapi3filter.ResponseError{Input: in, Reason: "response header " + strconv.Quote(first) + " " + reasonRepeated}
}

// responseHeaderIntegers returns a violation for a response header the
// response listed for resp's status declares (as repeatedHeader finds
// it) of type integer or number, or an array of them, whose value or an
// item of it is an integer of 16 digits or more in any form (longNumber)
// that breaks a
// numeric keyword of its schema exactly: openapi3filter compares it as a
// float64 ("X-Quota: 9007199254740993" passed a maximum of
// 9007199254740992), as it does a request's header parameter
// (paramIntegers).
func responseHeaderIntegers(op *openapi3.Operation, resp *http.Response, ex exactNumbers) error {
	if op == nil || op.Responses == nil {
		return nil
	}
	ref := op.Responses.Status(resp.StatusCode)
	if ref == nil {
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusNotModified, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			return nil
		}
		ref = op.Responses.Default()
	}
	if ref == nil || ref.Value == nil {
		return nil
	}
	long := false
	for name := range ref.Value.Headers {
		if slices.ContainsFunc(headerValues(resp.Header, name), hasLongDigits) {
			long = true
			break
		}
	}
	if !long {
		// The common case, without the allocation of sorting the names.
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(ref.Value.Headers)) {
		h := ref.Value.Headers[name]
		if h == nil || h.Value == nil || h.Value.Schema == nil || h.Value.Schema.Value == nil {
			continue
		}
		schema := h.Value.Schema
		array := schema.Value.Type.Is(openapi3.TypeArray)
		if array {
			schema = schema.Value.Items
		}
		if schema == nil || schema.Value == nil || !schema.Value.Type.Is(openapi3.TypeInteger) && !schema.Value.Type.Is(openapi3.TypeNumber) {
			continue
		}
		vs := headerValues(resp.Header, name)
		if !slices.ContainsFunc(vs, hasLongDigits) {
			continue
		}
		var items []string
		for _, v := range vs {
			if array {
				items = append(items, strings.Split(v, ",")...)
			} else {
				items = append(items, v)
			}
		}
		for i, item := range items {
			item = strings.TrimSpace(item)
			if !longNumberText(item) {
				continue
			}
			w := intWalk{exact: ex, patterns: make(map[string]*regexp.Regexp)}
			if f := w.check(schema, json.Number(item), nil, 0); f != nil {
				if array {
					f.at = []string{strconv.Itoa(i)}
				}
				return &openapi3filter.ResponseError{Reason: "response header " + strconv.Quote(name) + ": " + f.reason()}
			}
		}
	}
	return nil
}

// reasonTooLarge is EventSchemaSkipped's reason for a body not validated
// because it is over MaxBodyBytes.
const reasonTooLarge = "body over MaxBodyBytes"

// bodyConstrained reports whether a request body of Content-Type ct to op
// has something the layer would check of a body over MaxBodyBytes: a
// urlencoded or multipart/form-data body always (its "_method" field,
// methodOverride), another
// one when op's media type for it has a schema, but for a string schema
// with no maxLength, pattern, enum, const or composition (a binary
// upload, which openapi3filter checks no further). A media type op does
// not describe is a violation of its own (bigBodyContentType).
func bodyConstrained(op *openapi3.Operation, ct string) bool {
	switch bodyMediaType(ct) {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil {
		return false
	}
	m := op.RequestBody.Value.Content.Get(ct)
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		return false
	}
	return !freeString(m.Schema.Value)
}

// freeString reports whether s is a string schema with no maxLength,
// pattern, enum, const or composition (a binary upload or download,
// which openapi3filter checks no further).
func freeString(s *openapi3.Schema) bool {
	return s.Type != nil && len(s.Type.Slice()) == 1 && s.Type.Is(openapi3.TypeString) &&
		s.MaxLength == nil && s.Pattern == "" && len(s.Enum) == 0 && s.Const == nil &&
		len(s.AllOf) == 0 && len(s.AnyOf) == 0 && len(s.OneOf) == 0 && s.Not == nil
}

// responseBodyConstrained reports whether the body of resp, a response of
// op over MaxBodyBytes, has something the layer would check: its media
// type's schema, but for a string schema that constrains nothing (a
// binary download: freeString).
func responseBodyConstrained(op *openapi3.Operation, resp *http.Response) bool {
	r := declaredResponse(op, resp.StatusCode)
	if r == nil {
		return false
	}
	m := r.Content.Get(resp.Header.Get("Content-Type"))
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		return false
	}
	return !freeString(m.Schema.Value)
}

// reasonTooLargeBody is the reason of the violation a request or
// response body over MaxBodyBytes is: it is not validated, so Enforce
// does not send the request, nor return the response.
func (l *layer) reasonTooLargeBody() string {
	return "body over MaxBodyBytes (" + strconv.FormatInt(l.max, 10) + " bytes) cannot be validated"
}

// errTooLarge is what a lazyBody over the limit gives openapi3filter.
var errTooLarge = errors.New("openapi: body over MaxBodyBytes")

// lazyBody is the response body openapi3filter validates: its first Read
// buffers up to max+1 bytes of resp.Body and puts an equivalent body back
// on resp (bufferResponse). Over max it fails with errTooLarge (big); a
// read error of the upstream body is kept in err (resp.Body then replays
// the bytes read and that error). Close does nothing:
// resp.Body is the caller's.
type lazyBody struct {
	resp   *http.Response
	max    int64
	r      *bytes.Reader // the buffered bytes, nil before the first Read
	buf    []byte        // the bytes validated (decoded), nil but for a body read whole within max
	big    bool
	err    error
	decErr error // the body did not decode (decodeContent)
}

func (b *lazyBody) Read(p []byte) (int, error) {
	if b.r == nil {
		buf, big, err := bufferResponse(b.resp, b.max)
		if err == nil && !big {
			buf, big, b.decErr = decodeContent(buf, b.resp.Header, b.max)
		}
		b.r = bytes.NewReader(buf)
		b.big, b.err = big, err
		if err == nil && !big && b.decErr == nil {
			b.buf = buf
			if b.buf == nil {
				b.buf = []byte{}
			}
		}
	}
	switch {
	case b.err != nil:
		return 0, b.err
	case b.big:
		return 0, errTooLarge
	case b.decErr != nil:
		return 0, b.decErr
	}
	return b.r.Read(p)
}

// decodeContent returns what the still-encoded body buf decodes to, for
// validation: net/http decodes a response only when it asked for gzip
// itself, so a caller that sets Accept-Encoding gets the body as sent. A
// gzip or deflate body (identity members aside) is validated decoded, big
// when it decodes to more than max bytes (not validated, like any body
// over the limit). A body in another coding, or in more than one, cannot
// be checked here: that is an error, which fails validation, as does a
// body that does not decode. Passing it unvalidated would let an upstream
// put any body past Enforce with one header (Content-Encoding: br).
func decodeContent(buf []byte, h http.Header, max int64) ([]byte, bool, error) {
	return decodeContentOf("response", buf, h, max)
}

// decodeContentOf is decodeContent for a request's or a response's body
// (what: "request" or "response", for the error's words).
func decodeContentOf(what string, buf []byte, h http.Header, max int64) ([]byte, bool, error) {
	var codings []string
	for _, v := range h.Values("Content-Encoding") {
		for c := range strings.SplitSeq(v, ",") {
			if c = strings.ToLower(strings.TrimSpace(c)); c != "" && c != "identity" {
				codings = append(codings, c)
			}
		}
	}
	if len(codings) == 0 {
		return buf, false, nil
	}
	ce := strings.Join(codings, ", ")
	var r io.Reader
	var err error
	switch {
	case len(codings) > 1:
		return nil, false, fmt.Errorf("openapi: %s body in %d content codings cannot be validated", what, len(codings))
	case ce == "gzip" || ce == "x-gzip":
		r, err = gzip.NewReader(bytes.NewReader(buf))
	case ce == "deflate":
		r, err = zlib.NewReader(bytes.NewReader(buf))
	default:
		return nil, false, fmt.Errorf("openapi: %s body in a content coding other than gzip or deflate cannot be validated", what)
	}
	if err != nil {
		return nil, false, fmt.Errorf("openapi: decoding %s %s body: %w", ce, what, err)
	}
	dec, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("openapi: decoding %s %s body: %w", ce, what, err)
	}
	if int64(len(dec)) > max {
		return nil, true, nil
	}
	return dec, false, nil
}

func (b *lazyBody) Close() error { return nil }

// passesUnlisted reports whether a response the operation does not list
// passes unvalidated although IncludeResponseStatus is set:
//
//   - a 302 or 303 not listed by its code or its range ("3XX"), whatever
//     "default" says: http.Client follows it through this layer, and a
//     description rarely lists redirects, so every redirected call would
//     fail, or be held to the "default" response (an error's body and
//     headers, which a redirect does not have). This is the rule of the
//     301, 304, 307 and 308 (validateResponse), which openapi3filter
//     never validates: a 3xx the client follows, or a 304 answering the
//     caller's own conditional request, is validated when listed by code
//     or range, and passes when not;
//   - a 429 or a 5xx not listed by its code, its range (5XX) or
//     "default": the server's state, not the API's contract; turning
//     it into a violation would hide the upstream answer (and its
//     Retry-After) from the caller, after the retry layer below has
//     already acted on it.
func passesUnlisted(op *openapi3.Operation, status int) bool {
	listed := op != nil && op.Responses != nil && op.Responses.Status(status) != nil
	switch {
	case status == http.StatusFound, status == http.StatusSeeOther:
		return !listed
	case status == http.StatusTooManyRequests, status >= 500 && status < 600:
		return !listed && (op == nil || op.Responses == nil || op.Responses.Default() == nil)
	}
	return false
}

// errDotSegment: a path with a dot segment matches no operation, and is a
// violation even with AllowUnknownRoutes.
var errDotSegment = &routers.RouteError{Reason: "no matching operation was found: the path has a dot segment"}

// errEncodedPath: a path that matches no operation as written but does
// once read as the most decoding upstream reads it (pathView) is a
// violation even with AllowUnknownRoutes.
var errEncodedPath = &routers.RouteError{Reason: "no matching operation was found: the path matches one once its escapes are decoded"}

// errCaseOther: a path that matches an operation as written and another
// once read ignoring case ("/files/SECRET" for "/files/{name}" and
// "/files/secret": findRoute) is a violation, AllowUnknownRoutes or not.
var errCaseOther = &routers.RouteError{Reason: "the path matches another operation once read ignoring case"}

// hasUpper reports whether p has an ASCII upper-case letter.
func hasUpper(p string) bool {
	for i := 0; i < len(p); i++ {
		if 'A' <= p[i] && p[i] <= 'Z' {
			return true
		}
	}
	return false
}

// errEncodedOther: a path that matches an operation as written and
// another once its escapes are decoded ("/files/a%2Fsecret": findRoute)
// is a violation, AllowUnknownRoutes or not.
var errEncodedOther = &routers.RouteError{Reason: "the path matches another operation once its escapes are decoded"}

// errMethodCase: a method that matches no operation as written but does
// in upper case ("get") is a violation even with AllowUnknownRoutes.
var errMethodCase = &routers.RouteError{Reason: "no matching operation was found: the method matches one in upper case"}

// errFormatSuffix: a path that matches no operation as written but does
// without its format suffix ("/pets.json": withoutFormat) is a violation
// even with AllowUnknownRoutes.
var errFormatSuffix = &routers.RouteError{Reason: "no matching operation was found: the path matches one without its format suffix"}

// refusedUnknown reports whether err, of findRoute, is a violation even
// with AllowUnknownRoutes.
func refusedUnknown(err error) bool {
	return errors.Is(err, errDotSegment) || errors.Is(err, errEncodedPath) || errors.Is(err, errEncodedOther) || errors.Is(err, errCaseOther) || errors.Is(err, errMethodCase) || errors.Is(err, errFormatSuffix)
}

// findRoute finds the operation req matches. A path with a "." or ".."
// segment (also percent-encoded, also between encoded slashes or
// backslashes, also as "..;": hasDotSegment) matches none, and is
// errDotSegment: the
// router would take the segment for a path parameter's value, but an
// upstream may remove dot segments (RFC 3986 section 5.2.4) and serve
// another resource, maybe an operation of the description. Whether and how
// it does is the upstream's own (nginx decodes "%2E" and resolves, Go's
// ServeMux redirects "/a/../b" but not "/a/%2e%2e/b", Express resolves
// nothing; "/a//../b" is "/a/b" or "/b" depending on whether slashes are
// merged first), so the path is not resolved to one operation to validate
// against: it is a violation, AllowUnknownRoutes or not, and ReportOnly
// reports it.
//
// The router matches the escaped path, so the path is first normalized
// (RFC 3986 section 6.2.2.2): a percent-encoded unreserved character is
// the character itself, and "/cards/%64efault" is the literal operation
// "/cards/default" the upstream serves, not "/cards/{id}". A path that
// matches no operation is matched again with each run of slashes merged
// into one ("/pets//7" is "/pets/7"), then without its trailing slash (or
// with one, if it has none), the way most frameworks route it. A path that
// matches no operation but does once "%2F", "%5C" and a backslash are read
// as "/" and its escapes decoded (pathView: "/pets%2F0", as Tomcat with
// ALLOW_ENCODED_SLASH and many proxies serve it), or once what follows a
// ";" in each segment is removed ("/pets;x=1/0", as Tomcat, Jetty and
// Spring route it), is errEncodedPath: which of the two the upstream
// serves is its own; so is one that matches an operation as written and
// another once so read ("/files/a%2Fsecret" for "/files/{name}" and
// "/files/{name}/secret"), errEncodedOther, and one that matches an
// operation as written and another once read ignoring case
// ("/files/SECRET" for "/files/{name}" and "/files/secret", as Express
// and ASP.NET Core route it) is errCaseOther. Likewise one that does
// without its last segment's
// format suffix ("/pets.json", as Rails routes it) is errFormatSuffix, and
// a method that does in upper case ("get") errMethodCase.
func (l *layer) findRoute(req *http.Request) (*routers.Route, map[string]string, error) {
	p := req.URL.EscapedPath()
	if hasDotSegment(p) {
		return nil, nil, errDotSegment
	}
	route, params, err := l.findNormalized(req, p)
	if err != nil && req.Method == http.MethodHead {
		// Go's ServeMux, Express, Rails and most frameworks serve a HEAD
		// with the GET handler of its path: without a HEAD operation it
		// is validated as the GET one, not let through as an unknown
		// route.
		g := *req
		g.Method = http.MethodGet
		if r, ps, e := l.findNormalized(&g, p); e == nil {
			route, params, err = r, ps, nil
		}
	}
	if noOperation(err) {
		if m := strings.ToUpper(req.Method); m != req.Method {
			// net/http sends "get" as written; Django and Flask upper-case
			// it, ASP.NET Core compares it ignoring case: "get /pets" is
			// the GET operation there, and is not let through as an
			// unknown route. (Without AllowUnknownRoutes it is a
			// violation already.)
			u := *req
			u.Method = m
			if _, _, e := l.findRoute(&u); e == nil || refusedUnknown(e) {
				return nil, nil, errMethodCase
			}
		}
		// "/pets%2F0" is "/pets/0" to an upstream that decodes "%2F"
		// (or "%5C", or decodes twice) before it routes: such a path is
		// not let through as an unknown route.
		// Likewise "/pets;x=1/0" is "/pets/0" to Tomcat, Jetty and Spring,
		// which remove a segment's path parameters before they route.
		view := pathView(p)
		for _, w := range []string{view, withoutPathParams(view)} {
			if v := (&url.URL{Path: w}).EscapedPath(); v != p {
				if _, _, e := l.findNormalized(req, v); e == nil {
					return nil, nil, errEncodedPath
				}
			}
			if !strings.Contains(view, ";") {
				break
			}
		}
		if stem, ok := withoutFormat(view); ok {
			// Rails routes a resource with an optional format suffix
			// ("/pets(.:format)"), and Spring MVC before 5.3 matched
			// "/pets.*" as "/pets": "/pets.json" is "/pets" there.
			if _, _, e := l.findNormalized(req, (&url.URL{Path: stem}).EscapedPath()); e == nil {
				return nil, nil, errFormatSuffix
			}
		}
		if l.allowUnknown && l.foldRouter != nil {
			// Express and ASP.NET Core route a path ignoring case:
			// "/V1/PETS/0" is "/v1/pets/{petId}" there. (Without
			// AllowUnknownRoutes such a path is a violation already.)
			f := *l
			f.router = l.foldRouter
			for _, v := range []string{p, (&url.URL{Path: view}).EscapedPath(), (&url.URL{Path: withoutPathParams(view)}).EscapedPath()} {
				if _, _, e := f.findNormalized(req, strings.ToLower(v)); e == nil {
					return nil, nil, errEncodedPath
				}
			}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	if strings.ContainsAny(p, "%\\") {
		// "/files/a%2Fsecret" matches "/files/{name}" as written, but an
		// upstream that decodes "%2F" (or "%5C", or twice) before it
		// routes serves it as "/files/a/secret", and one that decodes
		// twice serves "/files/%2573ecret" as "/files/secret", a literal
		// operation beside "/files/{name}": when that reading matches
		// another operation, which of the two the upstream serves is its
		// own, and the call was validated against one. A reading that
		// escapes back to the path ("/files/a%20b") routes as the path
		// did, and is not routed again.
		if ve := (&url.URL{Path: pathView(p)}).EscapedPath(); ve != p {
			r := *req
			r.Method = route.Method
			if other, _, e := l.findNormalized(&r, ve); e == nil && other.Operation != route.Operation {
				return nil, nil, errEncodedOther
			}
		}
	}
	if l.foldRouter != nil && !l.caseApart {
		// Express and ASP.NET Core route a path ignoring case, a literal
		// segment before a parameter: "/files/SECRET" matches
		// "/files/{name}" as written and is "/files/secret" there, a
		// literal operation beside it. Which of the two the upstream
		// serves is its own, and the call was validated against one.
		// (A description where no path can match two operations so,
		// caseApart, has no path routed again.)
		if q := decodeUnreserved(p); hasUpper(q) {
			f := *l
			f.router = l.foldRouter
			r := *req
			r.Method = route.Method
			if other, _, e := f.findNormalized(&r, strings.ToLower(q)); e == nil && other.Operation != route.Operation {
				return nil, nil, errCaseOther
			}
		}
	}
	// The router gives path parameters as they are in the escaped path;
	// the upstream decodes them, and their schema constrains the decoded
	// value ("%2B" is the one character "+", "a%2Fb" has a "/"). An array
	// or object parameter stays escaped: the validator splits it on its
	// style's delimiters first, and an escaped delimiter ("y%2Cz") is part
	// of an item, not a delimiter.
	for k, v := range params {
		if !scalarPathParam(route, k) {
			continue
		}
		if d, err := url.PathUnescape(v); err == nil {
			params[k] = d
		}
	}
	return route, params, nil
}

// otherHost reports whether req's Host names another authority than its
// URL: net/http then sends the Host (as Host or :authority), and a
// virtual-hosting upstream serves the request as the server it names
// ("https://10.0.0.5/v1/pets" with Host "api.example.com" is
// "https://api.example.com/v1/pets" there). A Host that is the URL's
// non-ASCII host in its IDNA lookup form (as the client's entry and the
// signer set it) names the URL's own.
func otherHost(req *http.Request) bool {
	if req.Host == "" || req.Host == req.URL.Host {
		return false
	}
	h, err := hostname.HostPort(req.URL.Host)
	return err != nil || h != req.Host
}

// withoutFormat returns the decoded path p without its trailing slashes
// and the format suffix of its last segment (".json" of "/pets.json/",
// as Rails reads it: a "." that does not start the segment, and one or
// more characters after it, none a "."), and whether it had one.
func withoutFormat(p string) (string, bool) {
	p = strings.TrimRight(p, "/")
	i := strings.LastIndexByte(p, '.')
	if i < 0 || i == len(p)-1 || i <= strings.LastIndexByte(p, '/')+1 {
		return "", false
	}
	return p[:i], true
}

// wireURL returns u as net/http sends it, with host the authority it
// goes to: req.Host when that names another authority than u (otherHost),
// the server the upstream serves, else u.Host. For a URL with an
// Opaque, the request-target is Opaque (URL.RequestURI), with the scheme
// before one that starts with "//" (an absolute-form target, whose
// authority the upstream serves over the Host), and the query is whatever
// follows its first "?" (the one in Opaque and RawQuery). The path and
// query to validate are that target's, not u.Path's and u.RawQuery's,
// which net/http does not send. A "#" in it (net/http sends it as it is)
// and what follows are left out: Node's HTTP parser, and so Express and
// Fastify, read them as a fragment and serve "/pets/0#x" as "/pets/0". A
// target that is neither an absolute path nor an absolute URL is its path
// as it is, which matches no operation.
func wireURL(u *url.URL, host string) *url.URL {
	if u.Opaque == "" {
		w := *u
		w.Host = host
		return &w
	}
	target := u.RequestURI()
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	w, err := url.ParseRequestURI(target)
	if err != nil {
		return &url.URL{Scheme: u.Scheme, Host: host, Path: target}
	}
	if w.Host == "" {
		w.Scheme, w.Host = u.Scheme, host
	}
	return w
}

// noOperation reports whether err, of a router, says the request matches
// no operation: no path, or a path (a template: "/{coll}/{id}") with
// operations of other methods only, which a path read as an upstream
// reads it ("/pets%2F0") may still be an operation of.
func noOperation(err error) bool {
	return errors.Is(err, routers.ErrPathNotFound) || errors.Is(err, routers.ErrMethodNotAllowed)
}

// findNormalized finds the operation of req with the escaped path p,
// normalized (see findRoute): unreserved characters decoded, then slashes
// merged, then a trailing slash taken off or added.
func (l *layer) findNormalized(req *http.Request, p string) (*routers.Route, map[string]string, error) {
	n := decodeUnreserved(p)
	route, params, err := l.findPath(req, n)
	if m := mergeSlashes(n); m != n && errors.Is(err, routers.ErrPathNotFound) {
		// nginx (merge_slashes, on by default) and Go's ServeMux (by a
		// redirect) serve "/pets//7" as "/pets/7": it is validated as
		// that operation rather than taken for an unknown route. An
		// upstream that does not merge slashes typically serves none there.
		n = m
		route, params, err = l.findPath(req, n)
	}
	if errors.Is(err, routers.ErrPathNotFound) {
		// Most upstream frameworks route a path the same with or without
		// trailing slashes: "/pets/7/" is the operation "/pets/{petId}"
		// there, and is validated as it rather than taken for an unknown
		// route (which AllowUnknownRoutes would send unvalidated).
		alt := n + "/"
		if t := strings.TrimRight(n, "/"); t != n {
			alt = t
		}
		if alt != "" && alt != "/" {
			if r, ps, e := l.findPath(req, alt); e == nil {
				route, params, err = r, ps, nil
			}
		}
	}
	return route, params, err
}

// findPath finds the operation of req with the escaped path p instead of
// its own.
func (l *layer) findPath(req *http.Request, p string) (*routers.Route, map[string]string, error) {
	if p != req.URL.EscapedPath() {
		r := *req
		u := *req.URL
		d, err := url.PathUnescape(p)
		if err != nil {
			return nil, nil, routers.ErrPathNotFound
		}
		u.Path, u.RawPath = d, p
		r.URL = &u
		req = &r
	}
	route, params, err := l.router.FindRoute(req)
	if h := canonicalHost(req.URL.Host, req.URL.Scheme); errors.Is(err, routers.ErrPathNotFound) && h != req.URL.Host {
		// A host is case-insensitive (RFC 3986 section 6.2.2.1), and
		// "api.example.com." is the fully qualified "api.example.com",
		// which net/http dials and the upstream serves as it; the
		// router's match of it is neither: try the lower-case form
		// without a trailing dot that the servers are written in, and
		// without the scheme's default port (":443" of https), which
		// the servers are written without (lowerAuthority).
		r := *req
		u := *req.URL
		u.Host = h
		r.URL = &u
		route, params, err = l.router.FindRoute(&r)
	}
	return route, params, err
}

// canonicalHost returns a URL host ("host" or "host:port") lower-cased,
// without a trailing dot of the host name, and a non-ASCII name in the
// IDNA lookup form net/http dials ("xn--bcher-kva.example" for
// "BÜCHER.example"), the form a server written with it is matched in
// (lowerAuthority), and without the default port of scheme
// ("api.example.com:443" of https is "api.example.com").
func canonicalHost(h, scheme string) string {
	if a, err := hostname.HostPort(h); err == nil {
		h = a
	}
	h = strings.ToLower(h)
	name, port := h, ""
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i > strings.LastIndexByte(h, ']') {
		name, port = h[:i], h[i:]
		if port[1:] == defaultPort(scheme) {
			h, port = name, ""
		}
	}
	if t := strings.TrimSuffix(name, "."); t != name && t != "" {
		return t + port
	}
	return h
}

// validateRequest validates in with openapi3filter, but for the array and
// object parameters whose items openapi3filter would see wrongly: an array
// or object path parameter (any style), whose items (property names and
// values) it splits out of the escaped value and never decodes, and a form
// query array or object with explode false, which it decodes before
// splitting on ",". The upstream splits the value on its style's
// delimiters first and then decodes each item, so an encoded delimiter
// ("y%2Cz") is part of an item, and an item is constrained decoded ("a%2Fb"
// is "a/b"). Those parameters are split and decoded here; array items are
// validated as an exploded form array, whose items openapi3filter takes as
// they are, an object as the value of a content parameter. params are the
// route's path parameters, array and object ones still escaped (findRoute).
//
// A parameter the request carries more than once although its style
// serializes it once is a violation first (repeatedParams), and so are a
// query parameter or cookie named in another case (queryNameCase,
// cookieNameCase) or under another name PHP reads as its own (phpNames),
// and a query with a
// pair openapi3filter cannot see (queryUnparsed). The header is
// validated as it goes on the wire (canonicalHeader). big: the body is
// excluded from validation (in.Options: over MaxBodyBytes, or in a content
// coding the layer cannot decode), but for its Content-Type
// (bigBodyContentType).
func validateRequest(ctx context.Context, in *openapi3filter.RequestValidationInput, params map[string]string, big bool, ex exactNumbers, subs *subtypes) error {
	if h, ok := canonicalHeader(in.Request.Header); ok {
		r := *in.Request
		r.Header = h
		c := *in
		c.Request = &r
		in = &c
	}
	route := in.Route
	rps := routeParams(route)
	var me openapi3.MultiError
	if err := queryUnparsed(in); err != nil {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	if op := route.Operation; op != nil && op.RequestBody != nil && len(in.Request.Header.Values("Content-Type")) > 1 {
		// The validator parses the body by the first line, an upstream
		// may by the last, or join them.
		err := &openapi3filter.RequestError{Input: in, Reason: "header Content-Type " + reasonRepeated}
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	if big {
		if err := bigBodyContentType(in); err != nil {
			if !in.Options.MultiError {
				return err
			}
			me = append(me, err)
		}
	}
	if err := methodOverride(in, rps); err != nil {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	if err := bodyCharset(in); err != nil {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	longInts, err := jsonBodyMembers(in, ex)
	if err != nil {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	for _, err := range unreadableCookies(in, rps) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	for _, err := range repeatedParams(in, rps) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	for _, err := range queryNameCase(in, rps) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	for _, err := range cookieNameCase(in, rps) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	for _, err := range phpNames(in, rps) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	for _, err := range objectUndeclared(in, rps) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	own := splitArrayParams(route, in.Options)
	r := *route
	if len(own) > 0 && route.Operation != nil {
		op := *route.Operation
		op.Parameters = withoutParams(op.Parameters, own)
		r.Operation = &op
	}
	if len(own) > 0 && route.PathItem != nil {
		// Without the path item's parameters the operation overrides, as
		// well: openapi3filter skips those by the operation's list, from
		// which own ones are gone, and would validate them with the path
		// item's definition.
		pi := *route.PathItem
		pi.Parameters = nil
		for _, ref := range withoutParams(route.PathItem.Parameters, own) {
			if ref.Value == nil || route.Operation == nil || route.Operation.Parameters.GetByInAndName(ref.Value.In, ref.Value.Name) == nil {
				pi.Parameters = append(pi.Parameters, ref)
			}
		}
		r.PathItem = &pi
	}
	kin := *in
	kin.Route = &r
	kinErr := openapi3filter.ValidateRequest(ctx, &kin)
	if kinErr != nil {
		// openapi3filter compares numbers as float64s: the exact
		// answer stands where it refused only such (exactoverride.go).
		kinErr = exactRequest(ctx, &kin, kinErr, ex, subs)
	}
	if err := kinErr; err != nil {
		if !in.Options.MultiError {
			return err
		}
		if m, ok := err.(openapi3.MultiError); ok {
			me = append(me, m...)
		} else {
			me = append(me, err)
		}
	}
	for _, p := range own {
		var err error
		if p.Content != nil {
			err = validateCookieContent(ctx, in, p)
		} else if p.Schema.Value.Type.Is(openapi3.TypeObject) {
			err = validateObjectParam(ctx, in, p, params, ex)
		} else {
			err = validateArrayParam(ctx, in, p, params, ex)
		}
		if err != nil {
			if !in.Options.MultiError {
				return err
			}
			me = append(me, err)
		}
	}
	// Integers past a float64's: openapi3filter compares them rounded
	// (integers.go).
	for _, err := range paramIntegers(in, rps, ex) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	for _, err := range objectParamIntegers(in, rps, own, ex) {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	if longInts {
		if err := jsonBodyIntegers(in, ex); err != nil {
			if !in.Options.MultiError {
				return err
			}
			me = append(me, err)
		}
	}
	if err := requestSubtypes(in, subs, ex); err != nil {
		if !in.Options.MultiError {
			return err
		}
		me = append(me, err)
	}
	if len(me) > 0 {
		return me
	}
	return nil
}

// splitArrayParams returns the array and object parameters of route that
// validateRequest validates itself (an operation's parameter overrides its
// path item's), an exploded form cookie object and a cookie parameter
// described by content among them.
func splitArrayParams(route *routers.Route, opts *openapi3filter.Options) []*openapi3.Parameter {
	var own []*openapi3.Parameter
	for _, p := range routeParams(route) {
		if p.Content != nil && p.In == openapi3.ParameterInCookie {
			// openapi3filter refuses every request without it, and
			// cannot read a JSON object in it (validateCookieContent).
			own = append(own, p)
			continue
		}
		if p.Content != nil || p.Schema == nil || p.Schema.Value == nil ||
			!p.Schema.Value.Type.Is(openapi3.TypeArray) && !p.Schema.Value.Type.Is(openapi3.TypeObject) {
			continue
		}
		s := p.Schema.Value
		if len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil {
			continue
		}
		sm, err := p.SerializationMethod()
		if err != nil {
			continue
		}
		switch {
		case p.In == openapi3.ParameterInPath && (sm.Style == "simple" || sm.Style == "label" || sm.Style == "matrix"),
			p.In == openapi3.ParameterInQuery && sm.Style == "form" && !sm.Explode && !opts.ExcludeRequestQueryParams,
			// openapi3filter refuses every request to an operation with
			// an exploded cookie object, found or not.
			p.In == openapi3.ParameterInCookie && sm.Style == "form" && sm.Explode && s.Type.Is(openapi3.TypeObject):
			own = append(own, p)
		}
	}
	return own
}

// canonicalHeader returns h with every key in canonical form, the values
// of keys that differ only in case under one, in the order net/http
// writes them (keys sorted); ok is false, and h returned, when every key
// is canonical already. net/http sends a key set directly in the map
// ("x-limit", "cookie") as it is, and the upstream reads it like any
// other, but openapi3filter looks up only the canonical key: such a
// header would reach the upstream unvalidated.
func canonicalHeader(h http.Header) (http.Header, bool) {
	canonical := true
	for k := range h {
		canonical = canonical && http.CanonicalHeaderKey(k) == k
	}
	if canonical {
		return h, false
	}
	c := make(http.Header, len(h))
	for _, k := range slices.Sorted(maps.Keys(h)) {
		ck := http.CanonicalHeaderKey(k)
		c[ck] = append(c[ck], h[k]...)
	}
	return c, true
}

// routeParams returns the parameters of route: its operation's and its
// path item's the operation does not override.
func routeParams(route *routers.Route) []*openapi3.Parameter {
	var all []*openapi3.Parameter
	if route.PathItem != nil {
		for _, p := range route.PathItem.Parameters {
			if p.Value != nil && (route.Operation == nil || route.Operation.Parameters.GetByInAndName(p.Value.In, p.Value.Name) == nil) {
				all = append(all, p.Value)
			}
		}
	}
	if route.Operation != nil {
		for _, p := range route.Operation.Parameters {
			if p.Value != nil {
				all = append(all, p.Value)
			}
		}
	}
	return all
}

// reasonRepeated is the reason of a parameter sent more than once although
// its style serializes it once.
const reasonRepeated = "sent more than once"

// repeatedParams returns a violation for each parameter of ps the request
// of in carries more than once although its style serializes it once.
// Upstreams differ on which value of a repeated parameter they read (Go's
// url.Values.Get and Flask the first, PHP the last, Express and Rack all
// of them, a header joined or its first line), and openapi3filter
// validates one, so that "?limit=5&limit=99999" would pass a maximum of
// 100 to an upstream that reads the last. Sent more than once may be:
//
//   - a query parameter but an exploded array (form, or the
//     spaceDelimited and pipeDelimited styles, which explode the same),
//     whose items repeat its name by design and are all validated (the name as the upstream
//     decodes it: "li%6Dit" is "limit"); a deepObject property, by its
//     key ("d[s]"); an exploded form object, by each of its properties,
//     which are query parameters of their own ("?color=red&color=green"),
//     openapi3filter validating the first value;
//   - a header parameter but an array or object, whose field lines
//     openapi3filter joins and splits as a list (RFC 9110 section 5.3);
//   - no cookie parameter.
func repeatedParams(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter) []error {
	var errs []error
	for _, p := range ps {
		if p.Content != nil || p.Schema == nil || p.Schema.Value == nil {
			// A content parameter's values are all decoded (query) or
			// refused when more than one (header).
			continue
		}
		typ := p.Schema.Value.Type
		sm, err := p.SerializationMethod()
		if err != nil {
			continue
		}
		repeated := false
		switch p.In {
		case openapi3.ParameterInQuery:
			if in.Options.ExcludeRequestQueryParams {
				continue
			}
			q := in.GetQueryParams()
			switch {
			case sm.Explode && typ.Is(openapi3.TypeArray):
			case sm.Style == "form" && sm.Explode && typ.Is(openapi3.TypeObject):
				for k, vs := range q {
					if len(vs) > 1 && objectProperty(p.Schema.Value, k, ps) {
						repeated = true
					}
				}
			case sm.Style == "deepObject":
				prefix := p.Name + "["
				for k, vs := range q {
					if strings.HasPrefix(k, prefix) && len(vs) > 1 {
						repeated = true
					}
				}
			default:
				repeated = len(q[p.Name]) > 1
			}
		case openapi3.ParameterInHeader:
			if !typ.Is(openapi3.TypeArray) && !typ.Is(openapi3.TypeObject) {
				repeated = len(in.Request.Header.Values(p.Name)) > 1
			}
		case openapi3.ParameterInCookie:
			repeated = len(requestCookies(in.Request.Header, p.Name)) > 1
		}
		if repeated {
			errs = append(errs, &openapi3filter.RequestError{Input: in, Parameter: p, Reason: reasonRepeated})
		}
	}
	return errs
}

// objectProperty reports whether the query name k is a property of the
// exploded form object schema s: one it declares, or, when it allows
// additional properties, any name but another query parameter's of ps
// (openapi3filter takes every query name for a property).
func objectProperty(s *openapi3.Schema, k string, ps []*openapi3.Parameter) bool {
	if s.Properties[k] != nil {
		return true
	}
	if ap := s.AdditionalProperties; ap.Has != nil && !*ap.Has && ap.Schema == nil {
		return false
	}
	return !slices.ContainsFunc(ps, func(p *openapi3.Parameter) bool {
		return p.In == openapi3.ParameterInQuery && p.Name == k
	})
}

// jsonBodyMembers returns a violation for a JSON request body (a media
// type application/json or +json) an upstream may read otherwise than the
// validator: one with an object that has two members of one name, of
// which the validator (Go's encoding/json) takes the last and other
// parsers (cJSON among them) the first (RFC 8259 section 4; I-JSON, RFC
// 7493 section 2.3, forbids them), with more than one JSON value, of
// which the validator reads the first only, or with a member name that is,
// but for case, a property its own object's schema declares
// ({"TAG":...} for "tag"; scanJSON): the
// validator, case-sensitive, takes it for another property, but Go's
// encoding/json (into a struct) and ASP.NET Core's web defaults read it as
// the declared one. A body that is not JSON is left to the validator. A
// form body (application/x-www-form-urlencoded) is checked likewise
// (formBodyFields). longInts reports a JSON body with an integer of 16
// digits or more (longNumber), for jsonBodyIntegers.
func jsonBodyMembers(in *openapi3filter.RequestValidationInput, ex exactNumbers) (longInts bool, err error) {
	op := in.Route.Operation
	r := in.Request
	if in.Options.ExcludeRequestBody || op == nil || op.RequestBody == nil || op.RequestBody.Value == nil || r.GetBody == nil || r.Body == nil || r.Body == http.NoBody {
		return false, nil
	}
	mt := bodyMediaType(r.Header.Get("Content-Type"))
	form := mt == "application/x-www-form-urlencoded"
	multi := mt == "multipart/form-data"
	if !form && !multi && mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return false, nil
	}
	body, err := r.GetBody()
	if err != nil {
		return false, nil
	}
	defer body.Close()
	if form {
		return false, formBodyFields(in, body, op.RequestBody.Value.Content.Get(mt), ex)
	}
	if multi {
		return false, multipartFields(in, body, op.RequestBody.Value.Content.Get(mt), ex)
	}
	var root *openapi3.SchemaRef
	if m := op.RequestBody.Value.Content.Get(r.Header.Get("Content-Type")); m != nil {
		root = m.Schema
	}
	dec := json.NewDecoder(body)
	// A number is read as its text: as a float64, one out of range
	// (1e400, valid JSON the validator takes) would end the scan.
	dec.UseNumber()
	reason, longInts := scanJSON(dec, root)
	if reason == "" {
		return longInts, nil
	}
	return false, &openapi3filter.RequestError{Input: in, RequestBody: op.RequestBody.Value, Reason: reason}
}

// bigBodyContentType returns the violation openapi3filter gives, with the
// body, for a request whose Content-Type the operation's request body
// does not describe, for a body over MaxBodyBytes, which openapi3filter is
// told to exclude: it checks the Content-Type only with the body, so that
// a body made large enough would otherwise carry any media type past
// Enforce.
func bigBodyContentType(in *openapi3filter.RequestValidationInput) error {
	op := in.Route.Operation
	if op == nil || op.RequestBody == nil || op.RequestBody.Value == nil || len(op.RequestBody.Value.Content) == 0 {
		return nil
	}
	ct := in.Request.Header.Get("Content-Type")
	if op.RequestBody.Value.Content.Get(ct) != nil {
		return nil
	}
	return &openapi3filter.RequestError{Input: in, RequestBody: op.RequestBody.Value, Reason: fmt.Sprintf("%s %q", unexpectedCT, ct)}
}

// declaredResponse returns the response op declares for status: its
// status code's (or range's), else the default; nil when there is none.
func declaredResponse(op *openapi3.Operation, status int) *openapi3.Response {
	if op == nil || op.Responses == nil {
		return nil
	}
	ref := op.Responses.Status(status)
	if ref == nil {
		ref = op.Responses.Default()
	}
	if ref == nil {
		return nil
	}
	return ref.Value
}

// jsonResponseMedia returns the media type object (with a schema) that
// op declares for resp, a JSON response (application/json or +json):
// its status's, else the default's; nil when there is none.
func jsonResponseMedia(op *openapi3.Operation, resp *http.Response) *openapi3.MediaType {
	ct := resp.Header.Get("Content-Type")
	if mt := bodyMediaType(ct); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	r := declaredResponse(op, resp.StatusCode)
	if r == nil {
		return nil
	}
	m := r.Content.Get(ct)
	if m == nil || m.Schema == nil {
		return nil
	}
	return m
}

// jsonResponseMembers returns a violation for a JSON response body (buf,
// decoded, which the validator found valid) the caller may read otherwise
// than the validator (scanJSON), as jsonBodyMembers does for a request: a
// member name that is, but for case, a property its own object's schema
// declares ({"TAG":...} for "tag"), which the validator takes for another
// property and the caller's encoding/json (into a struct) reads as the
// declared one, unvalidated; an object with two members of one name; more
// than one JSON value; an integer past a float64's that breaks a numeric
// keyword exactly (jsonIntegers), which the validator compared rounded.
func jsonResponseMembers(op *openapi3.Operation, resp *http.Response, buf []byte, ex exactNumbers) error {
	m := jsonResponseMedia(op, resp)
	if m == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	reason, longInts := scanJSON(dec, m.Schema)
	if reason != "" {
		return &openapi3filter.ResponseError{Reason: "response body: " + reason}
	}
	if longInts {
		if f := jsonIntegers(buf, m.Schema, ex); f != nil {
			return &openapi3filter.ResponseError{Reason: "response body: " + f.reason()}
		}
	}
	return nil
}

// bodyMediaType returns the media type openapi3filter decodes a body of
// Content-Type ct as: what precedes the first ";", trimmed, lowercased,
// whatever follows. mime.ParseMediaType fails on a malformed parameter
// ("application/json; charset") that openapi3filter ignores: a check that
// keyed on it would skip a body the validator reads as JSON.
func bodyMediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// formBodyFields returns a violation for a form body (m its media type's
// description) with a field its schema declares (itself or through
// allOf, anyOf or oneOf) sent more than once,
// although not an exploded array (the validator reads the first value, PHP the
// last), named in another case than declared (ASP.NET binds "TAG" to
// tag, which the validator takes for another field), or under another
// name PHP reads as a declared one ("max.len" for max_len, phpMangled), or
// with an integer field past a float64's that breaks a numeric keyword
// exactly (formIntegers). A body that does not parse is left to the
// validator, which refuses it.
func formBodyFields(in *openapi3filter.RequestValidationInput, body io.Reader, m *openapi3.MediaType, ex exactNumbers) error {
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		return nil
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil
	}
	vs, err := url.ParseQuery(string(b))
	if err != nil {
		return nil
	}
	return formFields(in, vs, m, false, ex)
}

// deepObjectField reports whether k, a field of a urlencoded form body
// (not multi), is one openapi3filter decodes into a declared property of
// props encoded as deepObject ("filter[color]" for filter) whose schema
// declares the member its brackets name ("color") or allows other
// members: it is declared through that property. A member such a schema
// does not declare (additionalProperties false) is not: openapi3filter
// decodes the declared members only.
func deepObjectField(k string, props map[string][]*openapi3.SchemaRef, m *openapi3.MediaType, multi bool) bool {
	if multi {
		return false
	}
	for name, ps := range props {
		enc := m.Encoding[name]
		rest, ok := strings.CutPrefix(k, name+"[")
		if !ok || enc == nil || enc.Style != "deepObject" {
			continue
		}
		member, _, ok := strings.Cut(rest, "]")
		if !ok {
			continue
		}
		for _, sc := range composed(ps) {
			ap := sc.AdditionalProperties
			if sc.Properties[member] != nil || !(ap.Has != nil && !*ap.Has && ap.Schema == nil && len(sc.PatternProperties) == 0) {
				return true
			}
		}
	}
	return false
}

// formFields is formBodyFields' and multipartFields' check of the fields
// vs of a form body (m its media type's description; multi: a
// multipart/form-data body, whose array fields are repeated parts
// whatever their encoding says). A field the schema does not declare
// when it allows no other property (additionalProperties false, no
// patternProperties) is a violation, but for one of a declared property
// encoded as deepObject ("filter[color]": deepObjectField).
func formFields(in *openapi3filter.RequestValidationInput, vs url.Values, m *openapi3.MediaType, multi bool, ex exactNumbers) error {
	// The fields are the properties of the schema and of those it
	// composes (allOf, anyOf, oneOf), which the validator decodes too.
	props := make(map[string][]*openapi3.SchemaRef)
	for _, sc := range composed([]*openapi3.SchemaRef{m.Schema}) {
		for name, p := range sc.Properties {
			props[name] = append(props[name], p)
		}
	}
	fail := func(reason string) error {
		return &openapi3filter.RequestError{Input: in, RequestBody: in.Route.Operation.RequestBody.Value, Reason: reason}
	}
	closed := false
	if m.Schema != nil && m.Schema.Value != nil {
		sc := m.Schema.Value
		ap := sc.AdditionalProperties
		closed = ap.Has != nil && !*ap.Has && ap.Schema == nil && len(sc.PatternProperties) == 0
	}
	for _, k := range slices.Sorted(maps.Keys(vs)) {
		ps, declared := props[k]
		exploded := true
		if enc := m.Encoding[k]; !multi && enc != nil && enc.Explode != nil {
			exploded = *enc.Explode
		}
		array := !slices.ContainsFunc(ps, func(p *openapi3.SchemaRef) bool {
			return p == nil || p.Value == nil || !p.Value.Type.Is(openapi3.TypeArray)
		})
		if declared && len(vs[k]) > 1 && (!array || !exploded) {
			return fail("field " + strconv.Quote(k) + " " + reasonRepeated)
		}
		if declared {
			continue
		}
		for name := range props {
			if strings.EqualFold(k, name) {
				return fail("field " + strconv.Quote(name) + " " + reasonCase)
			}
			if enc := m.Encoding[name]; phpMangled(k, name, enc != nil && enc.Style == "deepObject") {
				return fail("field " + strconv.Quote(name) + " " + reasonPHPName)
			}
		}
		if closed && !deepObjectField(k, props, m, multi) {
			// openapi3filter decodes the declared fields only: an
			// upstream binding the form to its model takes this one
			// (mass assignment).
			return fail("a field the schema does not declare (additionalProperties is false)")
		}
	}
	if f := formIntegers(vs, props, m.Schema, ex); f != nil {
		return fail(f.reason())
	}
	return nil
}

// multipartFields returns a violation for a multipart/form-data body (m
// its media type's description) with a field its schema declares sent in
// more than one part although not an array (openapi3filter validates the
// first part, PHP and Rails read the last), a part named, but for case, a
// declared field, or under another name PHP reads as one (which
// openapi3filter skips when additionalProperties allows it, and ASP.NET
// Core or PHP bind to the declared field), or a field of type integer or
// number (or an array of them) holding an integer past a float64's that
// breaks a numeric keyword exactly (formIntegers): openapi3filter reads a
// part as it reads a urlencoded field, and compares it as a float64 ("n"
// of 9007199254740993 passed a maximum of 9007199254740992): the rules of
// a urlencoded body (formBodyFields). A part's value is its content
// (trimmed of white space when it has a Content-Type other than
// text/plain, which openapi3filter decodes as such); a body that does not
// parse is left to the validator, which refuses it.
func multipartFields(in *openapi3filter.RequestValidationInput, body io.Reader, m *openapi3.MediaType, ex exactNumbers) error {
	if m == nil || m.Schema == nil || m.Schema.Value == nil {
		return nil
	}
	_, params, err := mime.ParseMediaType(in.Request.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return nil
	}
	vs := make(url.Values)
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, err := io.ReadAll(p)
		if err != nil {
			break
		}
		v := string(b)
		if ct := p.Header.Get("Content-Type"); ct != "" && ct != "text/plain" {
			v = strings.TrimSpace(v)
		}
		vs[p.FormName()] = append(vs[p.FormName()], v)
	}
	return formFields(in, vs, m, true, ex)
}

// composed returns the schemas a JSON value validated against refs is
// validated against: each of refs, and those it composes with allOf,
// anyOf, oneOf (and OpenAPI 3.1's if, then, else and dependentSchemas),
// at any depth, each once. not is left out: what it declares, the value
// must not be.
func composed(refs []*openapi3.SchemaRef) []*openapi3.Schema {
	var out []*openapi3.Schema
	seen := make(map[*openapi3.Schema]bool)
	var add func(*openapi3.SchemaRef)
	add = func(r *openapi3.SchemaRef) {
		if r == nil || r.Value == nil || seen[r.Value] {
			return
		}
		s := r.Value
		seen[s] = true
		out = append(out, s)
		for _, refs := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
			for _, c := range refs {
				add(c)
			}
		}
		add(s.If)
		add(s.Then)
		add(s.Else)
		for _, k := range slices.Sorted(maps.Keys(s.DependentSchemas)) {
			add(s.DependentSchemas[k])
		}
	}
	for _, r := range refs {
		add(r)
	}
	return out
}

// memberSchemas returns the schemas the value of the member name of an
// object validated against ss is validated against: the property's, those
// of the patterns (OpenAPI 3.1) it matches, else additionalProperties' or
// unevaluatedProperties'. None: the value is not constrained, and no name
// in it is a property. patterns caches compiled patterns.
func memberSchemas(ss []*openapi3.Schema, name string, patterns map[string]*regexp.Regexp) []*openapi3.SchemaRef {
	var out []*openapi3.SchemaRef
	for _, s := range ss {
		if p := s.Properties[name]; p != nil {
			out = append(out, p)
			continue
		}
		matched := false
		for pat, p := range s.PatternProperties {
			re, ok := patterns[pat]
			if !ok {
				re, _ = regexp.Compile(pat)
				patterns[pat] = re
			}
			if re == nil || re.MatchString(name) {
				out = append(out, p)
				matched = true
			}
		}
		if !matched {
			out = append(out, s.AdditionalProperties.Schema, s.UnevaluatedProperties.Schema)
		}
	}
	return out
}

// itemSchemas returns the schemas the items of an array validated against
// ss are validated against.
func itemSchemas(ss []*openapi3.Schema) []*openapi3.SchemaRef {
	var out []*openapi3.SchemaRef
	for _, s := range ss {
		out = append(out, s.Items)
		out = append(out, s.PrefixItems...)
	}
	return out
}

// otherCase returns the property of an object validated against ss whose
// name is name but for case (Unicode simple folding, as encoding/json
// matches: "TAG" is "tag", and so is "ta\u212a"'s Kelvin sign to "k"), when
// none is name exactly; "" when there is none such.
func otherCase(ss []*openapi3.Schema, name string) string {
	found := ""
	for _, s := range ss {
		if s.Properties[name] != nil {
			return ""
		}
		for p := range s.Properties {
			if strings.EqualFold(p, name) && (found == "" || p < found) {
				found = p
			}
		}
	}
	return found
}

// scanJSON reads one JSON value of dec and what follows it, and returns
// why an upstream may read it otherwise than the validator ("" when it
// may not, or when it is not JSON, which the validator reports). root is
// the body's schema: a member name that is, but for case, a property the
// schemas of its own object declare, none of which is named so exactly,
// is refused. A name in an object no schema declares properties of (a
// map under additionalProperties, a free-form object) is data, and any
// case of it is fine. longInts reports a number of 16 digits or more
// (longNumber) in the value, whose bounds openapi3filter compared rounded
// (jsonIntegers).
func scanJSON(dec *json.Decoder, root *openapi3.SchemaRef) (reason string, longInts bool) {
	type frame struct {
		obj     bool
		names   map[string]bool
		key     bool                  // the next token of the object is a member name
		schemas []*openapi3.Schema    // the object's or array's schemas
		next    []*openapi3.SchemaRef // the schemas of the member value or item that follows
	}
	var stack []*frame
	patterns := make(map[string]*regexp.Regexp)
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		if n, ok := tok.(json.Number); ok && !longInts {
			text, fractional := longNumber(string(n))
			longInts = text != "" || fractional
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.obj && top.key {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
			} else {
				name, _ := tok.(string)
				if top.names[name] {
					return "an object has a member name twice", false
				}
				if p := otherCase(top.schemas, name); p != "" {
					return "a member name is the property " + strconv.Quote(p) + "'s in another case", false
				}
				top.names[name] = true
				top.key = false
				top.next = memberSchemas(top.schemas, name, patterns)
				continue
			}
		} else {
			switch tok {
			case json.Delim('{'), json.Delim('['):
				refs := []*openapi3.SchemaRef{root}
				if top != nil {
					refs = top.next
				}
				f := &frame{obj: tok == json.Delim('{'), schemas: composed(refs)}
				if f.obj {
					f.names, f.key = map[string]bool{}, true
				} else {
					f.next = itemSchemas(f.schemas)
				}
				stack = append(stack, f)
				continue
			case json.Delim(']'):
				stack = stack[:len(stack)-1]
			}
		}
		// A value ended: the next token of its object is a name.
		if len(stack) > 0 {
			if top := stack[len(stack)-1]; top.obj {
				top.key = true
			}
			continue
		}
		if _, err := dec.Token(); err != io.EOF {
			return "more than one JSON value", false
		}
		return "", longInts
	}
}

// reasonSemicolon is the reason of a query with a ";".
const reasonSemicolon = `query has a ";", which some upstreams take for a separator (send it as "%3B")`

// reasonEscape is the reason of a query with an invalid percent-encoding.
const reasonEscape = "query has an invalid percent-encoding"

// queryUnparsed returns a violation for a query some pair of which
// url.ParseQuery, and so openapi3filter, drops unvalidated: one with a
// ";", or with an invalid percent-encoding ("limit=99999%zz"), which PHP
// and Node's qs keep as written and read as 99999 where an integer is
// wanted. Go (since 1.17) drops such a pair, but older upstreams, and some
// frameworks still, split the query on ";" as on "&", and read
// "limit=5;limit=99999" as two values of limit, neither validated. No
// query style of OpenAPI serializes to a ";" (a value with one is escaped,
// "%3B"); one with allowReserved could, but would not be validated either.
func queryUnparsed(in *openapi3filter.RequestValidationInput) error {
	if in.Options.ExcludeRequestQueryParams {
		return nil
	}
	if strings.Contains(in.Request.URL.RawQuery, ";") {
		return &openapi3filter.RequestError{Input: in, Reason: reasonSemicolon}
	}
	if _, err := url.ParseQuery(in.Request.URL.RawQuery); err != nil {
		return &openapi3filter.RequestError{Input: in, Reason: reasonEscape}
	}
	return nil
}

// reasonCase is the reason of a query parameter, cookie or body field sent
// with its name in another case.
const reasonCase = "sent with its name in another case"

// queryNameCase returns a violation for each query parameter of ps the
// request of in names in another case than the description: "LIMIT" for
// "limit", "D[s]" for the deepObject "d", "COLOR" for the property "color"
// of an exploded form object. OpenAPI names are case-sensitive, and so is
// openapi3filter, which does not validate such a parameter; but ASP.NET
// and other case-insensitive binders read it as the declared one, and the
// value reaches them unvalidated. A name that is a declared one exactly is
// never such a violation (a description may declare "limit" and "Limit").
func queryNameCase(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter) []error {
	if in.Options.ExcludeRequestQueryParams {
		return nil
	}
	q := in.GetQueryParams()
	type name struct {
		s    string
		deep bool // a deepObject: its keys are s + "[" ...
		p    *openapi3.Parameter
	}
	var names []name
	exact := make(map[string]bool)
	var deep []string
	for _, p := range ps {
		if p.In != openapi3.ParameterInQuery {
			continue
		}
		sm, err := p.SerializationMethod()
		isDeep := err == nil && sm.Style == "deepObject"
		names = append(names, name{p.Name, isDeep, p})
		if isDeep {
			deep = append(deep, p.Name+"[")
		} else {
			exact[p.Name] = true
		}
		if err == nil && sm.Style == "form" && sm.Explode && p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(openapi3.TypeObject) {
			for prop := range p.Schema.Value.Properties {
				names = append(names, name{prop, false, p})
				exact[prop] = true
			}
		}
	}
	var errs []error
	seen := make(map[*openapi3.Parameter]bool)
	for _, k := range slices.Sorted(maps.Keys(q)) {
		if exact[k] || slices.ContainsFunc(deep, func(d string) bool { return strings.HasPrefix(k, d) }) {
			continue
		}
		for _, n := range names {
			match := strings.EqualFold(k, n.s)
			if n.deep {
				match = len(k) > len(n.s) && strings.EqualFold(k[:len(n.s)+1], n.s+"[")
			}
			if match && !seen[n.p] {
				seen[n.p] = true
				errs = append(errs, &openapi3filter.RequestError{Input: in, Parameter: n.p, Reason: reasonCase})
			}
		}
	}
	return errs
}

// cookieNameCase returns a violation for each cookie parameter of ps the
// request of in names in another case than the description: "LIMIT" for
// "limit", "COLOR" for the property "color" of an exploded form cookie
// object (each property a cookie of its own). openapi3filter looks
// cookies up by their exact name and does not validate such a cookie (an
// object allowing additional properties takes it for one), but ASP.NET
// Core reads request cookies by name ignoring case, and the value reaches
// it unvalidated. A name that is a declared one exactly is never such a
// violation.
func cookieNameCase(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter) []error {
	if len(in.Request.Header["Cookie"]) == 0 {
		return nil
	}
	type name struct {
		s string
		p *openapi3.Parameter
	}
	var names []name
	for _, p := range ps {
		if p.In != openapi3.ParameterInCookie {
			continue
		}
		names = append(names, name{p.Name, p})
		if sm, err := p.SerializationMethod(); err == nil && sm.Style == "form" && sm.Explode && p.Content == nil && p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(openapi3.TypeObject) {
			for prop := range p.Schema.Value.Properties {
				names = append(names, name{prop, p})
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	var errs []error
	seen := make(map[*openapi3.Parameter]bool)
	for _, c := range requestCookies(in.Request.Header, "") {
		if slices.ContainsFunc(names, func(n name) bool { return n.s == c.Name }) {
			continue
		}
		for _, n := range names {
			if strings.EqualFold(c.Name, n.s) && !seen[n.p] {
				seen[n.p] = true
				errs = append(errs, &openapi3filter.RequestError{Input: in, Parameter: n.p, Reason: reasonCase})
			}
		}
	}
	return errs
}

// overrideHeaders are the request headers with which an upstream may be
// told to run another method than the request's (Rack::MethodOverride,
// ASP.NET Core's HttpMethodOverride, Express's method-override, Symfony,
// OData), in canonical form.
var overrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// overrideField is the query or form field (urlencoded or multipart) with
// which Rack, Laravel and Symfony run a POST as another method.
const overrideField = "_method"

// methodOverride returns a violation when the request of in carries a
// method override (overrideHeaders, or an overrideField query parameter or
// form body field, urlencoded or multipart) that its operation does not declare: an upstream that
// honours it runs another operation than the one validated ("GET /pets/1"
// with "X-HTTP-Method-Override: DELETE" is a DELETE to it). One the
// operation declares is validated like any other parameter.
func methodOverride(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter) error {
	r := in.Request
	declared := func(where, name string) bool {
		return slices.ContainsFunc(ps, func(p *openapi3.Parameter) bool {
			if where == openapi3.ParameterInHeader {
				return p.In == where && http.CanonicalHeaderKey(p.Name) == name
			}
			return p.In == where && p.Name == name
		})
	}
	fail := func(what string) error {
		return &openapi3filter.RequestError{Input: in, Reason: what + " may make the upstream run another operation, and the operation does not declare it"}
	}
	for _, h := range overrideHeaders {
		if _, ok := r.Header[h]; ok && !declared(openapi3.ParameterInHeader, h) {
			return fail("header " + h)
		}
	}
	// ASP.NET Core reads form fields ignoring case.
	named := func(vs url.Values) bool {
		for k := range vs {
			if strings.EqualFold(k, overrideField) {
				return true
			}
		}
		return false
	}
	if !in.Options.ExcludeRequestQueryParams && named(in.GetQueryParams()) && !declared(openapi3.ParameterInQuery, overrideField) {
		return fail("query parameter " + overrideField)
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	multi := mt == "multipart/form-data"
	if mt != "application/x-www-form-urlencoded" && !multi || r.GetBody == nil || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if op := in.Route.Operation; op != nil && op.RequestBody != nil && op.RequestBody.Value != nil {
		if m := op.RequestBody.Value.Content.Get(mt); m != nil && m.Schema != nil && m.Schema.Value != nil && m.Schema.Value.Properties[overrideField] != nil {
			return nil
		}
	}
	body, err := r.GetBody()
	if err != nil {
		return nil
	}
	defer body.Close()
	if multi {
		if multipartNamed(body, params["boundary"]) {
			return fail("form field " + overrideField)
		}
		return nil
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return nil
	}
	if vs, err := url.ParseQuery(string(b)); err == nil && named(vs) {
		return fail("form field " + overrideField)
	}
	return nil
}

// multipartNamed reports whether the multipart/form-data body has a part
// named overrideField (any case). The name is taken from the part's
// Content-Disposition whatever its type, as Rack does, where
// Part.FormName wants "form-data". The body is the buffered one (at most
// Config.MaxBodyBytes); the scan stops at a malformed part, a body the
// validator refuses.
func multipartNamed(body io.Reader, boundary string) bool {
	if boundary == "" {
		return false
	}
	mr := multipart.NewReader(body, boundary)
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			return false
		}
		_, ps, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
		if err == nil && strings.EqualFold(ps["name"], overrideField) {
			return true
		}
	}
}

// reasonPHPName is the reason of a parameter or form field sent under a
// name PHP reads as its own (phpName).
const reasonPHPName = "sent under another name PHP reads as this one"

// phpName returns the name PHP files the (decoded) query, form or cookie
// name k under in $_GET, $_POST and $_COOKIE, and whether k has an index,
// which makes it an element of the array of that name ("x[]", "x[k]"):
// leading spaces dropped, then, up to the first "[", " " and "." turned
// into "_"; a "[" that no "]" follows becomes "_" too and ends the
// replacing ("a[b.c" is "a_b.c"). PHP registers the name as a C string
// (php_register_variable_ex takes its strlen), so a NUL, decoded from
// "%00", ends it: "page_size\x00x" is page_size.
func phpName(k string) (name string, index bool) {
	k = strings.TrimLeft(k, " ")
	if i := strings.IndexByte(k, 0); i >= 0 {
		k = k[:i]
	}
	b := []byte(k)
	for i, c := range b {
		switch c {
		case ' ', '.':
			b[i] = '_'
		case '[':
			if strings.IndexByte(k[i+1:], ']') >= 0 {
				return string(b[:i]), true
			}
			b[i] = '_'
			return string(b), false
		}
	}
	return string(b), false
}

// phpMangled reports whether PHP reads the name k as the declared name
// (phpName) although k is not that name: "page.size", "page size",
// " page_size", "page[size" and "page_size[]" for "page_size". A name
// with an index is an array element of its name, legitimate only for a
// deepObject (deep: "d[s]").
func phpMangled(k, declared string, deep bool) bool {
	n, index := phpName(k)
	if n != declared {
		return false
	}
	if index {
		return !deep || !strings.HasPrefix(k, declared+"[")
	}
	return k != declared
}

// phpNames returns a violation for each query or cookie parameter of ps
// the request of in sends under another name that PHP reads as its own
// (phpMangled): "page.size=99999" reaches a PHP upstream as page_size,
// which openapi3filter, looking names up exactly, never validated. A name
// that is a declared one exactly is never such a violation.
func phpNames(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter) []error {
	type name struct {
		s    string
		deep bool
		p    *openapi3.Parameter
	}
	var query, cookie []name
	exact := map[string]bool{}
	for _, p := range ps {
		switch p.In {
		case openapi3.ParameterInQuery:
			if in.Options.ExcludeRequestQueryParams {
				continue
			}
			sm, err := p.SerializationMethod()
			deep := err == nil && sm.Style == "deepObject"
			query = append(query, name{p.Name, deep, p})
			exact[p.Name] = !deep
			if err == nil && sm.Style == "form" && sm.Explode && p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(openapi3.TypeObject) {
				for prop := range p.Schema.Value.Properties {
					query = append(query, name{prop, false, p})
					exact[prop] = true
				}
			}
		case openapi3.ParameterInCookie:
			cookie = append(cookie, name{p.Name, false, p})
		}
	}
	var errs []error
	seen := make(map[*openapi3.Parameter]bool)
	check := func(k string, names []name) {
		for _, n := range names {
			if !seen[n.p] && phpMangled(k, n.s, n.deep) {
				seen[n.p] = true
				errs = append(errs, &openapi3filter.RequestError{Input: in, Parameter: n.p, Reason: reasonPHPName})
			}
		}
	}
	if len(query) > 0 {
		for _, k := range slices.Sorted(maps.Keys(in.GetQueryParams())) {
			if !exact[k] {
				check(k, query)
			}
		}
	}
	if len(cookie) > 0 {
		for _, c := range requestCookies(in.Request.Header, "") {
			if !slices.ContainsFunc(cookie, func(n name) bool { return n.s == c.Name }) {
				check(c.Name, cookie)
			}
		}
	}
	return errs
}

// withoutParams returns ps without the parameters in own.
func withoutParams(ps openapi3.Parameters, own []*openapi3.Parameter) openapi3.Parameters {
	var out openapi3.Parameters
	for _, ref := range ps {
		if ref.Value == nil || !slices.Contains(own, ref.Value) {
			out = append(out, ref)
		}
	}
	return out
}

// validateArrayParam splits the array parameter p on its style's delimiter,
// decodes each item and validates the items with openapi3filter as an
// exploded form query array, whose items it neither splits nor decodes.
func validateArrayParam(ctx context.Context, in *openapi3filter.RequestValidationInput, p *openapi3.Parameter, params map[string]string, ex exactNumbers) error {
	fail := func(reason string) error {
		return &openapi3filter.RequestError{Input: in, Parameter: p, Reason: reason}
	}
	sm, _ := p.SerializationMethod()
	values := url.Values{}
	switch p.In {
	case openapi3.ParameterInPath:
		raw, ok := params[p.Name]
		if !ok || raw == "" {
			break
		}
		prefix, delim := "", ","
		switch {
		case sm.Style == "label":
			prefix = "."
			if sm.Explode {
				delim = "."
			}
		case sm.Style == "matrix":
			prefix = ";" + p.Name + "="
			if sm.Explode {
				delim = prefix
			}
		}
		rest, ok := strings.CutPrefix(raw, prefix)
		if !ok {
			return fail("a value must be prefixed with " + strconv.Quote(prefix))
		}
		for item := range strings.SplitSeq(rest, delim) {
			d, err := url.PathUnescape(item)
			if err != nil {
				return fail("an invalid percent-encoding")
			}
			values.Add(p.Name, d)
		}
	case openapi3.ParameterInQuery:
		raw, ok := rawQueryValue(in.Request.URL.RawQuery, p.Name)
		if !ok {
			break
		}
		for item := range strings.SplitSeq(raw, ",") {
			d, err := url.QueryUnescape(item)
			if err != nil {
				return fail("an invalid percent-encoding")
			}
			values.Add(p.Name, d)
		}
	}
	q := *p
	q.In, q.Style = openapi3.ParameterInQuery, "form"
	explode := true
	q.Explode = &explode
	vin := *in
	vin.QueryParams = values
	err := openapi3filter.ValidateParameter(ctx, &vin, &q)
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		re.Input, re.Parameter = in, p
		if re.Err != nil && numeric(p.Schema.Value.Items) && exactOnly(re.Err, itemsText(values[p.Name]), ex) {
			// openapi3filter compares numbers as float64s: the exact
			// answer stands where it refused only such (exactoverride.go).
			return nil
		}
	}
	return err
}

// validateCookieContent validates the cookie parameter p described by
// content, which openapi3filter cannot: it reads it with Request.Cookie
// and keeps http.ErrNoCookie as its error when the cookie is absent,
// refusing every request without it (an optional one's included), and
// Request.Cookie leaves out a JSON object sent as it is ('"' is no
// cookie-octet). The layer reads the cookie itself (requestCookies): its
// value, percent-decoded when it is percent-encoded (as a browser's
// encodeURIComponent writes it and Express and PHP read it), is decoded
// by the media type and validated by openapi3filter; sent twice, it is a
// violation; absent, only when required.
func validateCookieContent(ctx context.Context, in *openapi3filter.RequestValidationInput, p *openapi3.Parameter) error {
	cs := requestCookies(in.Request.Header, p.Name)
	switch {
	case len(cs) == 0:
		if p.Required {
			return &openapi3filter.RequestError{Input: in, Parameter: p, Reason: openapi3filter.ErrInvalidRequired.Error(), Err: openapi3filter.ErrInvalidRequired}
		}
		return nil
	case len(cs) > 1:
		return &openapi3filter.RequestError{Input: in, Parameter: p, Reason: reasonRepeated}
	}
	v := cs[0].Value
	if strings.Contains(v, "%") {
		d, err := url.PathUnescape(v)
		if err != nil {
			return &openapi3filter.RequestError{Input: in, Parameter: p, Reason: "an invalid percent-encoding"}
		}
		v = d
	}
	// Validated as a query content parameter of the value.
	q := *p
	q.In = openapi3.ParameterInQuery
	vin := *in
	vin.QueryParams = url.Values{p.Name: {v}}
	err := openapi3filter.ValidateParameter(ctx, &vin, &q)
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		re.Input, re.Parameter = in, p
	}
	return err
}

// validateObjectParam splits the object parameter p on its style's
// delimiters, decodes each name and value, takes each value as its
// property's schema type and validates the object with openapi3filter.
// An exploded form cookie object's properties are the cookies
// cookieProperties returns, their values as sent.
func validateObjectParam(ctx context.Context, in *openapi3filter.RequestValidationInput, p *openapi3.Parameter, params map[string]string, ex exactNumbers) error {
	fail := func(reason string) error {
		return &openapi3filter.RequestError{Input: in, Parameter: p, Reason: reason}
	}
	sm, _ := p.SerializationMethod()
	var raw string
	var found bool
	var pairs [][2]string
	propDelim, valueDelim := ",", ","
	unescape := url.PathUnescape
	switch p.In {
	case openapi3.ParameterInPath:
		raw, found = params[p.Name]
		found = found && raw != ""
		prefix := ""
		switch {
		case sm.Style == "simple" && sm.Explode:
			valueDelim = "="
		case sm.Style == "label":
			prefix = "."
			if sm.Explode {
				propDelim, valueDelim = ".", "="
			}
		case sm.Style == "matrix" && sm.Explode:
			prefix, propDelim, valueDelim = ";", ";", "="
		case sm.Style == "matrix":
			prefix = ";" + p.Name + "="
		}
		if found {
			var ok bool
			if raw, ok = strings.CutPrefix(raw, prefix); !ok {
				return fail("a value must be prefixed with " + strconv.Quote(prefix))
			}
		}
	case openapi3.ParameterInQuery:
		raw, found = rawQueryValue(in.Request.URL.RawQuery, p.Name)
		unescape = url.QueryUnescape
	case openapi3.ParameterInCookie:
		// An exploded form object: each property is a cookie of its own,
		// its value as it is (openapi3filter decodes no cookie value).
		for _, c := range cookieProperties(in, p) {
			if len(requestCookies(in.Request.Header, c.Name)) > 1 {
				return fail(reasonRepeated)
			}
			pairs = append(pairs, [2]string{c.Name, c.Value})
		}
		found = len(pairs) > 0
		unescape = func(s string) (string, error) { return s, nil }
	}
	if !found {
		if p.Required {
			return &openapi3filter.RequestError{Input: in, Parameter: p, Reason: openapi3filter.ErrInvalidRequired.Error(), Err: openapi3filter.ErrInvalidRequired}
		}
		return nil
	}
	parts := strings.Split(raw, propDelim)
	switch {
	case p.In == openapi3.ParameterInCookie:
		// pairs are the cookies already.
	case propDelim == valueDelim:
		if len(parts)%2 != 0 {
			return fail("a value must be a list of object's properties in format \"name" + valueDelim + "value\" separated by " + propDelim)
		}
		for i := 0; i < len(parts); i += 2 {
			pairs = append(pairs, [2]string{parts[i], parts[i+1]})
		}
	default:
		for _, part := range parts {
			k, v, ok := strings.Cut(part, valueDelim)
			if !ok || strings.Contains(v, valueDelim) {
				return fail("a value must be a list of object's properties in format \"name" + valueDelim + "value\" separated by " + propDelim)
			}
			pairs = append(pairs, [2]string{k, v})
		}
	}
	schema := p.Schema.Value
	obj := make(map[string]any, len(pairs))
	var longs map[string]any // the properties of 16 digits or more (longNumber), for intWalk
	for _, kv := range pairs {
		k, err := unescape(kv[0])
		if err != nil {
			return fail("an invalid percent-encoding")
		}
		v, err := unescape(kv[1])
		if err != nil {
			return fail("an invalid percent-encoding")
		}
		ps := schema.Properties[k]
		if ps == nil {
			ps = schema.AdditionalProperties.Schema
		}
		if val, ok := primitiveOf(v, ps); ok {
			obj[k] = val
		} else {
			delete(obj, k)
		}
		if longNumberText(v) {
			if longs == nil {
				longs = make(map[string]any)
			}
			longs[k] = json.Number(v)
		} else {
			delete(longs, k)
		}
	}
	// Validated as a content parameter, whose value the decoder gives as
	// it is, so that openapi3filter applies its options to the schema.
	q := *p
	q.In, q.Style, q.Explode, q.Schema = openapi3.ParameterInQuery, "", nil, nil
	q.Content = openapi3.NewContentWithJSONSchemaRef(p.Schema)
	vin := *in
	vin.QueryParams = url.Values{p.Name: {raw}}
	vin.ParamDecoder = func(*openapi3.Parameter, []string) (any, *openapi3.Schema, error) {
		return obj, schema, nil
	}
	err := openapi3filter.ValidateParameter(ctx, &vin, &q)
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		re.Input, re.Parameter = in, p
	}
	if err == nil && longs != nil {
		// openapi3filter compared the integers as float64s.
		return objectIntegers(in, p, longs, ex)
	}
	return err
}

// objectUndeclared returns a violation for each object parameter of ps
// whose schema allows no other property than it declares
// (additionalProperties false, no patternProperties) that the request
// sends with another one: a deepObject query parameter
// ("?f[color]=red&f[admin]=true"), a header object (simple style,
// "X-F: color,red,admin,true", exploded "color=red,admin=true") or a
// cookie object with explode false ("c=color,red,admin,true"), or an
// exploded form query object ("?color=red&admin=true"), of which a query
// key is an undeclared property when it is neither a property the schema
// declares nor another query parameter's (queryKeyOfOther):
// openapi3filter decodes the declared properties only and drops the
// others, which an upstream binds (Rails, PHP, qs) as part of the object
// the description closes. The object parameters validateRequest splits
// itself are validated whole (validateObjectParam). The property is not
// named in the reason: it is the caller's data.
func objectUndeclared(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter) []error {
	var errs []error
	for _, p := range ps {
		if p.Schema == nil || p.Schema.Value == nil || p.Content != nil {
			continue
		}
		s := p.Schema.Value
		if ap := s.AdditionalProperties; ap.Has == nil || *ap.Has || ap.Schema != nil || len(s.PatternProperties) > 0 {
			continue
		}
		var keys []string
		switch {
		case p.In == openapi3.ParameterInQuery && p.Style == "deepObject":
			if in.Options.ExcludeRequestQueryParams || !strings.ContainsAny(in.Request.URL.RawQuery, "[%") {
				continue
			}
			for k := range in.GetQueryParams() {
				if prop, ok := strings.CutPrefix(k, p.Name+"["); ok {
					if i := strings.IndexByte(prop, ']'); i >= 0 {
						prop = prop[:i]
					}
					keys = append(keys, prop)
				}
			}
		case p.In == openapi3.ParameterInQuery:
			// An exploded form object: each property is a query key of
			// its own, and an upstream that binds the object takes a
			// key no other parameter claims for one: all of them
			// (Express's req.query), or any naming a field of its model,
			// one the description leaves out included (Spring's
			// @ModelAttribute, ASP.NET Core's [FromQuery] model).
			sm, err := p.SerializationMethod()
			if err != nil || sm.Style != "form" || !sm.Explode || !s.Type.Is(openapi3.TypeObject) || in.Options.ExcludeRequestQueryParams {
				continue
			}
			for k := range in.GetQueryParams() {
				if !queryKeyOfOther(k, p, ps) {
					keys = append(keys, k)
				}
			}
		case p.In == openapi3.ParameterInHeader || p.In == openapi3.ParameterInCookie:
			sm, err := p.SerializationMethod()
			if err != nil {
				continue
			}
			var vs []string
			if p.In == openapi3.ParameterInHeader {
				vs = headerValues(in.Request.Header, p.Name)
			} else {
				if sm.Explode {
					// Each property is a cookie of its own.
					for _, c := range cookieProperties(in, p) {
						keys = append(keys, c.Name)
					}
					break
				}
				for _, c := range requestCookies(in.Request.Header, p.Name) {
					vs = append(vs, c.Value)
				}
			}
			if len(vs) == 0 {
				continue
			}
			parts := strings.Split(strings.Join(vs, ","), ",")
			if sm.Explode {
				for _, part := range parts {
					k, _, _ := strings.Cut(part, "=")
					keys = append(keys, strings.TrimSpace(k))
				}
			} else {
				for i := 0; i < len(parts); i += 2 {
					keys = append(keys, strings.TrimSpace(parts[i]))
				}
			}
		}
		for _, k := range keys {
			if s.Properties[k] == nil {
				errs = append(errs, &openapi3filter.RequestError{Input: in, Parameter: p, Reason: "a property the schema does not declare (additionalProperties is false)"})
				break
			}
		}
	}
	return errs
}

// cookieProperties returns the cookies of the request of in that are
// properties of the exploded form cookie object p: every cookie but
// another cookie parameter's of its operation, those its schema does not
// declare included (objectUndeclared refuses them when it allows none).
// A cookie p does not declare that another exploded form cookie object
// of the operation declares, or may take (it allows other properties),
// is that one's, as a query key is (queryKeyOfOther).
func cookieProperties(in *openapi3filter.RequestValidationInput, p *openapi3.Parameter) []*http.Cookie {
	ps := routeParams(in.Route)
	var cs []*http.Cookie
	for _, c := range requestCookies(in.Request.Header, "") {
		if !slices.ContainsFunc(ps, func(q *openapi3.Parameter) bool {
			return q != p && q.In == openapi3.ParameterInCookie && (q.Name == c.Name || !declaresProperty(p, c.Name) && cookieObjectTakes(q, c.Name))
		}) {
			cs = append(cs, c)
		}
	}
	return cs
}

// requestCookies returns the cookies of h's Cookie fields named name
// ("": all) as an upstream's lenient parser reads them (PHP, Express's
// cookie, Rack): each ";"-separated pair with a name, its value without
// the double quotes around it. Request.Cookies, and openapi3filter with
// it, leave out a pair whose name is no token ("ad min", "role[x]") or
// whose value has a byte RFC 6265 does not allow (a '"', a '\', a
// control or non-ASCII byte), and every pair of a header with more than
// 3000 (GODEBUG httpcookiemaxnum), all of which such an upstream reads:
// the layer's own checks of cookies take them from here.
func requestCookies(h http.Header, name string) []*http.Cookie {
	var cs []*http.Cookie
	for _, line := range h["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			k, v, _ := strings.Cut(part, "=")
			k = strings.Trim(k, " \t\r\n")
			if k == "" || name != "" && k != name {
				continue
			}
			v = strings.Trim(v, " \t\r\n")
			quoted := len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"'
			if quoted {
				v = v[1 : len(v)-1]
			}
			cs = append(cs, &http.Cookie{Name: k, Value: v, Quoted: quoted})
		}
	}
	return cs
}

// reasonUnreadableCookie is the reason of a cookie parameter net/http
// cannot read (unreadableCookies).
const reasonUnreadableCookie = "a value net/http cannot read (a byte RFC 6265 does not allow in a cookie, or more than 3000 cookies), which the validator would not see"

// unreadableCookies returns a violation for each cookie parameter of ps
// (but an exploded form cookie object and one described by content,
// which the layer reads itself: requestCookies, validateCookieContent)
// the request of in sends in a form Request.Cookie, with which
// openapi3filter reads it, leaves out: a value with a byte RFC 6265 does
// not allow, or any cookie of a header with more than 3000 (GODEBUG
// httpcookiemaxnum). openapi3filter would take it for absent, and pass
// an optional one whatever its value, which PHP, Express and Rack read.
func unreadableCookies(in *openapi3filter.RequestValidationInput, ps []*openapi3.Parameter) []error {
	if len(in.Request.Header["Cookie"]) == 0 {
		return nil
	}
	var errs []error
	for _, p := range ps {
		if p.In != openapi3.ParameterInCookie {
			continue
		}
		if p.Content != nil {
			continue // validateCookieContent reads it
		}
		if p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(openapi3.TypeObject) {
			if sm, err := p.SerializationMethod(); err == nil && sm.Style == "form" && sm.Explode {
				continue
			}
		}
		if cs := requestCookies(in.Request.Header, p.Name); len(cs) > 0 && len(in.Request.CookiesNamed(p.Name)) < len(cs) {
			errs = append(errs, &openapi3filter.RequestError{Input: in, Parameter: p, Reason: reasonUnreadableCookie})
		}
	}
	return errs
}

// declaresProperty reports whether the schema of the object parameter p
// declares the property k.
func declaresProperty(p *openapi3.Parameter, k string) bool {
	return p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Properties[k] != nil
}

// cookieObjectTakes reports whether q is an exploded form cookie object
// that declares the property k or allows properties it does not declare.
func cookieObjectTakes(q *openapi3.Parameter, k string) bool {
	if q.Content != nil || q.Schema == nil || q.Schema.Value == nil || !q.Schema.Value.Type.Is(openapi3.TypeObject) {
		return false
	}
	if sm, err := q.SerializationMethod(); err != nil || sm.Style != "form" || !sm.Explode {
		return false
	}
	s := q.Schema.Value
	if s.Properties[k] != nil {
		return true
	}
	ap := s.AdditionalProperties
	return ap.Has == nil || *ap.Has || ap.Schema != nil || len(s.PatternProperties) > 0
}

// queryKeyOfOther reports whether the query key k belongs to another
// query parameter of ps than p: its name, a deepObject's "d[...]" key, or
// a property of another exploded form object, which, when it allows
// additional properties, takes any key (openapi3filter gives it every
// one): such a key is not an undeclared property of p.
func queryKeyOfOther(k string, p *openapi3.Parameter, ps []*openapi3.Parameter) bool {
	for _, q := range ps {
		if q == p || q.In != openapi3.ParameterInQuery {
			continue
		}
		if q.Name == k {
			return true
		}
		sm, err := q.SerializationMethod()
		if err != nil {
			continue
		}
		if sm.Style == "deepObject" && strings.HasPrefix(k, q.Name+"[") {
			return true
		}
		if sm.Style == "form" && sm.Explode && q.Content == nil && q.Schema != nil && q.Schema.Value != nil && q.Schema.Value.Type.Is(openapi3.TypeObject) {
			s := q.Schema.Value
			if s.Properties[k] != nil {
				return true
			}
			if ap := s.AdditionalProperties; ap.Has == nil || *ap.Has || ap.Schema != nil || len(s.PatternProperties) > 0 {
				return true
			}
		}
	}
	return false
}

// objectIntegers returns a violation for the object parameter p whose
// properties of 16 digits or more (longs, json.Numbers) break a numeric
// keyword of their schemas exactly (integers.go), or nil. A property not
// of type integer or number is left to openapi3filter: digits of a
// string are no number.
func objectIntegers(in *openapi3filter.RequestValidationInput, p *openapi3.Parameter, longs map[string]any, ex exactNumbers) error {
	s := p.Schema.Value
	for k := range longs {
		ps := s.Properties[k]
		if ps == nil {
			ps = s.AdditionalProperties.Schema
		}
		if ps == nil || ps.Value == nil || !ps.Value.Type.Is(openapi3.TypeInteger) && !ps.Value.Type.Is(openapi3.TypeNumber) {
			delete(longs, k)
		}
	}
	w := intWalk{exact: ex, patterns: make(map[string]*regexp.Regexp)}
	if f := w.check(p.Schema, longs, nil, 0); f != nil {
		return &openapi3filter.RequestError{Input: in, Parameter: p, Reason: f.reason()}
	}
	return nil
}

// objectParamIntegers returns a violation for each object parameter of ps
// that openapi3filter decodes itself (a deepObject or an exploded form
// query object, a header object) with a property of 16 digits or more
// that breaks a numeric keyword of its schema exactly: openapi3filter
// compares it as a float64 ("?f[id]=9007199254740993" passed a maximum of
// 9007199254740992). The object parameters validateRequest splits itself
// (own) are validateObjectParam's.
func objectParamIntegers(in *openapi3filter.RequestValidationInput, ps, own []*openapi3.Parameter, ex exactNumbers) []error {
	var errs []error
	for _, p := range ps {
		if p.Content != nil || p.Schema == nil || p.Schema.Value == nil || !p.Schema.Value.Type.Is(openapi3.TypeObject) || slices.Contains(own, p) {
			continue
		}
		switch p.In {
		case openapi3.ParameterInQuery:
			if in.Options.ExcludeRequestQueryParams || !hasLongDigits(in.Request.URL.RawQuery) {
				continue
			}
		case openapi3.ParameterInHeader:
			if !slices.ContainsFunc(headerValues(in.Request.Header, p.Name), hasLongDigits) {
				continue
			}
		default:
			continue
		}
		sm, err := p.SerializationMethod()
		if err != nil {
			continue
		}
		var longs map[string]any
		add := func(k, v string) {
			if longNumberText(v) {
				if longs == nil {
					longs = make(map[string]any)
				}
				longs[k] = json.Number(v)
			}
		}
		switch p.In {
		case openapi3.ParameterInQuery:
			vs := in.GetQueryParams()
			switch {
			case sm.Style == "deepObject":
				for k, v := range vs {
					if prop, ok := strings.CutPrefix(k, p.Name+"["); ok && len(v) > 0 {
						if prop, ok = strings.CutSuffix(prop, "]"); ok && !strings.ContainsAny(prop, "[]") {
							add(prop, v[0])
						}
					}
				}
			case sm.Style == "form" && sm.Explode:
				for k, v := range vs {
					if len(v) > 0 && objectProperty(p.Schema.Value, k, ps) {
						add(k, v[0])
					}
				}
			}
		case openapi3.ParameterInHeader:
			parts := strings.Split(strings.Join(headerValues(in.Request.Header, p.Name), ","), ",")
			if sm.Explode {
				for _, part := range parts {
					if k, v, ok := strings.Cut(part, "="); ok {
						add(strings.TrimSpace(k), strings.TrimSpace(v))
					}
				}
			} else {
				for i := 0; i+1 < len(parts); i += 2 {
					add(strings.TrimSpace(parts[i]), strings.TrimSpace(parts[i+1]))
				}
			}
		}
		if longs == nil {
			continue
		}
		if err := objectIntegers(in, p, longs, ex); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// primitiveOf returns raw as a value of the first type of schema it is
// one of (integer, number, boolean or string), as openapi3filter reads a
// property of an object parameter, or raw itself, for the schema to
// refuse. ok is false for an empty raw of a type other than string, a
// property openapi3filter leaves out.
func primitiveOf(raw string, schema *openapi3.SchemaRef) (v any, ok bool) {
	if schema == nil || schema.Value == nil {
		return raw, true
	}
	for _, typ := range schema.Value.Type.Slice() {
		if raw == "" && typ != openapi3.TypeString {
			return nil, false
		}
		switch typ {
		case openapi3.TypeInteger:
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
				return n, true
			}
		case openapi3.TypeNumber:
			// Decimal numbers only: not "0x1p4", "1_000", "Inf" or "NaN".
			if !strings.ContainsFunc(raw, func(r rune) bool { return !strings.ContainsRune("+-.0123456789eE", r) }) {
				if f, err := strconv.ParseFloat(raw, 64); err == nil {
					return f, true
				}
			}
		case openapi3.TypeBoolean:
			if b, err := strconv.ParseBool(raw); err == nil {
				return b, true
			}
		case openapi3.TypeString:
			return raw, true
		}
	}
	return raw, true
}

// rawQueryValue returns the still-encoded value of the first query
// parameter named name in the raw query q (openapi3filter takes the first).
// Like url.ParseQuery, it skips a pair with a ";".
func rawQueryValue(q, name string) (string, bool) {
	for pair := range strings.SplitSeq(q, "&") {
		if strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(k); err == nil && k == name {
			return v, true
		}
	}
	return "", false
}

// scalarPathParam reports whether the path parameter name of route is
// declared with a schema that is neither an array nor an object (true when
// it has none: the validator then takes it as a string).
func scalarPathParam(route *routers.Route, name string) bool {
	var p *openapi3.Parameter
	if route.Operation != nil {
		p = route.Operation.Parameters.GetByInAndName(openapi3.ParameterInPath, name)
	}
	if p == nil && route.PathItem != nil {
		p = route.PathItem.Parameters.GetByInAndName(openapi3.ParameterInPath, name)
	}
	if p == nil || p.Schema == nil || p.Schema.Value == nil || p.Schema.Value.Type == nil {
		return true
	}
	t := p.Schema.Value.Type
	return !t.Includes(openapi3.TypeArray) && !t.Includes(openapi3.TypeObject)
}

// decodeUnreserved returns the escaped path p with every percent-encoded
// unreserved character (ALPHA, DIGIT, "-", ".", "_", "~") decoded.
func decodeUnreserved(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '%' && i+2 < len(p) {
			if c, err := strconv.ParseUint(p[i+1:i+3], 16, 8); err == nil && isUnreserved(byte(c)) {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// mergeSlashes returns p with each run of slashes replaced by one.
func mergeSlashes(p string) string {
	if !strings.Contains(p, "//") {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// hasDotSegment reports whether the escaped path p has a segment that is
// "." or ".." as an upstream may read it (pathView): its dots written as
// such or percent-encoded, its slashes "/", a backslash or either percent-encoded,
// any of them encoded twice, and the segment cut at a ";" (Tomcat takes
// "..;" for "..").
func hasDotSegment(p string) bool {
	for seg := range strings.SplitSeq(pathView(p), "/") {
		seg, _, _ = strings.Cut(seg, ";")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// foldDoc returns a copy of doc whose paths and servers are in lower case
// but for their "{name}" variables (the values of a server variable in
// lower case too): its router matches a path in lower case as a router of
// doc matches it in any case, which is how Express and ASP.NET Core route.
func foldDoc(doc *openapi3.T) *openapi3.T {
	d := *doc
	d.Servers = foldServers(doc.Servers)
	d.Paths = openapi3.NewPaths()
	for _, path := range doc.Paths.InMatchingOrder() {
		item := *doc.Paths.Value(path)
		item.Servers = foldServers(item.Servers)
		d.Paths.Set(lowerOutsideBraces(path), &item)
	}
	return &d
}

func foldServers(in openapi3.Servers) openapi3.Servers {
	if in == nil {
		return nil
	}
	out := make(openapi3.Servers, len(in))
	for i, s := range in {
		if s == nil {
			continue
		}
		c := *s
		c.URL = lowerOutsideBraces(s.URL)
		if s.Variables != nil {
			c.Variables = make(map[string]*openapi3.ServerVariable, len(s.Variables))
			for name, v := range s.Variables {
				if v == nil {
					c.Variables[name] = nil
					continue
				}
				cv := *v
				cv.Default = strings.ToLower(v.Default)
				cv.Enum = nil
				for _, e := range v.Enum {
					cv.Enum = append(cv.Enum, strings.ToLower(e))
				}
				c.Variables[name] = &cv
			}
		}
		out[i] = &c
	}
	return out
}

// lowerAuthority returns s, or a copy of it whose URL has its scheme and
// authority in lower case but for their "{...}" variables: a server
// written "HTTPS://API.Example.com/v1" is the server net/http sends to as
// "https://api.example.com/v1", which is how a request's URL (its host
// lowered by canonicalHost when it matches nothing as written) reaches
// the router, and gorilla/mux matches a host case-sensitively. A
// non-ASCII host is put in the IDNA lookup form
// ("https://bücher.example/v1" is "https://xn--bcher-kva.example/v1"; with
// variables, its non-ASCII labels outside braces: asciiLabels),
// the form net/http sends it in and a securecall client's layers see the
// request's URL in (the client converts it at its entry). The default
// port of its scheme is removed ("https://api.example.com:443/v1" is
// "https://api.example.com/v1"): gorilla/mux matches a request without a
// port only to a server without one, and serverRoute.onPort holds the
// request to the server's port.
func lowerAuthority(s *openapi3.Server) *openapi3.Server {
	i := schemeEnd(s.URL)
	if i < 0 {
		return s // a relative server ("/v1", "/proxy/http://up/v1"): no authority
	}
	end := len(s.URL)
	if j := strings.IndexByte(s.URL[i+3:], '/'); j >= 0 {
		end = i + 3 + j
	}
	lower := lowerOutsideBraces(s.URL[:end])
	if p := defaultPort(lower[:i]); p != "" && hostPort(lower[i+3:]) == p {
		// "https://api.example.com:443" is "https://api.example.com",
		// which gorilla/mux matches a request without a port to.
		lower = strings.TrimSuffix(lower, ":"+p)
	}
	if auth := lower[i+3:]; !ascii.Is(auth) && !strings.Contains(auth, "@") {
		if !strings.ContainsAny(auth, "{}") {
			if a, err := hostname.HostPort(auth); err == nil {
				lower = lower[:i+3] + a
			}
		} else if a, ok := asciiLabels(auth); ok {
			lower = lower[:i+3] + a
		}
	}
	if lower == s.URL[:end] {
		return s
	}
	c := *s
	c.URL = lower + s.URL[end:]
	return &c
}

// asciiLabels returns the authority auth of a server URL with variables
// ("{tenant}.bücher.example") with each non-ASCII label that has no "{"
// or "}" in its IDNA lookup form ("{tenant}.xn--bcher-kva.example"), and
// whether every such label converted. A label is converted on its own
// (with its port, for the last: hostname.HostPort), as IDNA converts a
// name label by label.
func asciiLabels(auth string) (string, bool) {
	labels := strings.Split(auth, ".")
	for k, l := range labels {
		if ascii.Is(l) {
			continue
		}
		if strings.ContainsAny(l, "{}") {
			return "", false
		}
		a, err := hostname.HostPort(l)
		if err != nil {
			return "", false
		}
		labels[k] = a
	}
	return strings.Join(labels, "."), true
}

// lowerOutsideBraces returns s in lower case but for its "{...}" parts.
func lowerOutsideBraces(s string) string {
	b := []byte(s)
	depth := 0
	for i, c := range b {
		switch {
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case depth == 0 && 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// withoutPathParams returns the path p, decoded, with what follows a ";"
// in each segment removed, as Tomcat, Jetty and Spring route it.
func withoutPathParams(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		segs[i], _, _ = strings.Cut(seg, ";")
	}
	return strings.Join(segs, "/")
}

// pathView returns the escaped path p decoded the furthest an upstream
// (or a proxy in front of it) may decode it: every percent-encoding
// decoded, again while one is left that decodes ("%252F" is "/" to a
// proxy and an upstream that each decode once), and every backslash as "/"
// (Windows servers, and the WHATWG URL parser, read it as one). Tomcat
// with ALLOW_ENCODED_SLASH, many proxies and gateways decode "%2F" before
// they resolve dot segments or route.
func pathView(p string) string {
	for strings.Contains(p, "%") {
		d := unescapeLenient(p)
		if d == p {
			break
		}
		p = d
	}
	return strings.ReplaceAll(p, `\`, "/")
}

// unescapeLenient decodes every valid percent-encoding of s, leaving any
// other "%" as it is.
func unescapeLenient(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// routeName is the server's base path followed by the operation's path;
// vars are the route's variables, as the router gave them. The base path
// is normalised as a path sent without a route is (transport.NormalizePath,
// which keeps a "{name}"), as transport.Template.Route normalises its base
// URL's: an API that puts its credential in the base URL's path
// (https://api.telegram.org/bot<TOKEN>) has it in the server URL, and the
// route reaches the inventory, span and metric attributes, the audit log
// and a violation's message.
func routeName(r *routers.Route, vars map[string]string) string {
	if r.Server != nil {
		if bp := basePath(r.Server, vars); bp != "/" {
			return strings.TrimSuffix(transport.NormalizePath(bp), "/") + r.Path
		}
	}
	return r.Path
}

// basePath returns the path of the server's URL with its variables kept
// as "{name}": the router matches such a variable as any value, so the
// default (Server.BasePath) would name calls to other base paths ("/v7")
// by it ("/v1"). A variable with an enum is its value in vars (the router
// held it to the enum; enumServers replaced one it does not match by each
// value). A variable in the scheme or the authority goes with them; one
// standing for them at the URL's start ("{baseUrl}/v1"), or for the whole
// URL, is its default (enumServers put it in its place for the router),
// whose path is kept ("https://api.example.com/base": "/base/v1").
func basePath(s *openapi3.Server, vars map[string]string) string {
	u := s.URL
	for name, v := range s.Variables {
		ph := "{" + name + "}"
		switch {
		case v == nil || !strings.Contains(u, ph):
		case len(v.Enum) > 0:
			val, ok := vars[name]
			if !ok {
				val = v.Default
			}
			u = strings.ReplaceAll(u, ph, val)
		case !inPath(s, name):
			u = strings.ReplaceAll(u, ph, v.Default)
		}
	}
	if i := schemeEnd(u); i >= 0 {
		u = u[i+len("://"):]
		j := strings.IndexByte(u, '/')
		if j < 0 {
			return "/"
		}
		u = u[j:]
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if d, err := url.PathUnescape(u); err == nil {
		u = d
	}
	if u == "" {
		return "/"
	}
	return u
}

// report hands a violation to the hook and the span, and returns the
// error that fails the call in Enforce mode (nil in ReportOnly).
func (l *layer) report(ctx context.Context, v *Violation) error {
	if l.onViolation != nil {
		l.onViolation(ctx, v)
	}
	transport.AddEvent(ctx, EventSchemaViolation,
		attribute.String("securecall.schema.direction", v.Direction),
		attribute.String("url.template", v.Route),
		attribute.String("securecall.schema.reason", v.Reason))
	if l.mode == ReportOnly {
		return nil
	}
	return &ViolationError{Violation: *v}
}

// validatesRequestBody reports whether openapi3filter reads the request
// body of route: the operation describes one and bodies are not excluded.
func (l *layer) validatesRequestBody(route *routers.Route) bool {
	return !l.opts.ExcludeRequestBody && route.Operation != nil && route.Operation.RequestBody != nil
}

// readsFormBody reports whether req's body is read although route's
// operation describes none: a urlencoded or multipart/form-data body,
// whose _method field an upstream may run as the request's method
// (methodOverride). Bodies excluded (Options.ExcludeRequestBody) are not.
func (l *layer) readsFormBody(route *routers.Route, req *http.Request) bool {
	if l.opts.ExcludeRequestBody || route.Operation == nil || route.Operation.RequestBody != nil || req.Body == nil || req.Body == http.NoBody {
		return false
	}
	switch bodyMediaType(req.Header.Get("Content-Type")) {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

// bufferRequest returns the request to validate (a clone over the
// buffered body) and the request to send: req itself when its body can be
// had again from GetBody, else a clone whose body replays the buffered
// bytes followed by whatever was not read. A GetBody that returns req's
// own Body (or a nil one) gives no copy: req.Body is read as without
// GetBody (reading that "copy" left req to go out empty, the content
// validated never sent). big reports a body over the
// validation limit. When read is false the body is not validated and not
// read: vr has none and req is sent as it is, so that a streamed upload
// to an operation without a request body schema starts at once.
//
// A body had from GetBody that cannot be had or read fails the call in
// Enforce mode; in ReportOnly mode vr is nil (not validated) and req is
// sent as it is, as it would be without the layer (its first send reads
// req.Body, not GetBody).
func (l *layer) bufferRequest(req *http.Request, read bool) (vr, send *http.Request, big bool, cerr, err error) {
	vr = req.Clone(req.Context())
	vr.GetBody = nil // kin-openapi would take (and never close) a body from it
	if !read || req.Body == nil || req.Body == http.NoBody {
		vr.Body = http.NoBody
		return vr, req, false, nil, nil
	}
	if req.GetBody != nil {
		rc, notFresh, err := reqbody.Fresh(req)
		if err != nil {
			if l.mode == ReportOnly {
				return nil, req, false, nil, nil
			}
			closeBody(req.Body)
			return nil, nil, false, nil, fmt.Errorf("openapi: request body: %w", err)
		}
		if notFresh != "" {
			// Not a copy: req's own Body handed back (reading it would
			// send req empty), or none. Read req.Body itself, as
			// without GetBody (what GetBody gave is not closed: it is req.Body).
			return l.bufferOwnBody(req, vr)
		}
		buf, err := io.ReadAll(io.LimitReader(rc, l.max+1))
		_ = rc.Close()
		if err != nil {
			if l.mode == ReportOnly {
				return nil, req, false, nil, nil
			}
			closeBody(req.Body)
			return nil, nil, false, nil, fmt.Errorf("openapi: reading request body: %w", err)
		}
		big = int64(len(buf)) > l.max
		if !big {
			big, cerr = l.validationBody(vr, buf)
			return vr, req, big, cerr, nil
		}
		setBody(vr, buf)
		return vr, req, big, nil, nil
	}
	return l.bufferOwnBody(req, vr)
}

// bufferOwnBody is bufferRequest for a request whose body is read from
// req.Body itself (no GetBody, or one that returns no fresh copy): the
// request sent is a clone of req that replays the bytes read.
func (l *layer) bufferOwnBody(req, vr *http.Request) (_, send *http.Request, big bool, cerr, err error) {
	buf, err := io.ReadAll(io.LimitReader(req.Body, l.max+1))
	if err != nil {
		closeBody(req.Body)
		return nil, nil, false, nil, fmt.Errorf("openapi: reading request body: %w", err)
	}
	send = req.Clone(req.Context())
	if int64(len(buf)) > l.max {
		big = true
		send.Body = readCloser{io.MultiReader(bytes.NewReader(buf), req.Body), req.Body}
		// Not had again: a GetBody here returned req.Body itself (see
		// bufferRequest), which a retry below would send emptied.
		send.GetBody = nil
	} else {
		// Read to the end: the caller's body is done with; the clone
		// replays the bytes, and can again (GetBody), which lets a retry
		// layer below replay it.
		_ = req.Body.Close()
		send.Body = io.NopCloser(bytes.NewReader(buf))
		send.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
		big, cerr = l.validationBody(vr, buf)
		return vr, send, big, cerr, nil
	}
	setBody(vr, buf)
	return vr, send, big, nil, nil
}

// validationBody gives vr, the request to validate, its body buf (read
// whole, within the limit): decoded when its Content-Encoding is gzip or
// deflate, as the upstream reads it (a caller compressing its upload),
// with vr's Content-Encoding then removed; the request sent keeps the
// caller's bytes. big reports a body decoding past the limit, held to the
// over-limit rule; cerr a body in a coding the layer cannot decode (br,
// more than one) or that does not decode, which cannot be validated
// (vr then has buf as it is, its body excluded from validation).
func (l *layer) validationBody(vr *http.Request, buf []byte) (big bool, cerr error) {
	dec, big, cerr := decodeContentOf("request", buf, vr.Header, l.max)
	if cerr != nil || big {
		setBody(vr, buf)
		return big, cerr
	}
	if len(dec) != len(buf) || len(buf) > 0 && &dec[0] != &buf[0] {
		vr.Header.Del("Content-Encoding")
		vr.ContentLength = int64(len(dec))
	}
	setBody(vr, dec)
	return false, nil
}

// setBody gives the validation request a body (and GetBody) over buf.
func setBody(r *http.Request, buf []byte) {
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	r.Body, _ = r.GetBody()
}

// bufferResponse reads up to max+1 bytes of resp.Body and replaces it with
// a body that yields the same bytes followed by the rest, closing the
// original. big reports a body over max, whose bytes are not returned. On
// a read error the replacement yields the bytes read, then fails every
// further Read with that error; closing it closes the original.
func bufferResponse(resp *http.Response, max int64) ([]byte, bool, error) {
	if resp.Body == http.NoBody {
		return nil, false, nil
	}
	orig := resp.Body
	buf, err := io.ReadAll(io.LimitReader(orig, max+1))
	if err != nil {
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(buf), errReader{err}), orig}
		return nil, false, err
	}
	if int64(len(buf)) > max {
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(buf), orig), orig}
		return nil, true, nil
	}
	resp.Body = readCloser{bytes.NewReader(buf), orig}
	return buf, false, nil
}

// errReader fails every Read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

type readCloser struct {
	io.Reader
	io.Closer
}

func closeBody(b io.ReadCloser) {
	if b != nil && b != http.NoBody {
		_ = b.Close()
	}
}

// reasonOf renders a kin-openapi error as a reason without values (opaque:
// see detailOf).
func reasonOf(err error, opaque bool) string {
	// Only a MultiError at the top (Options.MultiError): the JSON Schema
	// 2020-12 validator of OpenAPI 3.1 descriptions nests one deep inside
	// every RequestError, which must not hide the RequestError.
	if me, ok := err.(openapi3.MultiError); ok && len(me) > 0 {
		r := reasonOf(me[0], opaque)
		if len(me) > 1 {
			r += " (and " + strconv.Itoa(len(me)-1) + " more)"
		}
		return r
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		where := ""
		switch {
		case re.Parameter != nil:
			where = re.Parameter.In + " parameter " + strconv.Quote(re.Parameter.Name)
		case re.RequestBody != nil:
			where = "body"
		}
		return join(where, withoutValue(re.Reason), detailOf(re.Err, opaque))
	}
	var rs *openapi3filter.ResponseError
	if errors.As(err, &rs) {
		return join("", withoutValue(rs.Reason), detailOf(rs.Err, opaque))
	}
	var se *openapi3filter.SecurityRequirementsError
	if errors.As(err, &se) {
		return "security requirements not met"
	}
	var route *routers.RouteError
	if errors.As(err, &route) {
		return route.Reason
	}
	return "does not match the description"
}

// unexpectedCT starts the reason openapi3filter gives a request or
// response whose Content-Type the operation does not describe, followed by
// the quoted value.
const unexpectedCT = "header Content-Type has unexpected value"

// withoutValue returns an openapi3filter reason without the value it
// quotes: a Content-Type, which may carry anything in its parameters.
func withoutValue(reason string) string {
	if i := strings.Index(reason, unexpectedCT); i >= 0 {
		return reason[:i+len(unexpectedCT)]
	}
	return reason
}

// detailOf renders the cause of a request or response error. opaque: the
// description is OpenAPI 3.1 or later, whose schemas kin-openapi validates
// with the JSON Schema 2020-12 validator, whose schema error reasons
// quote the offending value.
func detailOf(err error, opaque bool) string {
	if err == nil {
		return ""
	}
	if me, ok := err.(openapi3.MultiError); ok && len(me) > 0 {
		d := detailOf(me[0], opaque)
		if len(me) > 1 {
			d += " (and " + strconv.Itoa(len(me)-1) + " more)"
		}
		return d
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		more := 0
		if opaque {
			se, more = firstFailure(se)
		}
		reason := se.Reason
		switch {
		case opaque:
			// The JSON Schema 2020-12 validator's reason quotes the
			// value: name the failing keyword instead.
			reason = "does not match the schema"
			if se.SchemaField != "" {
				reason = "fails " + strconv.Quote(se.SchemaField)
			}
		case se.SchemaField == "format":
			// The reason of a format failure carries the format
			// validator's error, which may quote the value (the date
			// parser's "parsing time \"1990-02-31\"", a custom
			// validator's message): name the format only.
			reason = "does not match the format"
			if se.Schema != nil && se.Schema.Format != "" {
				reason += " " + strconv.Quote(se.Schema.Format)
			}
		}
		if reason == "" && se.SchemaField != "" {
			// kin-openapi gives some failures no reason ("not"): name
			// the keyword.
			reason = "fails " + strconv.Quote(se.SchemaField)
		}
		if more > 0 {
			reason += " (and " + strconv.Itoa(more) + " more)"
		}
		if p := se.JSONPointer(); len(p) > 0 {
			return "at /" + strings.Join(p, "/") + ": " + reason
		}
		return reason
	}
	var pe *openapi3filter.ParseError
	if errors.As(err, &pe) {
		// An array item's or an object property's parse error is wrapped
		// in one that only adds its place: the reason is the innermost
		// one's, the place the whole path.
		reason := pe.Reason
		for c := pe; reason == ""; {
			next, ok := c.Cause.(*openapi3filter.ParseError)
			if !ok {
				break
			}
			c, reason = next, next.Reason
		}
		reason = parseReason(reason)
		if p := pe.Path(); len(p) > 0 && reason != "" {
			at := make([]string, len(p))
			for i, v := range p {
				at[i] = fmt.Sprint(v)
			}
			return "at /" + strings.Join(at, "/") + ": " + reason
		}
		return reason
	}
	if errors.Is(err, openapi3filter.ErrInvalidRequired) || errors.Is(err, openapi3filter.ErrInvalidEmptyValue) {
		return err.Error()
	}
	return ""
}

// firstFailure returns the first failure under se, an error of the JSON
// Schema 2020-12 validator, and how many others there are. When a value
// breaks more than one rule (a field its pattern and its maxLength, or
// two fields one each), that validator's error is one that names neither
// the field nor a keyword and holds a failure per rule in its Origin;
// one that names a keyword (oneOf, not...) is kept as it is.
func firstFailure(se *openapi3.SchemaError) (*openapi3.SchemaError, int) {
	more := 0
	for se.SchemaField == "" {
		var me openapi3.MultiError
		if !errors.As(se.Origin, &me) || len(me) == 0 {
			break
		}
		first, ok := me[0].(*openapi3.SchemaError)
		if !ok {
			break
		}
		more += len(me) - 1
		se = first
	}
	return se, more
}

// parseReason returns the reason of an openapi3filter parse error without
// what it quotes of the request: the error of strconv it passes on, which
// quotes the text (a deepObject key), or a media type. The format a value
// must have ("a value must be prefixed with \";a=\"") is the
// description's, and kept.
func parseReason(r string) string {
	if strings.HasPrefix(r, "a value must be ") {
		return r
	}
	if i := strings.Index(r, ": strconv."); i >= 0 {
		r = r[:i]
	}
	if i := strings.IndexByte(r, '"'); i >= 0 {
		r = strings.TrimRight(r[:i], " :,")
	}
	return r
}

// join renders "where: reason: detail", skipping empty parts and a detail
// that repeats the reason.
func join(where, reason, detail string) string {
	var parts []string
	for _, p := range []string{where, reason, detail} {
		if p != "" && (len(parts) == 0 || parts[len(parts)-1] != p) {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "does not match the description"
	}
	return strings.Join(parts, ": ")
}
