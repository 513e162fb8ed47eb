// Package openapi validates a securecall client's outgoing requests and
// incoming responses against an OpenAPI 3 description of the upstream
// API, with github.com/getkin/kin-openapi (openapi3filter).
//
// It is a nested module (github.com/securecall/securecall/openapi) so that
// services that do not validate schemas do not download kin-openapi and its
// YAML and JSON-schema dependencies.
//
// The layer returned by New is a per-call http.RoundTripper:
//
//   - Before sending, it finds the operation the request matches, validates
//     the path, query, header and cookie parameters and the body; a
//     body is read (and buffered, up to Config.MaxBodyBytes) only when the
//     operation describes one and Options.ExcludeRequestBody is not set,
//     so a streamed upload to an operation without a request body is sent
//     unread (a urlencoded or multipart/form-data body to such an
//     operation is read too, for a "_method" field, see below). A body
//     over MaxBodyBytes cannot be validated and is a violation (but for a
//     binary upload, see Config.MaxBodyBytes): Enforce does not send it
//     unchecked. A violation fails the call with a *ViolationError wrapping
//     transport.ErrSchemaViolation, and nothing is sent. A path with a
//     "." or ".." segment (also as "%2E") matches no operation and is a
//     violation even with Config.AllowUnknownRoutes: an upstream may remove
//     the segment and serve another resource than the one validated, maybe
//     a described one, and upstreams differ on how they resolve it. A
//     segment is looked for as the most decoding upstream reads the path:
//     "%2F", "%5C" and a backslash as "/" (Tomcat with
//     ALLOW_ENCODED_SLASH, many proxies), every percent-encoding decoded,
//     twice over too ("%252F", a proxy and the upstream each decoding
//     once), and cut at a ";" (Tomcat takes "..;" for ".."): so
//     "/x%2F..%2Fpets/0" is refused too. Likewise a path that matches no
//     operation as written but does once read that way ("/pets%2F0") is a
//     violation, AllowUnknownRoutes or not, as is one that matches an
//     operation as written and another once read that way
//     ("/files/a%2Fsecret" for "/files/{name}" and
//     "/files/{name}/secret", or "/files/%2573ecret" for "/files/{name}"
//     and "/files/secret": the call would be validated against the
//     one the upstream may not serve), and so is one that does
//     once what follows a ";" in a segment is removed ("/pets;x=1/0"):
//     Tomcat, Jetty and Spring remove such path parameters before they
//     route, or once read ignoring case ("/V1/PETS/0" with
//     AllowUnknownRoutes): Express and ASP.NET Core route so ("no
//     operation" includes a path a template matches for other methods
//     only, "/{coll}/{id}" with a DELETE for a GET). So is one that
//     matches an operation as written and another once read ignoring
//     case, AllowUnknownRoutes or not ("/files/SECRET" for
//     "/files/{name}" and "/files/secret", which Express and ASP.NET
//     Core serve as the literal one). A path of other
//     methods only does not hide a later one of the request's method:
//     with "/pets/{petId}" of a DELETE and "/{coll}/{id}" of a GET, a
//     GET "/pets/7" is the latter, as gorilla/mux and Express route it.
//     So is a request whose method matches no operation as written but
//     does in upper case ("get", which net/http sends as written):
//     Django and Flask upper-case the method, ASP.NET Core compares it
//     ignoring case. So is a path that does once its last segment's
//     format suffix is removed ("/pets.json", "/pets.xml/" for "/pets"):
//     Rails routes a resource as "/pets(.:format)", and Spring MVC before
//     5.3 matched "/pets.*" as "/pets".
//     The path is matched the way the upstream reads it: a percent-encoded
//     unreserved character as the character ("/cards/%64efault" is the
//     operation "/cards/default", not "/cards/{id}"), the host in any
//     case and with or without its trailing dot ("api.example.com." is
//     the server "api.example.com"), on the server's port only: the one
//     its URL names, else its scheme's default (443 for https, 80 for
//     http), a request's named or not, and with leading zeros or not
//     (":0443" is 443, as net/http dials it) ("https://api.example.com/v1" is
//     no server of "https://api.example.com:8443/v1", nor
//     "https://api.example.com:8443/v1" of "https://api.example.com/v1";
//     ":443" of https is the same server written either way: another
//     port is another service), a relative server's path ("/v1", or
//     "/proxy/https://up.example.com/v1", whose "://" is in its path, a
//     gateway's path naming its upstream) on any host, the host being
//     the request's Host when that names another authority than its URL
//     (net/http sends it, and
//     a virtual-hosting upstream serves by it: "https://10.0.0.5/v1/pets"
//     with Host "api.example.com" is validated as that server's
//     operation, AllowUnknownRoutes or not, and a Host of no server is
//     an unknown route), a non-ASCII host written either way
//     ("bücher.example" or its IDNA lookup form "xn--bcher-kva.example",
//     which a securecall client's layers see; "{tenant}.bücher.example"
//     too), a server variable with an enum as
//     one of its values only ("/v3" matches no server "/{version}" of
//     enum [v1, v2], the route of "/v2/pets/7" is "/v2/pets/{petId}"),
//     and a path no operation has is matched again with each run
//     of slashes merged into one, as nginx and Go's ServeMux serve it
//     ("/pets//7" is "/pets/{petId}"), then without its trailing slash,
//     or with one if it has none, as most frameworks route it ("/pets/7/"
//     and "/pets//7//" are "/pets/{petId}"); path parameters are
//     validated decoded ("a%2Fb" is "a/b"). A HEAD is validated as the
//     GET operation of its path when there is no HEAD one: Go's
//     ServeMux, Express, Rails and most frameworks serve it with the GET
//     handler, so it is no unknown route. A URL with an Opaque is matched
//     and validated as net/http sends it: its request-target is the
//     Opaque (URL.RequestURI), path and query, an Opaque starting with
//     "//" naming the host too, and URL.Path is not sent; a "#" in it
//     and what follows are left out, as Node's HTTP parser (Express,
//     Fastify) reads them as a fragment ("/pets/0#x" is "/pets/0").
//     An array or object path parameter (simple, label or matrix style)
//     and a form query array or object with explode false are split on
//     their style's delimiters first, then each item, property name and
//     value is decoded and validated, as the upstream reads them: an
//     escaped delimiter, as in "y%2Cz", is part of an item or value, and
//     the item "a%2Fb" is "a/b". url.Values.Encode escapes every ",", so
//     a form query array built with it ("ids=1%2C2") is one item to the
//     layer (and to an upstream that follows the description): join the
//     escaped items with a literal "," in the raw query instead.
//     A cookie object of style form with explode true (a cookie object's
//     default), which openapi3filter cannot decode, is validated by the
//     layer: each property is a cookie of its own, its value as sent;
//     every cookie but another cookie parameter is one of its properties,
//     but one that another such object declares (or, allowing other
//     properties, may take) and it does not. The layer reads the Cookie
//     header itself for its checks of cookies (an object's properties,
//     a name in another case or twice, a PHP name): a cookie whose name
//     is no token ("ad min") or whose value has a byte RFC 6265 does not
//     allow ('"', '\', a control or non-ASCII byte), which net/http's
//     Request.Cookies leaves out (as it does every cookie of a header
//     with more than 3000) and PHP, Express and Rack read, counts as any
//     other. A cookie parameter sent so, which openapi3filter reads with
//     Request.Cookie and would take for absent, is a violation. A cookie
//     parameter described by content (a JSON object in a cookie), which
//     openapi3filter cannot read (it refused every request without it,
//     an optional one's too), is validated by the layer: its value,
//     percent-decoded when percent-encoded (encodeURIComponent, as
//     Express and PHP read it), against its media type's schema; absent,
//     it is a violation only when required, and sent twice always.
//     A parameter sent more than once although its style serializes it
//     once ("?limit=5&limit=99999", a scalar header on two field lines,
//     two cookies of one name) is a violation, whatever each value is:
//     upstreams differ on which value they read (the first, the last, all
//     of them, the header lines joined), and the one validated must be the
//     one read. A property of an exploded form object query parameter
//     is a query parameter of its own, and counts as one
//     ("?color=red&color=green"). An exploded query array repeats its name by design and
//     every item is validated; an array or object header may be split over
//     field lines, which are joined as a list (RFC 9110 section 5.3).
//     A query parameter named in another case than the description
//     ("LIMIT=" for "limit", also a deepObject's "D[s]" and an exploded
//     form object's property) is a violation: OpenAPI names, and
//     openapi3filter, are case-sensitive, so it would not be validated,
//     but ASP.NET and other case-insensitive binders read it as the
//     declared one. So is a cookie named in another case than a cookie
//     parameter or a property of an exploded form cookie object ("COLOR="
//     for "color", which an object allowing additional properties would
//     take for one): ASP.NET Core reads request cookies by name ignoring
//     case. So is a query, cookie or form field name that PHP reads as
//     a declared one but is not that name ("page.size=", "page+size=",
//     " page_size=", "page[size=", "page_size[]=", "page_size%00x=" for
//     "page_size"): PHP turns "." and " " into "_", a "[" that no "]"
//     follows into "_", ends a name at a NUL ("%00"), and reads "x[...]"
//     as the array x (a deepObject's "d[s]" excepted).
//     A name that is a declared one exactly never is.
//     A deepObject query parameter, a header object, a cookie object
//     with explode false or an exploded form query object whose schema
//     has additionalProperties false sent with a property it does not
//     declare ("?f[color]=red&f[admin]=true", "X-F: color,red,admin,true",
//     "?color=red&admin=true") is a violation: openapi3filter drops the
//     property, an upstream (Rails, PHP, qs, Spring's @ModelAttribute)
//     binds it; so is a cookie that is neither a property an exploded
//     cookie object declares nor another cookie parameter (a cookie
//     jar's cookie included) when that object allows no other property.
//     Of an exploded form query object, whose properties are
//     query keys of their own, such a property is a key that is neither
//     one it declares nor another query parameter's (its name, a
//     deepObject's "d[...]", a property of another exploded form object,
//     any key when that one allows additional properties).
//     A method override the operation does not declare is a violation:
//     an X-HTTP-Method-Override, X-HTTP-Method or X-Method-Override
//     header, or a "_method" query parameter or form field (any case;
//     urlencoded or multipart/form-data, whose parts the validator skips
//     when additionalProperties allows them),
//     makes Rack, ASP.NET Core, Express's method-override, Symfony or
//     Laravel run another method than the one validated ("GET /pets/1" as
//     a DELETE). One the operation declares is validated like any other.
//     A query with a ";" is a violation: Go's url.ParseQuery, and so the
//     validator, drops the pair, but older upstreams split the query on
//     ";" as on "&" ("limit=5;limit=99999"). No OpenAPI query style
//     serializes to one: send a ";" in a value as "%3B". So is a query
//     with an invalid percent-encoding ("limit=99999%zz"), a pair the
//     validator drops too, which PHP and Node's qs keep as written.
//     A JSON request body with an object that has two members of one
//     name, or with more than one JSON value, is a violation: the
//     validator reads the last member and the first value, other parsers
//     (cJSON) the first member, and I-JSON (RFC 7493) forbids both. So
//     is a member name that is, but for case, a property its own object's
//     schema declares ({"TAG":...} for "tag", at any depth): Go's
//     encoding/json and ASP.NET Core read it as the property, the
//     validator as another one. A key of a map (additionalProperties) or
//     of a free-form object is data, in any case.
//     An integer written as one (decimal digits, no fraction or
//     exponent) is held to minimum, maximum, exclusiveMinimum,
//     exclusiveMaximum, multipleOf and format int32 or int64 exactly, in
//     a parameter or form body field (urlencoded or multipart/form-data)
//     of type integer or number (or an array of them, or an object
//     parameter's property of such a type) and at any depth of a JSON body, through allOf,
//     anyOf and oneOf:
//     kin-openapi compares it as a float64, which rounds an integer past
//     2^53 ("?limit=10000000000000001" passed a maximum of
//     10000000000000000, {"id":9223372036854775808} format int64, to an
//     upstream that reads an int64). So are the description's own
//     integers: a minimum, maximum, exclusiveMinimum, exclusiveMaximum,
//     multipleOf, const or enum member of Config.Spec written as an
//     integer that no float64 holds (9007199254740993, which kin-openapi
//     loads as 9007199254740992, or the same written
//     9007199254740993.0 or 9.007199254740993e15; 1e23, which it loads
//     as 99999999999999991611392) is the integer written, so a minimum of
//     9007199254740993 refuses 9007199254740992 and an enum
//     [9007199254740993] takes 9007199254740993 only (a description
//     given as Config.Doc keeps its float64s, of which kin-openapi keeps
//     no text, so there a maximum written 9007199254740993 refuses
//     9007199254740993: give the description as Config.Spec to have its
//     bounds as written); a multipleOf with a fraction
//     is the decimal written ("0.01", of which 12345678901234567 is a
//     multiple). An
//     integer of more than 400 significant digits, beyond every float64,
//     breaks every finite bound on its side without being parsed. In a
//     JSON body, an integer of 16 digits or more written with a zero
//     fraction or an exponent ("9007199254740993.0",
//     "9.007199254740993e15"), which openapi3filter takes for an integer,
//     is held to them exactly as well, and so is one in a parameter, an
//     object parameter's property, a form field or a response header of
//     type number (a maximum of 9007199254740992 refuses
//     9007199254740993.0 there too), and a number of 16 significant
//     digits or more with a fraction of its own ("9007199254740991.5")
//     breaks type integer although the float64 it rounds to is one. A
//     parameter or form field of type integer so written is refused by
//     openapi3filter. Under type number, such a number
//     ("9007199254740992.5", "0.30000000000000001"), which its float64
//     does not hold, is held to them exactly in the same places, a bound
//     or enum member with a fraction being the decimal the description
//     writes (a maximum of 9007199254740992 refuses 9007199254740992.5, a
//     maximum of 0.3 refuses 0.30000000000000001, and one of Config.Spec
//     written 9007199254740992.5 is that number); a number of fewer
//     significant digits, which a float64 tells from every other such
//     number, is compared as a float64, as before. Where openapi3filter
//     refuses a request or response body, a parameter or a response
//     header of type integer or number (or an array of them) only for
//     such keywords on values of 16 significant digits or more that meet
//     them exactly (9007199254740992 for an exclusiveMaximum of
//     9007199254740993, which it compares as the float64s
//     9007199254740992 and 9007199254740992; with an OpenAPI 3.1
//     description, 9007199254740992.5 for a maximum written so), the exact
//     answer stands and the call goes on; another failure of the same
//     call still is a violation. In a body, a failure of allOf, anyOf,
//     oneOf or not is held to its branches exactly (allOf: each passes,
//     anyOf: one does, oneOf: exactly one does, no discriminator
//     choosing, not: its branch fails) and then to the rest of its
//     schema, which openapi3filter checks nothing of once the keyword
//     failed; a oneOf that openapi3filter finds matching several
//     branches, a not with an OpenAPI 3.1 description (whose validator
//     names no keyword for it), a composition in a parameter's schema and
//     an object parameter's property stand as openapi3filter's.
//     A discriminator of oneOf or anyOf selects the branch a payload is
//     held to by its implicit values as well (OpenAPI's "implicit
//     mapping": the component name of a branch "#/components/schemas/Dog"
//     that no mapping entry names is "Dog"), as generated models
//     (Jackson's @JsonSubTypes) deserialize it: openapi3filter reads a
//     mapping only, so without one {"kind":"Dog",...} was held to every
//     branch and passed as a Cat allowing other members, its Dog
//     constraints unchecked, and a valid payload matching both branches
//     broke oneOf. A value naming no branch is a violation. For a
//     description given as Config.Doc, which the layer does not modify
//     (Spec's it gives the implicit mapping openapi3filter reads), the
//     layer holds the payload to the branch its value names and refuses
//     one naming none itself, and takes back what openapi3filter, which
//     reads no implicit mapping there, refuses of a payload that passes
//     the branch its value names and the rest of its schema (a valid
//     payload matching two oneOf branches, a branch's implicit value
//     beside a partial mapping), so that Doc and Spec are read alike.
//     With allOf polymorphism (a base schema with a discriminator and
//     neither oneOf nor anyOf, each subtype composing it with allOf), a
//     payload validated against the base is held to the subtype its
//     discriminator value selects as well: a mapping entry, or the
//     component name of a schema whose allOf names the base ("Dog" for
//     "#/components/schemas/Dog" of allOf [{$ref: Pet}, ...]), in a
//     request or response body at any depth, for Config.Spec and
//     Config.Doc alike: openapi3filter reads a discriminator with oneOf
//     or anyOf only, so {"petType":"Dog","bark":...} was held to Pet
//     alone, Dog's constraints unchecked. A value naming no subtype is
//     held to the base only.
//     A form body (application/x-www-form-urlencoded, and
//     multipart/form-data, a field in more than one part) with a declared
//     field sent twice (but an exploded array) or named in another case
//     is a violation, as a query parameter would be, and so is a
//     urlencoded body with a field its schema does not declare when it
//     allows no other property (additionalProperties false):
//     openapi3filter decodes the declared fields only, an upstream
//     binding the form to its model (Spring's @ModelAttribute, ASP.NET
//     Core's [FromForm], Rails) takes the other. A member of a property
//     encoded as deepObject ("filter[color]=red") is that property's,
//     as openapi3filter decodes it, when the property declares it or
//     allows other members.
//     A request body sent with two Content-Type field lines is a
//     violation: the validator parses it by the first, an upstream may by
//     the last. So is one whose Content-Type names a charset other than
//     UTF-8 (or US-ASCII), "application/json; charset=utf-16",
//     "text/plain; charset=iso-8859-1", when a schema constrains it
//     (not a binary upload's free string; multipart/form-data aside):
//     it is validated as UTF-8 bytes, and an upstream decoding it by its
//     charset reads other text ("é" as "Ã©"). Send such a body in UTF-8.
//     A request body the caller compressed (Content-Encoding
//     gzip or deflate) is validated decoded and sent as written; one in
//     another coding, or that does not decode, is a violation unless
//     there is nothing to check of it but its media type, which is
//     checked all the same (one the operation does not describe is a
//     violation, as it is for a body over MaxBodyBytes).
//     Headers are validated as they go on the wire: net/http sends a key
//     set directly in the map ("x-limit") as it is, so its values count
//     as those of the canonical key ("X-Limit").
//   - After the response arrives, it validates status, headers and body.
//     Place it above the response limits layer (transport.NewLimits), so it
//     reads the body behind the size limit, never an unbounded one. It
//     reads (and buffers, up to Config.MaxBodyBytes) only a body it
//     validates: one whose status and media type have a schema. One over
//     MaxBodyBytes cannot be validated and is a violation (but for a
//     binary download, see Config.MaxBodyBytes): Enforce does not return
//     it unchecked. Any other
//     response (a text/event-stream or a long poll described without a
//     schema, a HEAD, bodies excluded with Options.ExcludeResponseBody) is
//     returned as soon as its headers are validated, its body unread (a
//     HEAD's status and headers are validated as the GET's would be,
//     its Content-Type not: openapi3filter validates nothing of a
//     HEAD's). A 301, 302, 303, 304, 307 or 308 the operation lists by
//     its code or a range ("3XX") is validated as any other status (a
//     304's body, which it never has, not), though openapi3filter
//     validates nothing of a 301, 304, 307 or 308; one it does not list
//     so passes, a "default" response notwithstanding (a "default"
//     describes errors, whose body and headers a redirect does not
//     have): a redirect the client follows, a 304 answering the caller's
//     own conditional request. A response header that the
//     response declares with a schema of one value (not an array or an
//     object) and that comes on more than one field line is a violation,
//     whatever each line is: openapi3filter validates the first one, the
//     caller may read the last or the lines joined, as for a request's
//     header parameter; an array or object header's lines are joined as
//     one list, every item validated. A streamed media type described with a schema is buffered like any
//     other: describe streams without one. A body still encoded (the
//     caller set Accept-Encoding itself) is validated decoded when its
//     Content-Encoding is gzip or deflate, and reaches the caller encoded;
//     one in another coding, or in more than one, cannot be checked and
//     is a violation (an upstream must not put a body past validation
//     with one header). A JSON response body that the schema passes is
//     then held to the member rules of a JSON request body: a member name
//     that is, but for case, a property its object's schema declares
//     ({"TAG":...} for "tag": the validator takes it for another
//     property, the caller's encoding/json reads it as "tag",
//     unvalidated), a member name twice or more than one JSON value is a
//     violation, and its integers are held to their bounds exactly, as a
//     request body's; so are those of a response header of type integer
//     or number (or an array of them), as a request's header parameter's.
//   - The operation's path template becomes the call's route
//     (transport.SetRoute), which the inventory, the audit log and
//     telemetry report, when the caller gave none (the server's base path
//     first, a variable in it without an enum kept as "{name}", as a path
//     parameter is, the rest normalised by transport.NormalizePath so that
//     a credential in it, https://api.telegram.org/bot<TOKEN>, is "{id}"):
//     a route the caller
//     gives (transport.WithRoute, a transport.Template) is kept.
//
// In ReportOnly mode violations are reported (Config.OnViolation, a span
// event) and the call goes on unchanged: the way to introduce validation
// against a live upstream. A response body that fails while it is read for
// validation (a reset connection, transport.ErrResponseTooLarge from the
// limits layer) is not validated: the EventSchemaSkipped span event says
// so, and the caller gets the response, whose body yields the bytes read
// and then the same error, as it would without the layer. Likewise a
// request whose body copy from GetBody cannot be had or read is sent
// unvalidated, with its body (EventSchemaSkipped). In Enforce mode such a
// read error fails the call, wrapped ("openapi: reading response body:
// ...", "openapi: request body: ..."). A GetBody that returns the
// request's own Body (or a nil reader) gives no copy: the layer reads the
// body itself, as for a request without GetBody, and sends the bytes it
// validated.
//
// A string's format is checked as kin-openapi checks it: "date",
// "date-time", "byte", "ipv4" and "ipv6" are; another ("uuid", "email",
// "uri") is taken as an annotation and passes whatever the string is,
// unless its validator is given in Config.Options (see there).
//
// Violation reasons name the parameter or the JSON pointer of the failing
// field and the rule it broke, never the offending value, which may be a
// secret or personal data.
package openapi
