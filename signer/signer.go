package signer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/dunglas/httpsfv"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/internal/reqbody"
)

// Defaults and limits of a Signer.
const (
	// DefaultLabel is the signature label when Options.Label is empty.
	DefaultLabel = "sig1"
	// DefaultNonceSize is the number of random bytes in a nonce when
	// Options.NonceSize is zero (128 bits, sent as 22 base64url characters).
	DefaultNonceSize = 16
	// MinNonceSize is the smallest nonce a Signer accepts, in bytes.
	MinNonceSize = 16
	// MaxNonceSize is the largest nonce a Signer accepts, in bytes.
	MaxNonceSize = 64
	// MaxTagLength is the longest Options.Tag (and VerifierOptions.Tag)
	// accepted, in bytes, the same as MaxKeyIDLength and for the same
	// reasons: the tag is sent in every signature's Signature-Input, which
	// a Verifier refuses past MaxSignatureFieldSize, so a longer tag made a
	// Signer whose every request was refused; 1 KiB is also the longest
	// sf-string every RFC 8941 parser must accept (§3.3.3), and leaves
	// room, escaped (up to 2 KiB), beside a key id for MaxSignatures
	// members in one field.
	MaxTagLength = 1024
	// MaxLabelLength is the longest Options.Label (and
	// VerifierOptions.Label) accepted, in bytes: the label is a
	// Dictionary key of both Signature-Input and Signature, and 64
	// characters is the longest key every RFC 8941 parser must accept
	// (§3.2); a longer one may be refused by another verifier, and one
	// past MaxSignatureFieldSize is refused by this package's.
	MaxLabelLength = 64
)

// Param names a signature parameter (RFC 9421 §2.3). The order of
// Options.Params is the order in which they are serialised, which is part of
// the signed bytes.
type Param string

// Signature parameters.
const (
	// ParamCreated is "created": the signing time, Unix seconds.
	ParamCreated Param = "created"
	// ParamExpires is "expires": created + Options.Expires.
	ParamExpires Param = "expires"
	// ParamNonce is "nonce": Options.NonceSize random bytes, base64url.
	ParamNonce Param = "nonce"
	// ParamKeyID is "keyid": the id of the signing key.
	ParamKeyID Param = "keyid"
	// ParamAlg is "alg": the algorithm of the signing key. Verifiers never
	// choose the algorithm from it; they only check it matches the key.
	ParamAlg Param = "alg"
	// ParamTag is "tag": Options.Tag, an application tag that keeps
	// signatures of one protocol from being accepted by another.
	ParamTag Param = "tag"
)

// Options configures a Signer. Only Keys is required.
type Options struct {
	// Keys supplies the signing key on every Sign (see KeySet for rotation).
	// A nil pointer (a *KeySet never assigned) is a *ConfigError naming
	// this field.
	Keys KeySource

	// Components are the covered components, in order. Empty means
	// DefaultComponents(). A component marked IfPresent is covered only when
	// the request has it; every other one must be present or Sign fails
	// with ErrMissingComponent. When a content-digest component is listed
	// (Field, FieldSF, FieldBS, or FieldKey of the Digest algorithm; a
	// FieldKey of the other supported algorithm is a *ConfigError)
	// and the request has a body but no Content-Digest field, Sign computes
	// the field (streaming the body through GetBody) and adds it; when the
	// request has its own Content-Digest, Sign checks it against the body
	// first (a GetBody copy; empty content when there is no body, unchecked
	// when there is a body but no GetBody) and refuses one that does not
	// match (ErrDigestMismatch); an empty line of it, which holds no
	// digest, is dropped first. At most MaxComponents, whose
	// Signature-Input member (with the longest key id and parameter
	// values) must fit in MaxSignatureFieldSize, past which a Verifier
	// refuses it; more is a *ConfigError naming Options.Components.
	Components []Component

	// Label is the signature's label in Signature-Input and Signature.
	// Default DefaultLabel ("sig1"). A structured-field key of at most
	// MaxLabelLength bytes. Several signers with distinct labels
	// can sign the same request.
	Label string

	// Params lists the signature parameters, in serialisation order. Nil
	// means created, expires (only when Expires > 0), nonce, keyid, alg,
	// tag (only when Tag is set). ParamExpires needs Expires > 0 and
	// ParamTag needs Tag, and the other way round. ParamCreated and
	// ParamKeyID must be listed (a Verifier refuses a signature without
	// either); ParamNonce may be left out only for a Verifier with
	// AllowMissingNonce. Any other list is a *ConfigError naming this
	// field.
	Params []Param

	// Expires, when positive, adds expires = created + Expires. Zero: no
	// expires parameter (verifiers still bound the age by their MaxAge).
	Expires time.Duration

	// Tag is the tag parameter's value. Empty: no tag. At most
	// MaxTagLength bytes of printable ASCII (0x20-0x7E, what an sf-string
	// may hold); any other is a *ConfigError naming Options.Tag.
	Tag string

	// Nonce is the source of nonce bytes. Nil means crypto/rand. Reads from
	// a custom reader are serialised, so it need not be safe for concurrent
	// use; a short read is an error.
	Nonce io.Reader

	// NonceSize is the nonce length in bytes, between MinNonceSize and
	// MaxNonceSize. Zero means DefaultNonceSize.
	NonceSize int

	// Digest is the algorithm of the Content-Digest a Signer adds. Empty
	// means DefaultDigest (sha-256).
	Digest DigestAlgorithm

	// StructuredFields declares the structured type of fields used with
	// FieldSF that are not registered structured fields, by lower-case
	// field name. A name that is no field name or not in lower case
	// ("X-List", which no component would find), or a type other than
	// SFItem, SFList and SFDictionary, is a *ConfigError naming this
	// field.
	StructuredFields map[string]FieldType
}

// Signer adds an RFC 9421 signature (Signature-Input and Signature fields)
// to requests. It is safe for concurrent use; the time is passed to every
// Sign call, never read from a clock.
type Signer struct {
	keys         KeySource
	comps        []Component
	label        string
	params       []Param
	paramPrefix  []string // ";" + param + "=", for each of params
	expires      time.Duration
	tag          []byte // serialised sf-string
	nonce        io.Reader
	nonceMu      sync.Mutex
	nonceSize    int
	digest       DigestAlgorithm
	coversDigest bool
	coversCookie bool // a component is the cookie field
	coversLength bool // a component is the content-length field
	sfTypes      map[string]FieldType

	// fieldKeys are the distinct Request.Header keys the field
	// components read (at most maxFieldKeys; not Cookie, which alignWire
	// may rewrite, nor Host and Content-Length, never read from an
	// outgoing request's Header), whose lines Sign takes from the walk
	// over the keys mergeKeys makes rather than looking each up:
	// slots[i] is 1 + the index in fieldKeys of comps[i]'s key, 0 for a
	// component Sign looks up as before; digestSlot is Content-Digest's.
	fieldKeys  []string
	slots      []uint8
	digestSlot uint8

	states sync.Pool // *signState
}

type signState struct {
	base []byte
	list []byte
	raw  [MaxNonceSize]byte
	sum  [64]byte
}

// New validates opts and returns a Signer. Invalid options are a
// *ConfigError naming the field.
func New(opts Options) (*Signer, error) {
	if opts.Keys == nil {
		return nil, &ConfigError{Option: "Options.Keys", Reason: "a KeySource is required"}
	}
	if configerr.IsNil(opts.Keys) {
		// A *KeySet (or a KeySource of the caller's) never assigned: an
		// interface holding a nil pointer is not nil, and every Sign
		// would panic.
		return nil, &ConfigError{Option: "Options.Keys", Reason: fmt.Sprintf("a nil %T", opts.Keys)}
	}
	if err := configerr.Unconstructed("Options.Keys", opts.Keys); err != nil {
		return nil, err
	}
	if sk, ok := opts.Keys.(staticKey); ok && !sk.k.CanSign() {
		// A key that never changes and cannot sign would fail every Sign.
		return nil, &ConfigError{Option: "Options.Keys", Reason: "StaticKey of key " + strconv.Quote(sk.k.id) + ", which is verification-only"}
	}
	if err := checkStructuredFields("Options.StructuredFields", opts.StructuredFields); err != nil {
		return nil, err
	}
	s := &Signer{keys: opts.Keys, expires: opts.Expires, nonce: opts.Nonce, sfTypes: maps.Clone(opts.StructuredFields)}

	comps := opts.Components
	if len(comps) == 0 {
		comps = DefaultComponents()
	}
	if len(comps) > MaxComponents {
		return nil, &ConfigError{Option: "Options.Components", Reason: "more than " + strconv.Itoa(MaxComponents) + " components (MaxComponents): a verifier refuses the signature"}
	}
	digest := opts.Digest
	if digest == "" {
		digest = DefaultDigest
	}
	required := 0
	for i, c := range comps {
		if err := c.validate(); err != nil {
			return nil, &ConfigError{Option: "Options.Components[" + strconv.Itoa(i) + "]", Err: err}
		}
		if err := checkKeyMember(c); err != nil {
			return nil, &ConfigError{Option: "Options.Components[" + strconv.Itoa(i) + "]", Err: err}
		}
		for _, prev := range comps[:i] {
			if prev.Equal(c) {
				return nil, &ConfigError{Option: "Options.Components", Reason: "duplicate component " + c.id}
			}
		}
		if c.kind == kindField && unsentField[c.name] {
			return nil, &ConfigError{Option: "Options.Components[" + strconv.Itoa(i) + "]", Reason: "field " + strconv.Quote(c.name) + " is not sent as set: net/http writes it itself or drops it (hop-by-hop, or connection-specific and refused or dropped over HTTP/2), so a signature covering it cannot verify"}
		}
		if c.sf {
			m := message{sfTypes: opts.StructuredFields}
			if _, ok := m.fieldType(c.name); !ok {
				return nil, &ConfigError{Option: "Options.Components[" + strconv.Itoa(i) + "]", Reason: "structured type of " + strconv.Quote(c.name) + " unknown; declare it in Options.StructuredFields"}
			}
		}
		if !c.optional {
			required++
		}
		if coversContentDigest(c) {
			// ;sf, ;bs and a ;key= of a checked algorithm cover the digest
			// as the plain field does (see coversContentDigest): it is
			// added or checked the same way.
			s.coversDigest = true
			if c.hasKey && c.key != string(digest) && digest.size() != 0 {
				return nil, &ConfigError{Option: "Options.Components[" + strconv.Itoa(i) + "]", Reason: c.id + " names another algorithm than Options.Digest (" + string(digest) + "): the Content-Digest Sign adds would not have that member"}
			}
		}
		s.coversCookie = s.coversCookie || c.kind == kindField && c.name == "cookie"
		s.coversLength = s.coversLength || c.kind == kindField && c.name == "content-length"
	}
	if required == 0 {
		return nil, &ConfigError{Option: "Options.Components", Reason: "at least one component must be required (not IfPresent)"}
	}
	s.comps = slices.Clone(comps)
	s.slots = make([]uint8, len(s.comps))
	for i, c := range s.comps {
		if c.kind != kindField || c.name == "cookie" || c.name == "host" || c.name == "content-length" {
			continue
		}
		j := slices.Index(s.fieldKeys, c.header)
		if j < 0 {
			if len(s.fieldKeys) == maxFieldKeys {
				continue
			}
			j = len(s.fieldKeys)
			s.fieldKeys = append(s.fieldKeys, c.header)
		}
		s.slots[i] = uint8(j + 1)
		if c.header == "Content-Digest" {
			s.digestSlot = uint8(j + 1)
		}
	}

	s.label = opts.Label
	if s.label == "" {
		s.label = DefaultLabel
	}
	if len(s.label) > MaxLabelLength {
		return nil, &ConfigError{Option: "Options.Label", Reason: "label is " + strconv.Itoa(len(s.label)) + " bytes, longer than MaxLabelLength (" + strconv.Itoa(MaxLabelLength) + ")"}
	}
	if !validSFKey(s.label) {
		return nil, &ConfigError{Option: "Options.Label", Reason: "label must be a structured-field key (lower-case letters, digits, _-.*)"}
	}
	for i, c := range comps {
		if coversSignatureFields(c, s.label) {
			return nil, &ConfigError{Option: "Options.Components[" + strconv.Itoa(i) + "]", Reason: c.id + " covers the signature Sign is adding (Sign adds its member to Signature-Input and Signature after the signature base is made), so the signature could never verify; cover another label's member (FieldKey(\"signature\", label)) instead"}
		}
	}

	if opts.Expires < 0 {
		return nil, &ConfigError{Option: "Options.Expires", Reason: "negative duration"}
	}
	if opts.Expires > 0 && opts.Expires < time.Second {
		return nil, &ConfigError{Option: "Options.Expires", Reason: "below the one-second resolution of expires"}
	}
	if err := checkTag("Options.Tag", opts.Tag); err != nil {
		return nil, err
	}
	if opts.Tag != "" {
		s.tag = appendSFString(nil, opts.Tag)
	}

	params := opts.Params
	if params == nil {
		params = []Param{ParamCreated}
		if opts.Expires > 0 {
			params = append(params, ParamExpires)
		}
		params = append(params, ParamNonce, ParamKeyID, ParamAlg)
		if opts.Tag != "" {
			params = append(params, ParamTag)
		}
	}
	for i, p := range params {
		switch p {
		case ParamCreated, ParamNonce, ParamKeyID, ParamAlg:
		case ParamExpires:
			if opts.Expires <= 0 {
				return nil, &ConfigError{Option: "Options.Params", Reason: "expires listed but Options.Expires is not set"}
			}
		case ParamTag:
			if opts.Tag == "" {
				return nil, &ConfigError{Option: "Options.Params", Reason: "tag listed but Options.Tag is empty"}
			}
		default:
			return nil, &ConfigError{Option: "Options.Params", Reason: "unknown parameter " + strconv.Quote(string(p))}
		}
		if slices.Contains(params[:i], p) {
			return nil, &ConfigError{Option: "Options.Params", Reason: "duplicate parameter " + string(p)}
		}
	}
	if opts.Expires > 0 && !slices.Contains(params, ParamExpires) {
		return nil, &ConfigError{Option: "Options.Params", Reason: "Options.Expires is set but expires is not listed"}
	}
	if opts.Tag != "" && !slices.Contains(params, ParamTag) {
		return nil, &ConfigError{Option: "Options.Params", Reason: "Options.Tag is set but tag is not listed"}
	}
	// RFC 9421 makes both optional, but a Verifier refuses a signature
	// without either whatever its options (no created: no window to
	// bound its age nor how long its nonce is held; no keyid: no key to
	// verify it with), so a Signer leaving one out would have every
	// request refused, found only at the receiving end.
	for _, p := range [...]Param{ParamCreated, ParamKeyID} {
		if !slices.Contains(params, p) {
			return nil, &ConfigError{Option: "Options.Params", Reason: string(p) + " is not listed: a Verifier refuses every signature without it"}
		}
	}
	s.params = slices.Clone(params)
	for _, p := range s.params {
		s.paramPrefix = append(s.paramPrefix, ";"+string(p)+"=")
	}

	s.nonceSize = opts.NonceSize
	if s.nonceSize == 0 {
		s.nonceSize = DefaultNonceSize
	}
	if s.nonceSize < MinNonceSize || s.nonceSize > MaxNonceSize {
		return nil, &ConfigError{Option: "Options.NonceSize", Reason: fmt.Sprintf("must be between %d and %d bytes", MinNonceSize, MaxNonceSize)}
	}

	if n := s.maxInputSize(); n > MaxSignatureFieldSize {
		return nil, &ConfigError{Option: "Options.Components", Reason: "the Signature-Input these components make can be " + strconv.Itoa(n) +
			" bytes (with a key id of MaxKeyIDLength), larger than MaxSignatureFieldSize (" + strconv.Itoa(MaxSignatureFieldSize) + "): a verifier refuses the signature"}
	}

	s.digest = digest
	if s.digest.size() == 0 {
		return nil, &ConfigError{Option: "Options.Digest", Reason: "unsupported digest algorithm " + strconv.Quote(string(s.digest))}
	}
	s.states.New = func() any {
		return &signState{base: make([]byte, 0, 512), list: make([]byte, 0, 256)}
	}
	return s, nil
}

// maxInputSize returns the most bytes the Signer's Signature-Input member
// can take: every component present, the longest value of each
// parameter, a key id of MaxKeyIDLength bytes that all need escaping.
func (s *Signer) maxInputSize() int {
	n := len(s.label) + len("=()")
	for i, c := range s.comps {
		if i > 0 {
			n++
		}
		n += len(c.id)
	}
	for _, p := range s.params {
		n += len(";=") + len(p)
		switch p {
		case ParamCreated, ParamExpires:
			n += len("-9223372036854775808")
		case ParamNonce:
			n += len(`""`) + base64.RawURLEncoding.EncodedLen(s.nonceSize)
		case ParamKeyID:
			n += len(`""`) + 2*MaxKeyIDLength
		case ParamAlg:
			n += len(`""`) + max(len(HMACSHA256), len(Ed25519))
		case ParamTag:
			n += len(s.tag)
		}
	}
	return n
}

// checkTag checks the Tag option named option: at most MaxTagLength
// bytes of what an sf-string may hold.
func checkTag(option, tag string) error {
	if len(tag) > MaxTagLength {
		return &ConfigError{Option: option, Reason: "tag is " + strconv.Itoa(len(tag)) + " bytes, longer than MaxTagLength (" + strconv.Itoa(MaxTagLength) + ")"}
	}
	if !validSFString(tag) {
		return &ConfigError{Option: option, Reason: "tag must be printable ASCII"}
	}
	return nil
}

// Label returns the signature label.
func (s *Signer) Label() string { return s.label }

// Params returns the signature parameters in serialisation order.
func (s *Signer) Params() []Param { return slices.Clone(s.params) }

// Components returns the configured covered components.
func (s *Signer) Components() []Component { return slices.Clone(s.comps) }

// Sign signs req as of now: it adds Content-Digest when needed, then the
// Signature-Input and Signature fields (as extra field lines when req is
// already signed under other labels; an empty line of either field, which
// holds no member, is dropped). It modifies req, so req must
// belong to the caller (clone a request you were handed); it never reads
// req.Body, only a fresh copy from req.GetBody.
//
// So that what is signed is what arrives over HTTP/1.1 and HTTP/2 alike,
// Sign first merges the field lines set under a non-canonical key
// (req.Header["x-api-key"], which net/http sends as it is) into the
// canonical key (see mergeKeys), so that they are covered, checked for a
// label in use and sent as the signature says; then it aligns the parts of
// req that the two protocols send differently (see alignWire): it joins
// the Cookie field lines into one when cookie is covered, and drops a
// forced chunked TransferEncoding from a request without a body, or (when
// content-length is covered) makes a chunked body's length unknown. A
// non-ASCII host (Request.Host, else the URL's) is signed in its IDNA lookup
// form ("xn--bcher-kva.example" for "BÜCHER.example" or "bücher。example"),
// the form securecall's base transport sends; where net/http alone would
// send another, Sign sets req.Host to it (see alignHost). A Host not valid
// as a field, with an IPv6 zone, or other than the authority of an
// absolute-form URL.Opaque, which a server takes the request for, is
// refused as ErrInvalidHost when a covered component derives from it;
// @scheme and @target-uri of a request whose absolute-form URL.Opaque has
// another scheme than the URL's, which a server reads, as ErrMalformed
// (@authority as ErrInvalidHost when the two schemes normalise it
// differently). A covered
// @path, @query, @request-target or @target-uri whose value holds a space
// (url.Parse keeps one in the query; net/http sends URL.RawQuery and
// URL.Opaque as they are, and over HTTP/1.1 the space ends the
// request-target) is refused as ErrMalformed.
//
// Each call draws a fresh nonce and uses now for created, so every signed
// attempt of a retried request is distinct.
func (s *Signer) Sign(ctx context.Context, req *http.Request, now time.Time) error {
	if s.keys == nil {
		return zeroErr(errZeroSigner)
	}
	key, err := s.keys.SigningKey(ctx)
	if err != nil {
		return &KeyError{Err: err}
	}
	if key == nil || !key.CanSign() {
		return &ConfigError{Option: "Options.Keys", Reason: "the KeySource returned no signing key"}
	}
	if now.IsZero() && (slices.Contains(s.params, ParamCreated) || slices.Contains(s.params, ParamExpires)) {
		return &ConfigError{Option: "now", Reason: "zero time"}
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	// mergeKeys ranges over the keys anyway: it tells whether either
	// field's key is there, which spares a request without a signature
	// the two lookups below, and, when it merged no key, takes the lines
	// of the keys the components read (fieldKeys), which spares each of
	// them a lookup (see message.known); else they are looked up here.
	m := message{sfTypes: s.sfTypes, hostSet: true}
	known := m.known[:len(s.fieldKeys)]
	sigKeys, exact := mergeKeysLines(req.Header, s.fieldKeys, known)
	if !exact {
		for i, k := range s.fieldKeys {
			known[i] = req.Header[k]
		}
	}
	// A label is in use when either field has it: a Signature member
	// without its Signature-Input (or the other way round) would otherwise
	// be sent beside the new one under the same key.
	signed := false // either field has a line: the new member is appended
	for _, name := range [...]string{"Signature-Input", "Signature"} {
		if !sigKeys {
			break
		}
		existing := req.Header[name]
		if hasBlankLine(existing) {
			// An empty line (a proxy's Header.Set of the Get of a
			// field its request lacked) holds no member, but a second
			// line after it is received joined as ", sig1=...", which
			// no Structured Fields parser reads: dropped.
			existing = slices.DeleteFunc(slices.Clone(existing), isBlankLine)
			if j := slices.Index(s.fieldKeys, name); j >= 0 {
				m.known[j] = existing // the lines a covered member is read from
			}
			if len(existing) == 0 {
				delete(req.Header, name)
				continue
			}
			req.Header[name] = existing
		}
		if len(existing) == 0 {
			continue
		}
		signed = true
		if d, err := httpsfv.UnmarshalDictionary(existing); err != nil {
			return fmt.Errorf("%w: existing %s: %v", ErrMalformed, name, err)
		} else if _, ok := d.Get(s.label); ok {
			return fmt.Errorf("%w: %q", ErrLabelInUse, s.label)
		}
	}
	s.alignWire(req)
	host := alignHost(req)
	if s.coversDigest {
		var cd []string
		if d := s.digestSlot; d > 0 {
			cd = m.known[d-1]
		} else {
			cd = req.Header["Content-Digest"]
		}
		if hasBlankLine(cd) {
			// An empty line holds no digest (a proxy's Header.Set of the
			// Get of a field its request lacked), and one beside a
			// digest makes the field unparsable: dropped.
			cd = slices.DeleteFunc(slices.Clone(cd), isBlankLine)
			if d := s.digestSlot; d > 0 {
				m.known[d-1] = cd
			}
			if len(cd) == 0 {
				delete(req.Header, "Content-Digest")
			} else {
				req.Header["Content-Digest"] = cd
			}
		}
		var err error
		switch {
		case len(cd) > 0:
			err = checkDigest(req)
		case hasBody(req):
			cd, err = s.addDigestLine(req)
			if d := s.digestSlot; d > 0 {
				m.known[d-1] = cd
			}
		}
		if err != nil {
			return err
		}
	}

	st := s.states.Get().(*signState)
	defer s.states.Put(st)
	m.req, m.scheme, m.signHost = req, clientScheme(req), host
	base := st.base[:0]
	list := append(st.list[:0], '(')
	n := 0
	for i := range s.comps {
		c := &s.comps[i]
		m.slot = s.slots[i]
		if c.optional && !m.present(c) {
			continue
		}
		if base, err = m.appendLines(base, c); err != nil {
			st.base, st.list = base, list
			return fmt.Errorf("signer: sign: %w", err)
		}
		if n > 0 {
			list = append(list, ' ')
		}
		list = append(list, c.id...)
		n++
	}
	list = append(list, ')')
	for i, p := range s.params {
		list = append(list, s.paramPrefix[i]...)
		switch p {
		case ParamCreated:
			list = strconv.AppendInt(list, now.Unix(), 10)
		case ParamExpires:
			list = strconv.AppendInt(list, now.Add(s.expires).Unix(), 10)
		case ParamNonce:
			raw := st.raw[:s.nonceSize]
			if err := s.readNonce(raw); err != nil {
				st.base, st.list = base, list
				return err
			}
			list = append(list, '"')
			list = appendBase64(list, raw, &b64URL, false)
			list = append(list, '"')
		case ParamKeyID:
			list = append(list, key.quotedID...)
		case ParamAlg:
			list = append(list, '"')
			list = append(list, key.alg...)
			list = append(list, '"')
		case ParamTag:
			list = append(list, s.tag...)
		}
	}
	base = append(base, `"@signature-params": `...)
	base = append(base, list...)
	st.base, st.list = base, list

	sig, err := key.sign(st.sum[:0], base)
	if err != nil {
		return err
	}
	// Both field values, label=(...)... and label=:sig:, are built in
	// one buffer sized up front, which for a request not yet signed is in
	// one allocation with the []string both fields take their line from
	// (newFieldValues). The values are views of the buffer, which nothing
	// writes once they are made.
	size := 2*len(s.label) + len("=") + len(list) + len("=::") + (len(sig)+2)/3*4
	var vals []string
	var buf []byte
	if signed {
		buf = make([]byte, 0, size)
	} else {
		vals, buf = newFieldValues(size)
	}
	out := append(buf, s.label...)
	out = append(out, '=')
	out = append(out, list...)
	split := len(out)
	out = append(out, s.label...)
	out = append(out, '=', ':')
	out = appendBase64(out, sig, &b64Std, true)
	out = append(out, ':')
	input := unsafe.String(unsafe.SliceData(out), split)
	signature := unsafe.String(&out[split], len(out)-split)

	h := req.Header
	if !signed { // neither field was set above, and nothing since sets them
		vals[0], vals[1] = input, signature
		h["Signature-Input"] = vals[0:1:1]
		h["Signature"] = vals[1:2:2]
	} else {
		h["Signature-Input"] = append(h["Signature-Input"], input)
		h["Signature"] = append(h["Signature"], signature)
	}
	return nil
}

// fieldValues is the one allocation of a signature's two field lines (a
// []string of two, Signature-Input's line and Signature's) and the bytes
// of their values (Buf, a byte array whose length makes the whole a size
// class of the allocator): the strings are views of Buf, which keep the
// whole alive as long as either field holds its line.
type fieldValues[Buf any] struct {
	vals [2]string
	buf  Buf
}

// newFieldValuesOf returns the []string of a new fieldValues[Buf] and its
// buffer, empty, with Buf's length as its capacity.
func newFieldValuesOf[Buf any]() ([]string, []byte) {
	f := new(fieldValues[Buf])
	return f.vals[:], unsafe.Slice((*byte)(unsafe.Pointer(&f.buf)), unsafe.Sizeof(f.buf))[:0]
}

// newFieldValues returns the []string of two for a signature's field lines
// and an empty buffer of at least n bytes for their values: one allocation
// of up to 512 bytes in all (n up to 480), the smallest size class that
// holds both, which takes as many bytes as the two separate allocations it
// replaces or 16 more (values of 199 bytes: 208 + 32 or 240; of 231 bytes:
// 240 + 32 or 288); two above.
func newFieldValues(n int) ([]string, []byte) {
	const v = int(unsafe.Sizeof([2]string{}))
	switch {
	case n <= 96-v:
		return newFieldValuesOf[[96 - v]byte]()
	case n <= 112-v:
		return newFieldValuesOf[[112 - v]byte]()
	case n <= 128-v:
		return newFieldValuesOf[[128 - v]byte]()
	case n <= 144-v:
		return newFieldValuesOf[[144 - v]byte]()
	case n <= 160-v:
		return newFieldValuesOf[[160 - v]byte]()
	case n <= 176-v:
		return newFieldValuesOf[[176 - v]byte]()
	case n <= 192-v:
		return newFieldValuesOf[[192 - v]byte]()
	case n <= 208-v:
		return newFieldValuesOf[[208 - v]byte]()
	case n <= 224-v:
		return newFieldValuesOf[[224 - v]byte]()
	case n <= 240-v:
		return newFieldValuesOf[[240 - v]byte]()
	case n <= 256-v:
		return newFieldValuesOf[[256 - v]byte]()
	case n <= 288-v:
		return newFieldValuesOf[[288 - v]byte]()
	case n <= 320-v:
		return newFieldValuesOf[[320 - v]byte]()
	case n <= 352-v:
		return newFieldValuesOf[[352 - v]byte]()
	case n <= 384-v:
		return newFieldValuesOf[[384 - v]byte]()
	case n <= 416-v:
		return newFieldValuesOf[[416 - v]byte]()
	case n <= 448-v:
		return newFieldValuesOf[[448 - v]byte]()
	case n <= 480-v:
		return newFieldValuesOf[[480 - v]byte]()
	case n <= 512-v:
		return newFieldValuesOf[[512 - v]byte]()
	}
	return make([]string, 2), make([]byte, 0, n)
}

func (s *Signer) readNonce(b []byte) error {
	if s.nonce == nil {
		// crypto/rand directly, on every nonce: a user-space buffer of
		// random bytes would be handed out twice by two copies of a VM
		// snapshot, which crypto/rand's getrandom path is safe against.
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("signer: nonce: %w", err)
		}
		return nil
	}
	s.nonceMu.Lock()
	_, err := io.ReadFull(s.nonce, b)
	s.nonceMu.Unlock()
	if err != nil {
		return fmt.Errorf("signer: nonce: %w", err)
	}
	return nil
}

// unsentField holds the fields a signer must not cover: net/http never
// sends Transfer-Encoding or Trailer from Request.Header (it writes them
// from the request's body and Trailer), and the connection-specific fields
// (RFC 9113 section 8.2.2: Connection, Keep-Alive, Proxy-Connection,
// Upgrade, TE) are dropped or refused over HTTP/2, where a signature over
// them would fail to verify on one protocol but not the other.
var unsentField = map[string]bool{
	"transfer-encoding": true,
	"trailer":           true,
	"connection":        true,
	"keep-alive":        true,
	"proxy-connection":  true,
	"upgrade":           true,
	"te":                true,
}

// mergeKeys moves the field lines of h set under a key that is not in
// canonical form ("x-api-key", "COOKIE") to the canonical key ("X-Api-Key",
// "Cookie"), which is where Sign, the Header methods and the receiver (Go's
// servers canonicalise every key) look for them. Otherwise net/http sends
// them anyway (HTTP/1.1 as written, HTTP/2 lower-cased), so a signature
// covering the field would leave them out (IfPresent), or cover only the
// canonical key's lines while the receiver merges both; a caller's
// Signature-Input under such a key would escape the label-in-use check.
// The lines of all the spellings of one name are joined in the order
// HTTP/1.1 writes them (keys sorted bytewise; HTTP/2 follows map order,
// which is random), so HTTP/1.1 sends the same lines as before, in one
// block. A spelling of a field net/http takes from elsewhere (Host,
// Content-Length, Transfer-Encoding) is thereby no longer sent as an extra
// line over HTTP/1.1, as HTTP/2 never sends it. A key that is not a valid
// field name is left alone: net/http refuses to send it. A canonical key
// present with no lines stays present (an empty User-Agent keeps net/http
// from sending its own).
//
// It reports false only when h has, when it returns, neither the key
// Signature-Input nor Signature (found in its walk over the keys, so that
// Sign need not look them up); true when either is there or when it merged
// a key.
func mergeKeys(h http.Header) (sigKeys bool) {
	sigKeys, _ = mergeKeysLines(h, nil, nil)
	return sigKeys
}

// maxFieldKeys is the most Request.Header keys whose lines Sign takes
// from mergeKeysLines' walk (Signer.fieldKeys); a Signer's components
// reading more look the others up.
const maxFieldKeys = 8

// mergeKeysLines is mergeKeys, which also sets lines[i] to h[keys[i]] as
// h is when it returns, for every i, when exact: when it merged no key
// (h unchanged). lines must be as long as keys, and all nil.
func mergeKeysLines(h http.Header, keys []string, lines [][]string) (sigKeys, exact bool) {
	var odd []string
	for k, v := range h {
		if k == "Signature-Input" || k == "Signature" {
			sigKeys = true
		} else if !isCanonicalKey(k) {
			odd = append(odd, k)
			continue
		}
		for i, key := range keys {
			if k == key {
				lines[i] = v
				break
			}
		}
	}
	if len(odd) == 0 {
		return sigKeys, true
	}
	slices.Sort(odd)
	for len(odd) > 0 {
		canon := textproto.CanonicalMIMEHeaderKey(odd[0])
		keys := []string{}
		_, had := h[canon]
		if had {
			keys = append(keys, canon)
		}
		rest := odd[:0]
		for _, k := range odd {
			if textproto.CanonicalMIMEHeaderKey(k) == canon {
				keys = append(keys, k)
			} else {
				rest = append(rest, k)
			}
		}
		odd = rest
		slices.Sort(keys)
		var vals []string // a new slice: h's may share a backing array
		for _, k := range keys {
			vals = append(vals, h[k]...)
			delete(h, k)
		}
		if had || len(vals) > 0 {
			h[canon] = vals // a canonical key kept even empty: User-Agent
		}
	}
	return true, false // a merged key may be one of them: Sign looks
}

// isCanonicalKey reports whether textproto.CanonicalMIMEHeaderKey(k) == k,
// in one pass without a call for the usual key: one whose letters are
// upper-case at its start and after each '-' and lower-case elsewhere is
// its own canonical form (valid field name or not); any other key is
// left to CanonicalMIMEHeaderKey, which returns a key that is not a valid
// field name unchanged.
func isCanonicalKey(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return textproto.CanonicalMIMEHeaderKey(k) == k
		}
		upper = c == '-'
	}
	return true
}

// alignWire makes req go on the wire the same way over HTTP/1.1 and HTTP/2
// where a signature depends on it:
//
//   - Cookie (when covered): Go's HTTP/2 transport splits the Cookie lines
//     into crumbs at ';' (RFC 9113 §8.2.3) and the server joins them with
//     "; ", where RFC 9421 §2.1 joins field lines with ", ". The lines are
//     joined into the one line a user agent sends (RFC 6265 §5.4): the
//     crumbs, trimmed, empty ones dropped, separated by "; ", which both
//     protocols deliver unchanged.
//   - TransferEncoding chunked on a request without a body: HTTP/1.1 sends
//     an empty chunked body for http.NoBody (a body, for the verifier) and
//     HTTP/2 none; dropped, both send the request without a body.
//   - TransferEncoding chunked on a body of known length (when
//     content-length is covered): HTTP/1.1 sends no Content-Length and
//     HTTP/2, which ignores TransferEncoding, sends the length; the length
//     is made unknown (ContentLength -1), so neither sends it.
func (s *Signer) alignWire(req *http.Request) {
	if s.coversCookie {
		if vs := req.Header["Cookie"]; len(vs) > 1 || len(vs) == 1 && !isCookieLine(vs[0]) {
			if v := joinCookies(vs); v == "" {
				delete(req.Header, "Cookie")
			} else {
				req.Header["Cookie"] = []string{v}
			}
		}
	}
	if !slices.Contains(req.TransferEncoding, "chunked") {
		return
	}
	switch {
	case !hasBody(req):
		req.TransferEncoding = nil
	case s.coversLength && req.ContentLength > 0:
		req.ContentLength = -1
	}
}

// joinCookies joins Cookie field lines into one: their crumbs (the parts
// between ';'), trimmed of spaces and tabs, empty ones dropped, separated
// by "; ".
func joinCookies(lines []string) string {
	var b strings.Builder
	for _, line := range lines {
		for crumb := range strings.SplitSeq(line, ";") {
			crumb = trimOWS(crumb)
			if crumb == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(crumb)
		}
	}
	return b.String()
}

// isCookieLine reports whether v is already as joinCookies writes it.
func isCookieLine(v string) bool {
	return v != "" && joinCookies([]string{v}) == v
}

// hasBlankLine reports whether a line of lines is empty or only spaces
// and tabs.
func hasBlankLine(lines []string) bool {
	return slices.ContainsFunc(lines, isBlankLine)
}

func isBlankLine(v string) bool { return trimOWS(v) == "" }

// hasBody reports whether req has content to send.
func hasBody(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody
}

// checkDigest checks a Content-Digest the caller set against a fresh copy
// of the body (GetBody), or against empty content when req has no body (as
// a verifier does), so that a digest of other content (or one with no
// sha-256 or sha-512 member, which no verifier can check) is never signed:
// an error wrapping ErrDigestMismatch, or ErrMalformed when the field does
// not parse. Without GetBody a body cannot be read without consuming it,
// and the caller's digest is signed as it is. req.Body is never read.
func checkDigest(req *http.Request) error {
	var rc io.ReadCloser = http.NoBody
	var err error
	switch {
	case !hasBody(req):
	case req.GetBody == nil:
		return nil
	default:
		rc, err = bodyCopy(req)
	}
	if err != nil {
		return err
	}
	var src io.Reader = rc
	var counted *bodyCounter
	if hasBody(req) && req.ContentLength > 0 && !slices.Contains(req.TransferEncoding, "chunked") {
		counted = &bodyCounter{r: rc}
		src = counted
	}
	err = VerifyContentDigest(src, req.Header["Content-Digest"]...)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("signer: content digest: %w", cerr)
	}
	if err == nil && counted != nil && counted.n != req.ContentLength {
		err = errCopyLength(counted.n, req.ContentLength)
	}
	if err != nil {
		return fmt.Errorf("signer: the request's own Content-Digest: %w", err)
	}
	return nil
}

// bodyCopy returns a fresh copy of req's body from req.GetBody (not nil),
// refusing one that is not fresh: req.Body itself (what a GetBody
// returning the request's Body gives, or the body a wrapper of it, a
// layer's of the transport package, hands on: see reqbody.Wrapper), which
// reading for the digest would leave empty for the send, and a nil body.
// It is not read or closed then: req.Body is the caller's to send or
// close.
func bodyCopy(req *http.Request) (io.ReadCloser, error) {
	rc, notFresh, err := reqbody.Fresh(req)
	switch {
	case err != nil:
		return nil, fmt.Errorf("signer: content digest: GetBody: %w", err)
	case notFresh != "":
		return nil, fmt.Errorf("%w: %s: reading it for the digest would leave the request without its body (GetBody must return a new reader of the same bytes on every call)", ErrBodyNotReplayable, notFresh)
	}
	return rc, nil
}

// bodyCounter counts the bytes read through it.
type bodyCounter struct {
	r io.Reader
	n int64
}

func (c *bodyCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// errCopyLength is the error of a GetBody copy of n bytes for a request
// whose ContentLength is want: net/http sends want bytes of Body, or
// fails, so a digest of the copy is not of the body sent.
func errCopyLength(n, want int64) error {
	return fmt.Errorf("%w: GetBody returned %d bytes, but the request's ContentLength is %d: the digest would not be of the body sent (GetBody must return the same bytes as Body every time)", ErrDigestMismatch, n, want)
}

// addDigest streams a fresh copy of the body (GetBody) through the digest
// and sets Content-Digest. req.Body itself is never read.
func (s *Signer) addDigest(req *http.Request) error {
	_, err := s.addDigestLine(req)
	return err
}

// addDigestLine is addDigest, which also returns the lines it set
// Content-Digest to.
func (s *Signer) addDigestLine(req *http.Request) ([]string, error) {
	if req.GetBody == nil {
		return nil, ErrBodyNotReplayable
	}
	rc, err := bodyCopy(req)
	if err != nil {
		return nil, err
	}
	h := s.digest.getHash()
	defer s.digest.putHash(h)
	buf := getCopyBuf()
	defer putCopyBuf(buf)
	n, err := io.CopyBuffer(h, rc, *buf)
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("signer: content digest: %w", err)
	}
	if n != req.ContentLength && req.ContentLength > 0 && !slices.Contains(req.TransferEncoding, "chunked") {
		// net/http sends ContentLength bytes of Body, or fails: the
		// digest of this copy would not be of the body sent.
		return nil, errCopyLength(n, req.ContentLength)
	}
	// The digest is summed into the copy buffer, free now: an array on
	// the stack would escape through the interface call (64 B a call).
	// The buffer then holds the digest, sent in the field anyway.
	// The field's line and its value in one allocation (newFieldValues,
	// its second line unused): sha-256's 54 bytes and the line take one
	// 96 B block where the []string and the string took 16 and 64 B.
	sum := h.Sum((*buf)[:0])
	vals, out := newFieldValues(len(s.digest) + len("=::") + (len(sum)+2)/3*4)
	out = appendDigestMember(out, s.digest, sum)
	vals[0] = unsafe.String(unsafe.SliceData(out), len(out))
	req.Header["Content-Digest"] = vals[0:1:1]
	return vals[0:1:1], nil
}
