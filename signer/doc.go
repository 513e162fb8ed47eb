// Package signer implements RFC 9421 HTTP Message Signatures for requests
// (hmac-sha256 and ed25519), RFC 9530 Content-Digest, and a Verifier for
// the receiving side with a clock-skew window and a nonce replay store.
//
// # Signing
//
// A Signer is configured once (Options: key source, covered components,
// parameters, label) and signs each request with an explicit time:
//
//	s, err := signer.New(signer.Options{Keys: signer.StaticKey(key)})
//	...
//	err = s.Sign(ctx, req, time.Now()) // adds Signature-Input and Signature
//
// Every Sign draws a fresh nonce (crypto/rand by default, 128 bits) and
// uses the time given for created, so a retried request is never signed
// twice with the same parameters. When content-digest is covered and the
// request has a body, Sign computes Content-Digest by streaming a fresh copy
// of the body from GetBody through the hash: it never reads Request.Body and
// never holds a copy of the content.
//
// The default components (DefaultComponents) are @method, @authority, @path,
// @query, content-digest when the request has a body, and content-type and
// authorization when present (a Content-Type on a request without a body is
// covered too). Signatures never cover "all headers".
// Field lines set under a non-canonical key (req.Header["x-api-key"]),
// which net/http sends as well, are first moved to the canonical key, so
// the signature covers every line of a field that is sent.
//
// The transport package's sign layer runs a Signer inside the retry loop,
// once per attempt, and only for the origins it is scoped to.
//
// # Keys
//
// Keys are *Key values (NewHMACKey, NewEd25519Key, NewEd25519PublicKey)
// that never print their material. A KeySource supplies the signing key on
// every request and a KeyLookup finds verification keys by keyid; KeySet is
// both, and rotates keys without downtime.
//
// # Verifying
//
// A Verifier checks a received request: the covered components against its
// policy, the key by keyid (the algorithm comes from the key; a conflicting
// alg is refused), created within MaxAge and ClockSkew, expires, tag, the
// MAC in constant time, Content-Digest against the body (size-capped), and
// finally the nonce against a NonceStore (a store that is a NonceChecker,
// as MemoryNonceStore is, is asked before the body is read, so a replay's
// body is not read; the nonce is recorded only at the end). Failures are *VerifyError values
// wrapping one sentinel (ErrMissingSignature, ErrInvalidSignature,
// ErrUnknownKey, ErrStale, ErrFuture, ErrExpired, ErrReplay,
// ErrDigestMismatch, ErrMissingComponent, ...). Use Verify directly or
// Middleware around an http.Handler. Middleware's 401 carries the challenge
// "WWW-Authenticate: Signature" (ChallengeScheme) and an RFC 9421 §5.1
// Accept-Signature naming the label, components and parameters a fresh
// signature must have, so that a client that also sent a bearer token
// knows the token was not what was refused.
//
// # Conformance
//
// The tests reproduce the RFC 9421 Appendix B.2.5 (hmac-sha256) and B.2.6
// (ed25519) signatures byte for byte, verify the published headers, and
// check every RFC 9530 digest vector, rejecting the published values that
// are wrong (see testdata/vectors/README.md).
package signer
