package transport

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/securecall/securecall/signer"
)

// SignConfig configures the sign layer (NewSign).
type SignConfig struct {
	// Signer signs each attempt: its key source, covered components
	// (signer.DefaultComponents unless set), label, parameters and nonce
	// source. Its parameters must include created and nonce, which the
	// layer renews on every attempt. Required.
	Signer *signer.Signer

	// Scope decides, on every RoundTrip, whether the request's URL may
	// receive a signature. A request outside it (a redirect hop to another
	// origin, say) is passed on untouched and unsigned. Required; an empty
	// Origins is refused.
	Scope Scope

	// Clock returns the signing time (the created parameter). Nil means
	// time.Now.
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
// body but no GetBody fails with signer.ErrBodyNotReplayable.
//
// A request that cannot be signed is not sent: RoundTrip closes its body
// and returns an error wrapping the signer's.
func NewSign(next http.RoundTripper, cfg SignConfig) (http.RoundTripper, error) {
	if cfg.Signer == nil {
		return nil, configErrorf("SignConfig.Signer", nil, "a *signer.Signer is required")
	}
	params := cfg.Signer.Params()
	if !slices.Contains(params, signer.ParamCreated) || !slices.Contains(params, signer.ParamNonce) {
		return nil, configErrorf("SignConfig.Signer", nil, "the signer's parameters must include created and nonce, renewed on every attempt")
	}
	if cfg.Scope == nil {
		return nil, configErrorf("SignConfig.Scope", nil, "a Scope is required: signatures go only to the origins it allows")
	}
	if o, ok := cfg.Scope.(Origins); ok && len(o) == 0 {
		return nil, configErrorf("SignConfig.Scope", nil, "empty origin list: nothing would be signed")
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	return &signLayer{next: orDefault(next), signer: cfg.Signer, scope: cfg.Scope, clock: clock}, nil
}

type signLayer struct {
	next   http.RoundTripper
	signer *signer.Signer
	scope  Scope
	clock  func() time.Time
}

func (l *signLayer) RoundTrip(req *http.Request) (*http.Response, error) {
	if !l.scope.Allows(req.URL) {
		return l.next.RoundTrip(req)
	}
	r := Own(req)
	if err := l.signer.Sign(r.Context(), r, l.clock()); err != nil {
		closeBody(req)
		return nil, fmt.Errorf("transport: sign: %w", err)
	}
	return l.next.RoundTrip(r)
}
