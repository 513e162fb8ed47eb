package signer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/securecall/securecall/internal/configerr"
)

// Verifier defaults.
const (
	// DefaultMaxAge is how old a signature's created may be, on top of the
	// clock skew, when VerifierOptions.MaxAge is zero. Our signers sign
	// every attempt afresh, so the age is network latency, not backoff.
	DefaultMaxAge = 60 * time.Second
	// DefaultClockSkew is the tolerated difference between the signer's and
	// the verifier's clocks when VerifierOptions.ClockSkew is zero: created
	// may lie this far in the future, and expires is honoured this long
	// after it passes.
	DefaultClockSkew = 30 * time.Second
	// DefaultMaxBodySize is the largest body whose Content-Digest the
	// verifier checks when VerifierOptions.MaxBodySize is zero (10 MiB).
	// The body is buffered (up to this size) so the handler can still read
	// it after verification.
	DefaultMaxBodySize = 10 << 20
	// MaxNonceLength is the longest nonce a verifier accepts, in bytes; it
	// bounds what one replay-store entry can cost.
	MaxNonceLength = 128
	// MaxSignatures is the most signatures one request may carry. Each
	// costs a key lookup and a signature check (every signature is checked
	// once one is accepted, to claim its nonce too), so without a bound one
	// header block of a few thousand labels would cost thousands of them; a
	// request with more is refused as ErrMalformed before any is tried.
	MaxSignatures = 8
	// MaxComponents is the most components one signature may cover. The
	// work of parsing a Signature-Input member and building its signature
	// base grows with the number of components (each adds a line; the
	// fields and query they name are parsed once per request), so without
	// a bound one member of a 1 MiB header block could hold a hundred
	// thousand of them. A member with more is refused as ErrMalformed before its key
	// is looked up; New and NewVerifier refuse more (Options.Components,
	// VerifierOptions.Required) as a *ConfigError.
	MaxComponents = 64
	// MaxSignatureFieldSize is the most bytes the Signature-Input field
	// may hold, its lines joined, and likewise the Signature field. A
	// larger one is refused as ErrMalformed before it is parsed: parsing
	// allocates for every member, item and parameter, so a field near
	// net/http's 1 MiB header limit cost a second of CPU before
	// MaxSignatures or MaxComponents could be checked. 64 KiB holds
	// MaxSignatures members of MaxComponents components with long field
	// names, and MaxSignatures post-quantum-sized signatures.
	MaxSignatureFieldSize = 64 << 10
	// MaxStructuredFieldSize is the largest field, its lines joined, that
	// a verifier parses as a structured field for a ;key= or ;sf component
	// (before the MAC can be checked, so for anyone who knows a keyid).
	// A signature covering a larger one that way fails as ErrMalformed;
	// covered plainly, the field is not parsed and any size verifies.
	MaxStructuredFieldSize = 64 << 10
)

// VerifierOptions configures a Verifier. Only Keys is required; the zero
// value of every other field is the secure default.
type VerifierOptions struct {
	// Keys finds the verification key by keyid. The algorithm always comes
	// from the key; an alg parameter naming another algorithm is refused.
	// A nil pointer (a *KeySet never assigned) is a *ConfigError naming
	// this field, as is a KeySet not made by NewKeySet.
	Keys KeyLookup

	// KeyIDs, when not empty, restricts the accepted key ids further than
	// Keys does. An entry that is no key id (empty, as strings.Split of an
	// empty list gives, not printable ASCII, longer than MaxKeyIDLength)
	// would match no key: it is a *ConfigError naming KeyIDs[i].
	KeyIDs []string

	// Label, when set, is the only signature label verified (a
	// structured-field key of at most MaxLabelLength bytes). Empty: the
	// signatures are tried in order and the first that satisfies the whole
	// policy is accepted. Either way a request with more than MaxSignatures
	// signatures is refused (ErrMalformed), and a member the verifier
	// cannot use (an unsupported component, a parameter of the wrong type)
	// fails only as that signature: one under another label, added by a
	// proxy or another implementation, does not make it refuse the rest
	// (RFC 9421 §3.2). Signature-Input and Signature fields that do not
	// parse as Dictionaries, or are larger than MaxSignatureFieldSize, are
	// refused whole (ErrMalformed).
	Label string

	// Required lists the components a signature must cover, on every
	// request. Nil means DefaultRequired(); a non-nil empty slice requires
	// nothing beyond at least one component. At most MaxComponents. A
	// component marked IfPresent (as DefaultComponents' optional ones are)
	// is a *ConfigError naming Required[i]: it would be required on
	// requests without it too.
	Required []Component

	// AllowUnsignedBody accepts requests with a body whose signature does
	// not cover content-digest. Default false: a request with a body must
	// cover content-digest, and the digest is checked against the body.
	// "content-digest";sf, "content-digest";bs and a ;key= naming sha-256
	// or sha-512 cover it too (a ;key= naming another algorithm does not:
	// that member is never checked). A signature covering it is checked
	// against the body whatever this option says.
	AllowUnsignedBody bool

	// Tag, when set, must equal the signature's tag parameter. As
	// Options.Tag, at most MaxTagLength bytes of printable ASCII (what a
	// tag parameter can carry); any other is a *ConfigError naming this
	// field.
	Tag string

	// MaxAge bounds how old created may be (plus ClockSkew). Zero means
	// DefaultMaxAge. MaxAge + 2×ClockSkew must fit in a time.Duration, and
	// MaxAge + ClockSkew be at least a second (created has whole seconds).
	MaxAge time.Duration

	// ClockSkew is the clock difference tolerated. Zero means
	// DefaultClockSkew; use a tiny positive value for "none".
	ClockSkew time.Duration

	// AllowMissingNonce accepts signatures without a nonce, which then
	// cannot be checked for replay within the window. A request accepted
	// under such a signature claims the nonces of its other signatures
	// only when they verify (anyone replaying it could add ones that do
	// not, with fresh nonces). Default false.
	AllowMissingNonce bool

	// Nonces is the replay store. Nil means a new MemoryNonceStore of
	// DefaultNonceCapacity owned by this Verifier, whose MaxRetention is
	// DefaultNonceMaxRetention or two windows, 2 × (MaxAge + 2 ×
	// ClockSkew), if longer. A store that is a RetentionLimiter (a
	// MemoryNonceStore, a fleet.NonceStore) whose MaxRetention is shorter
	// than two windows is a *ConfigError naming this field, and so is a
	// nil pointer (a *MemoryNonceStore never assigned).
	Nonces NonceStore

	// MaxBodySize caps the body read to check Content-Digest. Zero means
	// DefaultMaxBodySize. A larger body fails with ErrBodyTooLarge.
	MaxBodySize int64

	// Scheme overrides the scheme used for @scheme, @target-uri and the
	// default-port rule of @authority ("https" behind a TLS-terminating
	// proxy). Empty: "https" when the request arrived over TLS, else
	// "http". A request received with an absolute-form target (at a
	// forward proxy) takes the scheme of that target instead.
	Scheme string

	// StructuredFields declares the structured type of fields signed with
	// the sf parameter that are not registered structured fields, by
	// lower-case field name. A name that is no field name or not in lower
	// case ("X-List", which no component would find: every signature
	// covering the field would fail), or a type other than SFItem, SFList
	// and SFDictionary, is a *ConfigError naming this field.
	StructuredFields map[string]FieldType

	// Clock is the time source of Middleware. Nil means time.Now. Verify
	// takes the time as an argument.
	Clock func() time.Time

	// ErrorHandler writes Middleware's response when verification fails.
	// Nil means DefaultErrorHandler.
	ErrorHandler func(w http.ResponseWriter, r *http.Request, err error)
}

// DefaultRequired returns the components a Verifier requires by default:
// @method, @authority, @path and @query (plus content-digest for requests
// with a body, unless VerifierOptions.AllowUnsignedBody).
func DefaultRequired() []Component {
	return []Component{Method, Authority, Path, Query}
}

// Verifier checks RFC 9421 signatures on incoming requests against a
// policy: covered components, accepted keys, a created window with clock
// skew, expires, tag, content digest and nonce replay. It is safe for
// concurrent use.
type Verifier struct {
	keys              KeyLookup
	keyIDs            []string
	label             string
	required          []Component
	allowUnsignedBody bool
	tag               string
	maxAge, skew      time.Duration
	allowMissingNonce bool
	nonces            NonceStore
	maxBody           int64
	scheme            string
	sfTypes           map[string]FieldType
	clock             func() time.Time
	onError           func(http.ResponseWriter, *http.Request, error)
	// acceptSig is Middleware's Accept-Signature value for a request
	// without a body [0] and with one [1] (acceptSignature).
	acceptSig [2]string
}

// NewVerifier validates opts and returns a Verifier. Invalid options are a
// *ConfigError naming the field.
func NewVerifier(opts VerifierOptions) (*Verifier, error) {
	if opts.Keys == nil {
		return nil, &ConfigError{Option: "VerifierOptions.Keys", Reason: "a KeyLookup is required"}
	}
	if configerr.IsNil(opts.Keys) {
		return nil, &ConfigError{Option: "VerifierOptions.Keys", Reason: fmt.Sprintf("a nil %T", opts.Keys)}
	}
	if err := configerr.Unconstructed("VerifierOptions.Keys", opts.Keys); err != nil {
		return nil, err
	}
	if opts.Nonces != nil {
		if configerr.IsNil(opts.Nonces) {
			return nil, &ConfigError{Option: "VerifierOptions.Nonces", Reason: fmt.Sprintf("a nil %T (leave Nonces nil for a MemoryNonceStore of the Verifier's own)", opts.Nonces)}
		}
		if err := configerr.Unconstructed("VerifierOptions.Nonces", opts.Nonces); err != nil {
			return nil, err
		}
	}
	v := &Verifier{
		keys: opts.Keys, keyIDs: slices.Clone(opts.KeyIDs), label: opts.Label,
		allowUnsignedBody: opts.AllowUnsignedBody, tag: opts.Tag,
		maxAge: opts.MaxAge, skew: opts.ClockSkew, allowMissingNonce: opts.AllowMissingNonce,
		nonces: opts.Nonces, maxBody: opts.MaxBodySize, scheme: opts.Scheme,
		sfTypes: maps.Clone(opts.StructuredFields), clock: opts.Clock, onError: opts.ErrorHandler,
	}
	if len(v.label) > MaxLabelLength {
		return nil, &ConfigError{Option: "VerifierOptions.Label", Reason: "label is " + strconv.Itoa(len(v.label)) + " bytes, longer than MaxLabelLength (" + strconv.Itoa(MaxLabelLength) + ")"}
	}
	if v.label != "" && !validSFKey(v.label) {
		return nil, &ConfigError{Option: "VerifierOptions.Label", Reason: "not a structured-field key"}
	}
	if err := checkTag("VerifierOptions.Tag", v.tag); err != nil {
		return nil, err
	}
	if err := checkStructuredFields("VerifierOptions.StructuredFields", v.sfTypes); err != nil {
		return nil, err
	}
	for i, id := range v.keyIDs {
		// No key has such an id: the entry would accept nothing, and alone
		// ([]string{""}, strings.Split of an empty list) refuse every
		// request.
		if err := checkKeyID(id); err != nil {
			ce := err.(*ConfigError) // "keyID: ..." names NewHMACKey's argument
			return nil, &ConfigError{Option: "VerifierOptions.KeyIDs[" + strconv.Itoa(i) + "]", Reason: ce.Reason + ": it matches no key"}
		}
	}
	v.required = opts.Required
	if v.required == nil {
		v.required = DefaultRequired()
	}
	v.required = slices.Clone(v.required)
	if len(v.required) > MaxComponents {
		return nil, &ConfigError{Option: "VerifierOptions.Required", Reason: "more than " + strconv.Itoa(MaxComponents) + " components (MaxComponents)"}
	}
	for i, c := range v.required {
		if err := c.validate(); err != nil {
			return nil, &ConfigError{Option: "VerifierOptions.Required[" + strconv.Itoa(i) + "]", Err: err}
		}
		if err := checkKeyMember(c); err != nil {
			return nil, &ConfigError{Option: "VerifierOptions.Required[" + strconv.Itoa(i) + "]", Err: err}
		}
		if coversSignatureFields(c, "") {
			return nil, &ConfigError{Option: "VerifierOptions.Required[" + strconv.Itoa(i) + "]",
				Reason: c.id + " covers the whole field a signature is added to, which no signature can cover; require another label's member (FieldKey(\"signature\", label)) instead"}
		}
		if c.optional {
			// Required on every request whatever the flag says: a GET
			// without the field would be refused.
			return nil, &ConfigError{Option: "VerifierOptions.Required[" + strconv.Itoa(i) + "]",
				Reason: c.id + " is marked IfPresent, which a Verifier cannot honour: every Required component must be covered on every request (content-digest on a request with a body is required unless AllowUnsignedBody)"}
		}
	}
	for _, o := range []struct {
		name     string
		negative bool
	}{{"MaxAge", v.maxAge < 0}, {"ClockSkew", v.skew < 0}, {"MaxBodySize", v.maxBody < 0}} {
		if o.negative {
			return nil, &ConfigError{Option: "VerifierOptions." + o.name, Reason: "must not be negative"}
		}
	}
	if v.maxAge == 0 {
		v.maxAge = DefaultMaxAge
	}
	if v.skew == 0 {
		v.skew = DefaultClockSkew
	}
	if v.maxBody == 0 {
		v.maxBody = DefaultMaxBodySize
	}
	// The window, MaxAge + 2×ClockSkew, is added to times: a sum that
	// wraps around would accept every created and remember no nonce.
	if v.skew > (math.MaxInt64-v.maxAge)/2 {
		return nil, &ConfigError{Option: "VerifierOptions.MaxAge", Reason: "MaxAge + 2×ClockSkew overflows a time.Duration"}
	}
	// created has whole seconds: a request signed 0.9 s into a second
	// says it was signed 0.9 s earlier, so a shorter window refuses
	// requests verified at the instant they were signed.
	if v.maxAge+v.skew < time.Second {
		return nil, &ConfigError{Option: "VerifierOptions.MaxAge", Reason: "MaxAge + ClockSkew is " + (v.maxAge + v.skew).String() +
			", under a second: created has whole seconds, so such a window refuses valid requests signed late in a second"}
	}
	switch v.scheme {
	case "", "http", "https":
	default:
		return nil, &ConfigError{Option: "VerifierOptions.Scheme", Reason: "must be \"\", \"http\" or \"https\""}
	}
	// The furthest ahead a nonce is claimed: another signature's window
	// ending two verifier windows from now (claimAll).
	horizon := time.Duration(math.MaxInt64)
	if w := v.maxAge + 2*v.skew; w <= math.MaxInt64/2 {
		horizon = 2 * w
	}
	if v.nonces == nil {
		v.nonces = newMemoryNonceStore(DefaultNonceCapacity, max(DefaultNonceMaxRetention, horizon))
	} else if rl, ok := v.nonces.(RetentionLimiter); ok && rl.MaxRetention() < horizon {
		return nil, &ConfigError{Option: "VerifierOptions.Nonces", Reason: "the store's MaxRetention (" + rl.MaxRetention().String() +
			") is shorter than two verifier windows, 2 × (MaxAge + 2 × ClockSkew) = " + horizon.String() + ", the furthest ahead a nonce is claimed: every such claim would be refused"}
	}
	if v.clock == nil {
		v.clock = time.Now
	}
	if v.onError == nil {
		v.onError = DefaultErrorHandler
	}
	v.acceptSig = [2]string{v.acceptSignature(false), v.acceptSignature(true)}
	return v, nil
}

// acceptSignature returns the Accept-Signature field value (RFC 9421
// §5.1) that asks for a signature this verifier accepts, on a request
// with a body or without: one member, labelled Label (DefaultLabel when
// any label is accepted), covering the Required components (and
// content-digest for a body, unless AllowUnsignedBody), with created and
// the Tag. keyid is left out (the verifier may accept several keys, and
// does not name them to an unauthenticated caller), as is nonce: in a
// request for a signature its value is the nonce to sign with, while the
// verifier wants one the signer draws afresh. It is "" (no field) when
// there is no component to ask for (Required empty, and no body or
// AllowUnsignedBody): a signature covering none is refused.
func (v *Verifier) acceptSignature(body bool) string {
	label := v.label
	if label == "" {
		label = DefaultLabel
	}
	b := append([]byte(label), "=("...)
	for i, c := range v.required {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, c.id...)
	}
	if body && !v.allowUnsignedBody && !slices.ContainsFunc(v.required, coversContentDigest) {
		if len(v.required) > 0 {
			b = append(b, ' ')
		}
		b = append(b, `"content-digest"`...)
	}
	if len(v.required) == 0 && b[len(b)-1] == '(' {
		// No component to ask for: a signature covering none is refused
		// (ErrMissingComponent), so "sig1=();created" would ask for one
		// this verifier refuses. No field: the 401's challenge stands.
		return ""
	}
	b = append(b, ");created"...)
	if v.tag != "" {
		b = append(b, ";tag="...)
		b = appendSFString(b, v.tag)
	}
	return string(b)
}

// Result describes a verified signature.
type Result struct {
	Label      string
	KeyID      string
	Algorithm  Algorithm // the key's algorithm
	Components []Component
	Created    time.Time
	Expires    time.Time // zero when absent
	Nonce      string
	Tag        string
}

// Verify checks the signatures of r, a received request, as of now. On
// success it returns the accepted signature and has recorded its nonce, and
// the nonces of the request's other signatures under an accepted key that
// pass every check of the policy, now or, when their created is more than
// ClockSkew ahead, once their window opens, whether or not they verify on
// this copy (only those that verify when the accepted signature has no
// nonce, see claimAll) (so no copy of the request, nor the message as sent when this
// copy was altered in what only another signature covers, can be replayed
// under another of its signatures; a request with another signature whose window
// ends more than two verifier windows from now is refused as ErrFuture
// (as ErrReplay when the accepted signature's nonce is already held: see
// replayedBefore),
// one with another signature whose key lookup
// failed is refused as ErrUnavailable, one with another signature
// covering content-digest whose body could not be read whole as
// ErrBodyUnreadable or ErrBodyTooLarge, each as ErrReplay when the
// accepted signature's nonce is already held); otherwise it returns a
// *VerifyError wrapping the sentinel for the failure. When the signature covers content-digest, Verify reads the body
// (at most MaxBodySize) to check it and replaces r.Body with the buffered
// copy, so a handler can still read it; when the nonce store is a
// NonceChecker, a signature whose nonce it already holds is refused
// (ErrReplay) before the body is read.
//
// now is the time Verify is called. When it read the body, the accepted
// signature's window must not have ended by now plus the time the body
// took to arrive, its nonce claimed (ErrStale, ErrExpired): a sender can
// draw a body out as long as it likes, and a nonce store need not hold a
// nonce past its window, so a replay that started inside the window and
// sent its body slowly would otherwise be accepted.
func (v *Verifier) Verify(r *http.Request, now time.Time) (*Result, error) {
	start := time.Now()
	res, _, err := v.verify(r, now, func() time.Time { return now.Add(time.Since(start)) }, nil)
	return res, err
}

// verify is Verify with clock timing the read of the body. outer, when
// not nil, is the verdict of a Middleware of v further out on the request's
// way: a nonce it claimed is not claimed again (see Middleware). An
// accepted request's claims are returned, for an inner Middleware.
func (v *Verifier) verify(r *http.Request, now time.Time, clock func() time.Time, outer *verdict) (*Result, claims, error) {
	if v.keys == nil {
		return nil, claims{}, zeroErr(errZeroVerifier)
	}
	ins, sigs := r.Header.Values("Signature-Input"), r.Header.Values("Signature")
	if len(ins) == 0 || len(sigs) == 0 {
		return nil, claims{}, &VerifyError{Err: ErrMissingSignature}
	}
	// The Dictionaries must parse (RFC 8941 §4.2); a member that parses but
	// cannot be used fails only as that signature (RFC 9421 §3.2: the
	// verifier chooses the signature, then parses its parameters).
	inputs, err := parseInputMembers(ins)
	if err != nil {
		return nil, claims{}, &VerifyError{Err: err}
	}
	sigMap, err := parseSignatureMembers(sigs)
	if err != nil {
		return nil, claims{}, &VerifyError{Err: err}
	}
	if len(inputs) > MaxSignatures {
		return nil, claims{}, &VerifyError{Err: ErrMalformed, Detail: "more than " + strconv.Itoa(MaxSignatures) + " signatures"}
	}
	vs := verifyState{r: r, clock: clock, outer: outer}
	var firstErr error
	tried := 0
	for i := range inputs {
		in := &inputs[i].in
		if v.label != "" && in.Label != v.label {
			continue
		}
		tried++
		res, err := v.verifyMember(&vs, &inputs[i], sigMap, now, false)
		if err == nil {
			if err := v.claimAll(&vs, inputs, i, sigMap, now); err != nil {
				return nil, claims{}, err
			}
			return res, vs.got, nil
		}
		if errors.Is(err, ErrReplay) {
			// It verified, its nonce already held (seenEarly): refused
			// as the claim would have refused it.
			return nil, claims{}, err
		}
		if firstErr == nil || errors.Is(firstErr, ErrUnknownKey) && !errors.Is(err, ErrUnknownKey) {
			firstErr = err
		}
	}
	if tried == 0 {
		return nil, claims{}, &VerifyError{Label: v.label, Err: ErrMissingSignature}
	}
	return nil, claims{}, firstErr
}

// claimAll claims the nonce of the accepted signature inputs[accepted], then
// those of the message's other signatures that this verifier would accept
// on their own, whatever their label (labels are not signed: any of them
// could be presented under VerifierOptions.Label). Otherwise a message
// signed twice with accepted keys (old and new key during a rotation, a
// client's and a proxy's signature) could be replayed once per signature,
// each copy stripped down to one not yet claimed. That includes a
// signature not covering content-digest (refused here only because the
// request has a body: a copy stripped down to it and sent without the
// body would be accepted), and one whose created is more than ClockSkew
// ahead (its signer's clock
// runs fast): refused now (ErrFuture), a copy stripped down to it would be
// accepted once the clock reaches its window, so if it passes every other
// check of the policy, its nonce is claimed until the end of its own
// window (claimUntil), if that ends at most two verifier windows (MaxAge +
// 2×ClockSkew) from now; if it ends later, the request is refused as
// ErrFuture, so no signer's created can make an entry outlive that (a
// replay, its accepted nonce held, as ErrReplay: replayedBefore). And one
// that passes the policy but not its MAC, a covered component or the
// digest on this copy (the message as sent, altered on the way in what
// only it covers, would pass); but not when the accepted signature has no
// nonce (AllowMissingNonce): such a request can be replayed as it is, so
// every replay would reach this claim, and anyone could add signatures
// that do not verify, with fresh nonces, to each; only those that verify
// are claimed then. Only a request with a signature that
// verifies claims anything, at most one entry per signature
// (MaxSignatures), and only under keys the verifier accepts.
// A (keyid, nonce) pair
// is claimed once: two signatures of one request that share it (one nonce
// per request, two labels) are one fresh request, not a replay; it is
// held until the latest end of their windows, so that no copy stripped
// down to the signature with the longer window is accepted once the
// shorter one has ended. When the key lookup of another signature fails
// (ErrUnavailable), or another signature covers content-digest and the
// body cannot be read (ErrBodyUnreadable) or is over the cap
// (ErrBodyTooLarge), the request is refused with that error: the verifier
// cannot tell whether that signature's nonce must be claimed; but a
// replay, the accepted signature's nonce held, as ErrReplay
// (replayedBefore).
//
// The accepted signature is then refused as stale or expired if its
// window has ended by now plus the time the body took to arrive (which an
// attacker sending it slowly can draw out past any window): the store may
// have dropped the nonce of the request it was captured from by then.
func (v *Verifier) claimAll(vs *verifyState, inputs []inputMember, accepted int, sigMap map[string]sigMember, now time.Time) error {
	ctx := vs.r.Context()
	ok := uint64(1) << accepted // len(inputs) <= MaxSignatures
	verified := ok              // those of ok that verified on this copy
	// No nonce is held past two verifier windows from now, whatever the
	// created a signer put in its signature (a year ahead would otherwise
	// hold its entry for a year: a MemoryNonceStore filled for good by a
	// key holder, a Redis store growing without bound).
	horizon := now.Add(v.maxAge + 2*v.skew).Add(v.maxAge + 2*v.skew)
	// The accepted signature has no nonce (AllowMissingNonce): this copy
	// can be replayed anyway, and each replay reaches the claims below,
	// so only signatures that verify on it (a key holder's) are claimed.
	// One that does not could have been added by anyone, with a fresh
	// nonce on every replay, filling the store without a key.
	replayable := inputs[accepted].in.Nonce == ""
	for j := range inputs {
		if j != accepted {
			_, err := v.verifyMember(vs, &inputs[j], sigMap, now, true)
			// A signature that passes the policy but not its MAC, a
			// covered component or the digest on this copy may pass on
			// another: the message as sent, whose covered components
			// were altered on the way to this copy, which the accepted
			// signature does not cover.
			claim := err == nil || vs.policyOK && !replayable
			switch {
			case errors.Is(err, ErrUnavailable):
				// Whether it would be accepted is unknown: accepting the
				// request without claiming its nonce would let a copy
				// stripped down to it through once the backend is back.
				// But a replay of an accepted request is refused as one
				// (anyone can add a signature naming a key id the lookup
				// fails on), not as an outage a client is asked to retry.
				if rerr := v.replayedBefore(vs, &inputs[accepted].in, now); rerr != nil {
					return rerr
				}
				return err
			case errors.Is(err, ErrBodyUnreadable), errors.Is(err, ErrBodyTooLarge):
				// It verified but for the body (checked last), which could
				// not be read whole: whether a copy stripped down to it, its
				// body intact, would be accepted is unknown, and what was
				// read is gone, so the handler would get a body missing
				// its beginning. A replay (a captured request sent with
				// its body cut short) is refused as one.
				if rerr := v.replayedBefore(vs, &inputs[accepted].in, now); rerr != nil {
					return rerr
				}
				return err
			case claim && v.claimUntil(&inputs[j].in).After(horizon):
				// Its nonce cannot be held until its window ends, and a
				// copy stripped down to it must not pass then: refused,
				// but a replay of an accepted request as one (anyone can
				// add such a signature: it need not verify).
				if err := v.replayedBefore(vs, &inputs[accepted].in, now); err != nil {
					return err
				}
				in := &inputs[j].in
				return &VerifyError{Label: in.Label, KeyID: in.KeyID, Err: ErrFuture,
					Detail: "another signature's window ends more than two verifier windows (MaxAge + 2×ClockSkew) ahead: its nonce cannot be held that long"}
			case claim:
				ok |= 1 << j
				if err == nil {
					verified |= 1 << j
				}
			}
		}
	}
	var claimed uint64
	claimPair := func(i int) error {
		in := &inputs[i].in
		until := v.claimUntil(in)
		here := verified&(1<<i) != 0
		for j := range inputs {
			if ok&(1<<j) != 0 && in.Nonce != "" && inputs[j].in.Nonce == in.Nonce && inputs[j].in.KeyID == in.KeyID {
				claimed |= 1 << j
				here = here || verified&(1<<j) != 0
				if u := v.claimUntil(&inputs[j].in); u.After(until) {
					until = u
				}
			}
		}
		if vs.outer.claimed(in, here) {
			// The outer pass of this Verifier claimed it for the
			// request in whose context this one is served.
			return nil
		}
		return v.claim(ctx, in, now, until)
	}
	if err := claimPair(accepted); err != nil {
		return err
	}
	for j := range inputs {
		if ok&(1<<j) == 0 || claimed&(1<<j) != 0 {
			continue
		}
		if err := claimPair(j); err != nil {
			return err
		}
	}
	// The body may have taken long to arrive: once the accepted
	// signature's window has ended, the store may have dropped the nonce
	// of the request it was captured from, so the claim above proves no
	// freshness (a replay is still reported as one, the claims coming
	// first).
	in := &inputs[accepted].in
	if until := v.claimUntil(in); vs.bodyRead && now.Add(vs.bodyTook).After(until) {
		err := ErrStale
		if !in.Expires.IsZero() && until.Equal(in.Expires.Add(v.skew)) {
			err = ErrExpired
		}
		return &VerifyError{Label: in.Label, KeyID: in.KeyID, Err: err,
			Detail: "the signature's window ended while the request was received"}
	}
	vs.got = claims{inputs: inputs, ok: ok, verified: verified}
	return nil
}

// verifyState carries what one Verify call reads once: the fields and
// query its signatures cover, parsed; the buffered body, or the error that
// kept it from being read. The error is kept so that a
// later signature (another label, possibly the same signature copied under
// it) fails the same way instead of checking its digest against an empty
// buffer while the unread body goes on to the handler.
type verifyState struct {
	r        *http.Request
	body     []byte
	bodyRead bool
	bodyErr  error
	// clock reads the time, and bodyTook is how long the body took to
	// arrive by it (the window is checked again with it, see claimAll).
	clock    func() time.Time
	bodyTook time.Duration
	parsed   parseCache // the fields and query the signature bases need
	outer    *verdict   // see verify
	got      claims     // the claims of the accepted request
	// policyOK is whether the last member verified passed every check
	// of the policy (key, coverage, parameters), whatever its MAC,
	// components and digest then made of it (claimAll).
	policyOK bool
}

// verifyMember verifies one Signature-Input member; one that could not be
// parsed is refused as malformed. With later, the member is judged as a
// copy of the request stripped down to it would be (claimAll): a created
// more than ClockSkew ahead of now is not refused (ErrFuture), as it would
// not be once its window opens, nor a member not covering content-digest
// of a request with a body, as it would not be in a copy sent without the
// body.
func (v *Verifier) verifyMember(vs *verifyState, m *inputMember, sigMap map[string]sigMember, now time.Time, later bool) (*Result, error) {
	vs.policyOK = false
	if m.err != nil {
		return nil, &VerifyError{Label: m.in.Label, Err: m.err}
	}
	return v.verifyOne(vs, &m.in, sigMap, now, later)
}

func (v *Verifier) verifyOne(vs *verifyState, in *SignatureInput, sigMap map[string]sigMember, now time.Time, later bool) (*Result, error) {
	r := vs.r
	fail := func(err error, detail string) (*Result, error) {
		return nil, &VerifyError{Label: in.Label, KeyID: in.KeyID, Detail: detail, Err: err}
	}
	sm, ok := sigMap[in.Label]
	if !ok {
		return fail(ErrMissingSignature, "no Signature member for the label")
	}
	if sm.err != nil {
		return fail(sm.err, "")
	}
	sig := sm.sig
	if len(in.Components) == 0 {
		return fail(ErrMissingComponent, "signature covers no components")
	}

	// Key and algorithm: from our own key material, never from alg.
	if in.KeyID == "" {
		return fail(ErrUnknownKey, "no keyid")
	}
	if len(v.keyIDs) > 0 && !slices.Contains(v.keyIDs, in.KeyID) {
		return fail(ErrUnknownKey, "key id not accepted")
	}
	key, err := v.keys.LookupKey(r.Context(), in.KeyID)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return fail(ErrUnknownKey, "")
		}
		return fail(fmt.Errorf("%w: %w", ErrUnavailable, err), "key lookup")
	}
	if key == nil {
		return fail(ErrUnknownKey, "")
	}
	if key.id != in.KeyID {
		// A custom KeyLookup answered the id with another key (a default
		// for ids it does not know): the request would be accepted under
		// the id it names, which is what the result reports.
		return fail(ErrUnknownKey, "the key lookup returned a key of another id")
	}
	if in.Alg != "" && in.Alg != key.alg {
		return fail(ErrAlgorithmMismatch, "alg "+strconv.Quote(string(in.Alg))+", key is "+string(key.alg))
	}

	// Policy on what is covered.
	for i := range v.required {
		if !covers(in.Components, &v.required[i]) {
			return fail(ErrMissingComponent, "required "+v.required[i].id+" not covered")
		}
	}
	coversDigest := slices.ContainsFunc(in.Components, coversContentDigest)
	if !later && !v.allowUnsignedBody && serverHasBody(r) && !coversDigest {
		return fail(ErrMissingComponent, "request has a body but content-digest is not covered")
	}

	// Parameters.
	if v.tag != "" {
		if in.Tag == "" {
			return fail(ErrMissingParameter, "tag")
		}
		if in.Tag != v.tag {
			return fail(ErrTagMismatch, "")
		}
	}
	if in.Created.IsZero() {
		return fail(ErrMissingParameter, "created")
	}
	if !later && in.Created.After(now.Add(v.skew)) {
		return fail(ErrFuture, "")
	}
	if in.Created.Before(now.Add(-v.maxAge - v.skew)) {
		return fail(ErrStale, "")
	}
	if !in.Expires.IsZero() {
		if in.Expires.Before(in.Created) {
			return fail(ErrMalformed, "expires before created")
		}
		if now.After(in.Expires.Add(v.skew)) {
			return fail(ErrExpired, "")
		}
	}
	if in.Nonce == "" && !v.allowMissingNonce {
		return fail(ErrMissingParameter, "nonce")
	}
	if len(in.Nonce) > MaxNonceLength {
		return fail(ErrMalformed, "nonce longer than "+strconv.Itoa(MaxNonceLength)+" bytes")
	}

	vs.policyOK = true

	// Signature base and cryptographic check.
	scheme := v.scheme
	if t := r.RequestURI; t != "" && t[0] != '/' && r.URL != nil && r.URL.Scheme != "" {
		// absolute-form: the target URI is the request target (RFC 9110
		// §7.1), whatever the connection it came on or Scheme says.
		scheme = strings.ToLower(r.URL.Scheme)
	}
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	m := message{req: r, scheme: scheme, sfTypes: v.sfTypes, isServer: true, cache: &vs.parsed}
	base := make([]byte, 0, 512)
	for i := range in.Components {
		base, err = m.appendLines(base, &in.Components[i])
		if err != nil {
			if errors.Is(err, ErrMissingComponent) {
				return fail(ErrMissingComponent, in.Components[i].id+" absent from the request")
			}
			return fail(err, "")
		}
	}
	base = append(base, `"@signature-params": `...)
	base = append(base, in.params...)
	if !key.verify(base, sig) {
		return fail(ErrInvalidSignature, "")
	}

	// The digest is authentic now (covered and verified): check the body,
	// unless the nonce is already held (a replay, refused without reading it).
	if coversDigest {
		if !later && !vs.bodyRead {
			if err := v.seenEarly(vs, in, now); err != nil {
				return nil, err
			}
		}
		if err := v.checkBody(vs); err != nil {
			var ve *VerifyError
			if errors.As(err, &ve) {
				ve.Label, ve.KeyID = in.Label, in.KeyID
				return nil, ve
			}
			return fail(err, "")
		}
	}
	return &Result{
		Label: in.Label, KeyID: in.KeyID, Algorithm: key.alg,
		Components: in.Components, Created: in.Created, Expires: in.Expires,
		Nonce: in.Nonce, Tag: in.Tag,
	}, nil
}

// replayedBefore returns ErrReplay when in, the accepted signature of a
// request about to be refused for another of its signatures (ErrFuture,
// ErrUnavailable, ErrBodyUnreadable, ErrBodyTooLarge: see claimAll), has
// a nonce the store already holds: the request is a replay, and is
// reported as one, as a request refused as stale is once its claims are
// made. A NonceChecker is asked, which records nothing; another store can
// tell only by the claim, which records the nonce (the request, refused,
// is not to be sent again: its sender signs afresh). A pair an outer
// Middleware pass claimed is no replay of this request. Any other answer
// leaves the refusal as it was.
func (v *Verifier) replayedBefore(vs *verifyState, in *SignatureInput, now time.Time) error {
	if in.Nonce == "" || vs.outer.claimed(in, true) {
		return nil
	}
	ctx := vs.r.Context()
	if nc, ok := v.nonces.(NonceChecker); ok {
		if seen, err := nc.Seen(ctx, in.KeyID, in.Nonce, now); err == nil {
			if seen {
				return &VerifyError{Label: in.Label, KeyID: in.KeyID, Err: ErrReplay, Detail: "nonce already used"}
			}
			return nil
		}
	}
	if err := v.claim(ctx, in, now, v.claimUntil(in)); errors.Is(err, ErrReplay) {
		return err
	}
	return nil
}

// seenEarly refuses in, a signature that has verified and whose body is
// yet to be read, as a replay when the nonce store is a NonceChecker that
// holds its (keyid, nonce) already: the claim would refuse it once the
// body had been read. Nothing is recorded; a store that cannot be asked,
// and a pair an outer Middleware pass claimed (whether that claim stands
// for this request is claimAll's to decide), leave it to the claim.
func (v *Verifier) seenEarly(vs *verifyState, in *SignatureInput, now time.Time) error {
	nc, ok := v.nonces.(NonceChecker)
	if !ok || in.Nonce == "" || vs.outer.claimed(in, false) {
		return nil
	}
	if seen, err := nc.Seen(vs.r.Context(), in.KeyID, in.Nonce, now); err != nil || !seen {
		return nil
	}
	return &VerifyError{Label: in.Label, KeyID: in.KeyID, Err: ErrReplay, Detail: "nonce already used (refused before the body was read)"}
}

// coversContentDigest reports whether a signature covering c covers the
// Content-Digest field so that, the digest checked against the body, the
// body is covered: "content-digest" as it is, re-serialised strictly (;sf,
// RFC 9421 §2.1.1: every member, as the verifier parses them to check
// them), or each line wrapped as a byte sequence (;bs, §2.1.3: every byte
// of every line); or one member (;key="...", §2.1.2) when it is a sha-256
// or sha-512 member: the verifier checks every member of those algorithms
// against the body, so the signed one must match it, whatever unsigned
// members were added. A member of another algorithm (md5, sha-384) is never
// checked, so covering it alone does not cover the body: an unsigned
// sha-256 member beside it could describe any body.
func coversContentDigest(c Component) bool {
	return c.kind == kindField && c.name == "content-digest" &&
		(!c.hasKey || DigestAlgorithm(c.key).size() != 0)
}

func covers(list []Component, c *Component) bool {
	for i := range list {
		if list[i].Equal(*c) {
			return true
		}
	}
	return false
}

func serverHasBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
}

// checkBody reads the body once (capped), restores it for the handler, and
// checks it against Content-Digest.
func (v *Verifier) checkBody(vs *verifyState) error {
	r := vs.r
	if !vs.bodyRead {
		vs.bodyRead = true
		t0 := vs.clock()
		vs.bodyErr = v.readBody(vs)
		vs.bodyTook = vs.clock().Sub(t0)
	}
	if vs.bodyErr != nil {
		var ve *VerifyError
		if errors.As(vs.bodyErr, &ve) {
			// A fresh copy: the caller fills in Label and KeyID.
			return &VerifyError{Detail: ve.Detail, Err: ve.Err}
		}
		return vs.bodyErr
	}
	ds, err := ParseContentDigest(r.Header.Values("Content-Digest")...)
	if err != nil {
		return err
	}
	return verifyDigests(ds, bytes.NewReader(vs.body))
}

// readBody buffers r.Body (at most maxBody bytes) into vs.body and puts a
// reader of the copy in its place.
func (v *Verifier) readBody(vs *verifyState) error {
	r := vs.r
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	if r.ContentLength > v.maxBody {
		return &VerifyError{Err: ErrBodyTooLarge}
	}
	// One byte past the cap tells a body over it from one at it; a cap of
	// math.MaxInt64 has no byte past it (and maxBody+1 would wrap to a
	// negative limit, reading every body as empty).
	limit := v.maxBody
	if limit < math.MaxInt64 {
		limit++
	}
	body, err := readCapped(r.Body, r.ContentLength, limit)
	if err != nil {
		// A server cap in front of the verifier (http.MaxBytesReader) is
		// a body too large, not a bad signature: 413, not 401.
		if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &VerifyError{Err: fmt.Errorf("%w: %w", ErrBodyTooLarge, mbe)}
		}
		// Any other read failure (a connection reset, a truncated body)
		// says nothing about the signature: 400, not 401.
		return &VerifyError{Err: fmt.Errorf("%w: %w", ErrBodyUnreadable, err)}
	}
	if int64(len(body)) > v.maxBody {
		return &VerifyError{Err: ErrBodyTooLarge}
	}
	vs.body = body
	r.Body = io.NopCloser(bytes.NewReader(vs.body))
	return nil
}

// firstBodyBuffer is the most readCapped allocates before any of the body
// has arrived.
const firstBodyBuffer = 64 << 10

// readCapped reads body to EOF or to limit bytes, whichever comes first.
// Its buffer grows with what arrives (doubling), never ahead of it to a
// declared length: Content-Length is not covered by default, so anyone
// replaying a captured signed request (its nonce is claimed after the body
// is checked) may declare MaxBodySize and send nothing. length, when not
// negative, only keeps the doubling from overshooting a body that has it:
// the buffer of such a body ends at length+1, to see the EOF.
func readCapped(body io.Reader, length, limit int64) ([]byte, error) {
	size := min(int64(firstBodyBuffer), limit)
	if length >= 0 && length < size {
		size = length + 1
	}
	buf := make([]byte, 0, size)
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			next := max(2*int64(cap(buf)), firstBodyBuffer)
			if length >= int64(len(buf)) && next >= length {
				next = length + 1
			}
			grown := make([]byte, len(buf), min(next, limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// claimUntil is the end of in's window: after it, in is refused as stale
// or expired, so its nonce need not be remembered.
func (v *Verifier) claimUntil(in *SignatureInput) time.Time {
	until := in.Created.Add(v.maxAge + v.skew)
	if !in.Expires.IsZero() {
		if e := in.Expires.Add(v.skew); e.Before(until) {
			until = e
		}
	}
	return until
}

// claim records in's (keyid, nonce) in the nonce store until until.
func (v *Verifier) claim(ctx context.Context, in *SignatureInput, now, until time.Time) error {
	if in.Nonce == "" {
		return nil
	}
	if err := v.nonces.Claim(ctx, in.KeyID, in.Nonce, now, until); err != nil {
		switch {
		case errors.Is(err, ErrReplay):
			err = ErrReplay
		case errors.Is(err, ErrBeyondRetention):
			// The signature's window ends too far ahead for the store
			// (a store of someone else's that NewVerifier could not
			// check): refused, as the caller's doing.
		case !errors.Is(err, ErrNonceStoreFull):
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return &VerifyError{Label: in.Label, KeyID: in.KeyID, Err: err}
	}
	return nil
}

type resultKey struct{}

// verdict is what a Middleware put in the request's context: the Verifier
// that accepted the request, the signature it accepted, the nonces it
// claimed for it, and the verdict of an outer Middleware, if any.
type verdict struct {
	v    *Verifier
	res  *Result
	prev *verdict
	claims
}

// claims are the nonces a Verifier claimed for a request (or found claimed
// by an outer pass): those of the members of inputs whose bit is set in
// ok. verified holds the bits of those that verified on the request; the
// others passed the policy only (claimAll).
type claims struct {
	inputs   []inputMember
	ok       uint64
	verified uint64
}

// verdictOf returns the verdict of a Middleware of v that wraps the one
// serving ctx's request, or nil.
func verdictOf(ctx context.Context, v *Verifier) *verdict {
	d, _ := ctx.Value(resultKey{}).(*verdict)
	for ; d != nil; d = d.prev {
		if d.v == v {
			return d
		}
	}
	return nil
}

// claimed reports whether d (possibly nil) holds in's (keyid, nonce) for
// this request. here is whether a signature under that pair verifies on
// this request: then the outer pass's claim stands for it only if one
// verified on the outer request too. One that passed only the policy
// there (claimed because another message, stripped down to it, would
// pass) and verifies here makes this request that other message, whose
// nonce the outer pass claimed: a replay, which a handler's sub-requests
// carrying the outer request's header would otherwise get through once
// each.
func (d *verdict) claimed(in *SignatureInput, here bool) bool {
	if d == nil || in.Nonce == "" {
		return false
	}
	for j := range d.inputs {
		if d.ok&(1<<j) != 0 && d.inputs[j].in.KeyID == in.KeyID && d.inputs[j].in.Nonce == in.Nonce &&
			(!here || d.verified&(1<<j) != 0) {
			return true
		}
	}
	return false
}

// Middleware returns a handler that verifies every request with Verify
// (time from VerifierOptions.Clock, also timing the read of the body:
// see Verify) before calling next, and answers
// through VerifierOptions.ErrorHandler when verification fails. next finds
// the accepted signature with ResultFromContext.
//
// Every request is verified, also one served in the context of a request
// a Middleware of the same Verifier (the same *Verifier) has accepted
// further out on its way (a router-level and a handler-level wrap): the
// inner pass checks the signatures again over the request it is given
// (components, MAC, window, the body, which the outer pass buffered,
// against Content-Digest), and only does not claim again a (keyid, nonce)
// the outer pass claimed, which would refuse the request as a replay of
// itself; but one the outer pass claimed for a signature that passed the
// policy without verifying on its request (see Verify) is claimed again
// when a signature under it verifies on this one, this request being the
// other message that claim was made against (a replay). The verdict is not taken from the context alone: a handler
// builds its own requests (a batch endpoint's sub-requests, an internal
// re-dispatch through the mux) with r.Context(), and such a request is
// accepted only if it carries a signature that verifies for it (the
// outer's, copied, verifies only when every component it covers is the
// same). Tying the verdict to the request value or its Header map would
// not do: routers hand on shallow copies (r.WithContext), and a handler
// may reuse the Header map for a request to another path. The cost is a
// second verification on a double-wrapped request; a request wrapped once
// costs what it did. A Middleware of another Verifier claims the nonces
// itself, even one made by NewVerifier with the same options: one
// Verifier's claims never stand for another's nonce store. Wrap twice
// with one Verifier value.
//
// When the signature is refused (any failure but ErrBodyTooLarge,
// ErrBodyUnreadable, ErrNonceStoreFull and ErrUnavailable, which say
// nothing about it), the response gets an Accept-Signature field (RFC 9421
// §5.1) before ErrorHandler runs: it asks for a signature labelled Label
// (DefaultLabel when Label is empty) covering the Required components, and
// content-digest when the request had a body (unless AllowUnsignedBody),
// with created and, when set, the Tag; never a keyid or a nonce. It tells
// a client that the answer is about the signature, and what a fresh one
// must cover. An ErrorHandler may delete it.
//
// On a zero Verifier (not made by NewVerifier) the handler answers every
// request with 500 Internal Server Error and never calls next.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	if v.keys == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		res, rec, err := v.verify(r, v.clock(), v.clock, verdictOf(ctx, v))
		if err != nil {
			if signatureRefused(err) {
				body := 0
				if serverHasBody(r) {
					body = 1
				}
				if a := v.acceptSig[body]; a != "" {
					w.Header()["Accept-Signature"] = []string{a}
				}
			}
			v.onError(w, r, err)
			return
		}
		prev, _ := ctx.Value(resultKey{}).(*verdict)
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, resultKey{}, &verdict{v: v, res: res, prev: prev, claims: rec})))
	})
}

// ResultFromContext returns the signature Middleware accepted: that of the
// innermost Middleware around the caller when several Verifiers' wrap it.
func ResultFromContext(ctx context.Context) (*Result, bool) {
	d, ok := ctx.Value(resultKey{}).(*verdict)
	if !ok {
		return nil, false
	}
	return d.res, true
}

// signatureRefused reports whether err, a verification failure, refuses
// the signature, rather than saying the body could not be checked or the
// key lookup or nonce store failed.
func signatureRefused(err error) bool {
	return !errors.Is(err, ErrBodyTooLarge) && !errors.Is(err, ErrBodyUnreadable) &&
		!errors.Is(err, ErrNonceStoreFull) && !errors.Is(err, ErrUnavailable)
}

// ChallengeScheme is the auth-scheme of the WWW-Authenticate challenge
// DefaultErrorHandler sends with its 401: "Signature". RFC 9110 §15.5.2
// requires a challenge on every 401, and RFC 9421 registers no scheme for
// HTTP message signatures (they travel in Signature-Input and Signature,
// not in Authorization); "Signature" is the name the draft RFC 9421
// replaced (draft-cavage-http-signatures) gave its challenge. A client
// that sent a bearer token sees a challenge that is not "Bearer" (RFC
// 6750 §3), so it knows its token was not what was refused: the transport
// package's auth layer keeps its token then.
const ChallengeScheme = "Signature"

// DefaultErrorHandler answers a failed verification with 401 Unauthorized
// and the challenge "WWW-Authenticate: Signature" (ChallengeScheme),
// 413 Content Too Large for ErrBodyTooLarge, 400 Bad Request for
// ErrBodyUnreadable, or 503 Service Unavailable
// (Retry-After: 1) when the nonce store is full or a key lookup or nonce
// store failed (ErrUnavailable). The body is the status text only: the
// reason is not disclosed to the caller (neither by the challenge, which
// has no parameters). Middleware adds Accept-Signature to the 401.
func DefaultErrorHandler(w http.ResponseWriter, _ *http.Request, err error) {
	code := http.StatusUnauthorized
	switch {
	case errors.Is(err, ErrBodyTooLarge):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrBodyUnreadable):
		code = http.StatusBadRequest
	case errors.Is(err, ErrNonceStoreFull), errors.Is(err, ErrUnavailable):
		code = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	default:
		w.Header()["Www-Authenticate"] = []string{ChallengeScheme}
	}
	http.Error(w, http.StatusText(code), code)
}
