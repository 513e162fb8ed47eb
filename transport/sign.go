package transport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dunglas/httpsfv"

	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/signer"
)

// SignConfig configures the sign layer (NewSign).
type SignConfig struct {
	// Signer signs each attempt: its key source, covered components
	// (signer.DefaultComponents unless set), label, parameters and nonce
	// source. Its parameters must include created and nonce, which the
	// layer renews on every attempt. Required.
	Signer *signer.Signer

	// Scope decides, on every RoundTrip, whether the request's URL (and its
	// Host, when that names another authority, as for AuthConfig.Scope) may
	// receive a signature. A request outside it (a redirect hop to another
	// origin, say) is passed on untouched and unsigned. Required; an empty
	// Origins is refused, as is an *EgressPolicy without an allowlist
	// (it allows every host). An Origins is copied at NewSign: changing
	// the caller's slice afterwards does not change the scope.
	Scope Scope

	// Clock returns the signing time (the created parameter). Nil means
	// time.Now (under a retry layer with RetryConfig.SharedClock, the
	// attempt's shared reading, which is renewed after every wait). One
	// that panics (a bug in it) has the request's body closed, and its
	// panic goes on.
	Clock func() time.Time
}

// NewSign returns the sign layer: for each request whose URL cfg.Scope
// allows, it signs the attempt's own request (Own: the per-attempt clone
// inside a stack, a clone of its own when used standalone, never the
// caller's request) with cfg.Signer, as of cfg.Clock, and passes it to next.
//
// It belongs inside the retry loop, per attempt: every attempt and every
// redirect hop gets a fresh created and nonce, so a verifier's replay store
// never mistakes a retry for a replay, and a signature made for one hop is
// never presented on another. The covered components are the Signer's
// fixed list, never "all headers": headers added by layers closer to the
// wire (trace context) are not covered. A body is never read: the
// Content-Digest is computed from a fresh GetBody copy, so a request with a
// body but no GetBody (or one returning the request's own Body, not a
// fresh copy) fails with signer.ErrBodyNotReplayable; a
// Content-Digest the request carries is checked against such a copy (empty
// content for a request without a body), and one that does not match fails
// with signer.ErrDigestMismatch. The exception is a request with a body,
// no GetBody and a Content-Digest of its own (a stream whose digest the
// caller computed beforehand): its body cannot be read without consuming
// it, and that digest is signed as it is (see signer.Options.Components).
//
// A request that cannot be signed is not sent: RoundTrip closes its body
// and returns an error wrapping the signer's.
//
// Two sign layers of one stack need two labels. When next is a sign layer
// whose Signer has cfg.Signer's label, NewSign returns a *ConfigError
// naming SignConfig.Signer; one further down, behind other layers, is not
// seen here, and its requests fail with signer.ErrLabelInUse (or, when
// the process built seven other sign layers, or 15, ..., between the two,
// the lower one replaces the upper one's signature: see signLayer.bit).
//
// The Signer's KeySource gets the attempt's context without the attempt
// and its call's state, as an AuthConfig.Source does: a key it fetches
// over a stack of this package's layers is a call of its own.
func NewSign(next http.RoundTripper, cfg SignConfig) (http.RoundTripper, error) {
	if err := checkNext(next); err != nil {
		return nil, err
	}
	if cfg.Signer == nil {
		return nil, configErrorf("SignConfig.Signer", nil, "a *signer.Signer is required")
	}
	if err := configerr.Unconstructed("SignConfig.Signer", cfg.Signer); err != nil {
		return nil, err
	}
	params := cfg.Signer.Params()
	if !slices.Contains(params, signer.ParamCreated) || !slices.Contains(params, signer.ParamNonce) {
		return nil, configErrorf("SignConfig.Signer", nil, "the signer's parameters must include created and nonce, renewed on every attempt")
	}
	if below, ok := next.(*signLayer); ok && below.signer.Label() == cfg.Signer.Label() {
		return nil, configErrorf("SignConfig.Signer", nil, "label %q is the label of the sign layer next is: the two signatures would collide on every request", cfg.Signer.Label())
	}
	scope, err := ownScope("SignConfig.Scope", cfg.Scope, "signatures", "nothing would be signed")
	if err != nil {
		return nil, err
	}
	// A nil Clock: the attempt's clock (its shared reading under
	// RetryConfig.SharedClock, else time.Now).
	return &signLayer{next: orDefault(next), signer: cfg.Signer, scope: scope, clock: cfg.Clock,
		bit: 1 << (signLayers.Add(1) % 8)}, nil
}

type signLayer struct {
	next   http.RoundTripper
	signer *signer.Signer
	scope  Scope
	clock  func() time.Time // nil: the attempt's clock
	// bit marks the requests this layer signed in Attempt.signed: one of
	// eight, given out in turn to the sign layers a process builds. Two
	// layers of one stack share a bit only when the process built seven
	// others between them; such a layer may then take a signature under
	// its label that a layer inside the attempt set after the other one
	// signed for one of its own earlier pass, and replace it (as every
	// sign layer did before session 17) instead of refusing it.
	bit uint8
}

// signLayers counts the sign layers built, to give each its bit.
var signLayers atomic.Uint32

// errSign marks a failure to sign a request: nothing was sent, so it says
// nothing about the host (Classify: permanent, not a breaker failure).
var errSign = errors.New("transport: sign")

func (l *signLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	if !scopeAllows(l.scope, req) {
		return nextAnswer(l.next.RoundTrip(req))
	}
	return l.send(req)
}

// send signs req, which the caller has found in the layer's scope, and
// sends it to next. Besides RoundTrip, a credential layer whose next is
// this layer and whose scope is the same origin list calls it directly
// with the request it has just found in scope (credLayer.sign): the same
// destination, so the check is not made twice.
func (l *signLayer) send(req *http.Request) (*http.Response, error) {
	r := Own(req)
	a := ownAttempt(r)
	l.dropOwnSignature(r, a)
	// The KeySource gets the context without the attempt and the call's
	// state, as a token source does (detached): a key it fetches over a
	// stack of this package's layers (a secret manager's client) is a
	// call of its own, not a send of this call.
	if err := l.sign(detached(r.Context(), a), a, r, req); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("%w: %w", errSign, err)
	}
	if a != nil {
		a.signed |= l.bit
	}
	MarkAuth(r.Context(), AuthHMAC)
	return nextAnswer(l.next.RoundTrip(r))
}

// sign signs r, req's attempt request (of attempt a), not handed on yet,
// as of the layer's clock: a panic of the caller's Clock or of the
// signer's KeySource (a bug in either) goes on unchanged, but req's body
// is closed first, as RoundTrip must on every path.
func (l *signLayer) sign(ctx context.Context, a *Attempt, r *http.Request, req *http.Request) error {
	returned := false
	defer func() {
		if !returned {
			closeBody(req)
		}
	}()
	var now time.Time
	if l.clock != nil {
		now = l.clock()
	} else {
		now = a.clock()
	}
	err := l.signer.Sign(ctx, r, now)
	returned = true
	return err
}

// dropOwnSignature removes, before re-signing, the signature this layer put
// on the attempt's request in an earlier pass within the same attempt: an
// inner replay (the auth layer's single retry after a 401) sends the request
// through the layer again, and the new send needs a new created and nonce.
// Only a signature under the layer's label that the attempt's source request
// (the caller's) did not carry is removed; a caller's own signature under
// the same label is left alone, so the signer still reports the collision,
// as it does for one an inner layer set before this layer signed the
// attempt's request (also when another sign layer, under another label,
// had). a is r's attempt (ownAttempt(r)); a request that no
// sign layer has signed in its attempt carries no signature of ours, and
// its header is not looked at (~150 instructions a signature).
func (l *signLayer) dropOwnSignature(r *http.Request, a *Attempt) {
	if a == nil || a.signed&l.bit == 0 {
		return
	}
	// r.Header.Get("Signature-Input") without Get's canonicalisation of a
	// key that is already canonical (~480 instructions a signature).
	if si := r.Header["Signature-Input"]; len(si) == 0 || si[0] == "" {
		return
	}
	label := l.signer.Label()
	if dictHas(a.sourceHeader().Values("Signature-Input"), label) {
		return
	}
	for _, name := range [...]string{"Signature-Input", "Signature"} {
		dict, err := httpsfv.UnmarshalDictionary(r.Header.Values(name))
		if err != nil || !dict.Del(label) {
			continue
		}
		if len(dict.Names()) == 0 {
			r.Header.Del(name)
			continue
		}
		v, err := httpsfv.Marshal(dict)
		if err != nil {
			continue
		}
		r.Header.Set(name, v)
	}
}

// dictHas reports whether the structured-field dictionary in values has key.
func dictHas(values []string, key string) bool {
	if len(values) == 0 {
		return false
	}
	dict, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return false
	}
	_, ok := dict.Get(key)
	return ok
}
