package client

import (
	"github.com/securecall/securecall/internal/configerr"
	"github.com/securecall/securecall/signer"
)

// WithSigner signs every request the client sends to its origins with s
// (RFC 9421 HTTP Message Signatures): a fresh created timestamp and nonce on
// every attempt, over the components s covers. Requests and redirect hops to
// any other origin are not signed. Requires WithOrigins. It cannot be
// combined with WithHMACSigning. Default: no signing.
func WithSigner(s *signer.Signer) Option {
	return requireValue("WithSigner", s, func(c *config, v *signer.Signer) { c.setSigner("WithSigner", v) })
}

// WithHMACSigning signs every request to the client's origins with the
// current key's algorithm (hmac-sha256 for a key of signer.NewHMACKey; an
// Ed25519 key, which keys may also hand out, signs with ed25519) and the
// default policy of signer.New: label "sig1", a 128-bit
// nonce, and the components signer.DefaultComponents (method, authority,
// path, query; content-digest when there is a body; content-type and
// authorization when present). keys supplies the current key on every
// attempt, so a rotation (signer.KeySet) takes effect without a restart.
// Requires WithOrigins. Use WithSigner for any other policy; the two
// cannot be combined.
func WithHMACSigning(keys signer.KeySource) Option {
	return optionFunc(func(c *config) {
		if configerr.IsNil(keys) {
			c.fail("WithHMACSigning", "nil signer.KeySource")
			return
		}
		s, err := signer.New(signer.Options{Keys: keys})
		if err != nil {
			c.errs = append(c.errs, &ConfigError{Option: "WithHMACSigning", Err: err})
			return
		}
		c.setSigner("WithHMACSigning", s)
	})
}

// setSigner records s, configured by option, or a *ConfigError when the
// other signing option already set a signer: the client signs with one
// policy, and one of the two would be silently dropped. The same option
// given again replaces the earlier one.
func (c *config) setSigner(option string, s *signer.Signer) {
	if c.signerOption != "" && c.signerOption != option {
		c.fail(option, "cannot be combined with %s: the client signs with one signer", c.signerOption)
		return
	}
	c.signer, c.signerOption = s, option
}
