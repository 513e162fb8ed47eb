package tokens

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/securecall/securecall/internal/ascii"
)

// DefaultAssertionLifetime is how long a private_key_jwt client assertion
// is valid (its exp minus its iat). Each token request gets a new one.
const DefaultAssertionLifetime = time.Minute

// assertionBackdate is how far before the token request a client
// assertion's iat and nbf are set (half its Lifetime when that is
// shorter): a token endpoint whose clock runs behind ours would otherwise
// see an assertion not valid yet (nbf) or issued in the future (iat), and
// one that allows no leeway refuses it (invalid_client). x/oauth2's jws
// sets iat 10 s back for the same reason (Google's token endpoint refuses
// an iat in the future).
const assertionBackdate = 10 * time.Second

// clientAssertionType is RFC 7523 §2.2's client_assertion_type.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientAuth is how a client authenticates at the token endpoint
// (RFC 6749 §2.3, RFC 7523 §2.2). Build one with ClientSecretBasic,
// ClientSecretPost or PrivateKeyJWT.
type ClientAuth interface {
	// Method returns the registered name of the method
	// (token_endpoint_auth_method): "client_secret_basic",
	// "client_secret_post" or "private_key_jwt".
	Method() string
	validate() error
	prepare(ctx context.Context, tokenURL, clientID string) (authParams, error)
}

type authParams struct {
	secret string
	style  oauth2.AuthStyle
	extra  url.Values
}

// ClientSecretBasic authenticates with the client secret in an HTTP Basic
// Authorization header (the RFC 6749 default). secret is called for every
// token request, so a rotated secret in a store is picked up: use
// FromStore(cachedStore, key), or StaticSecret. A secret that is empty or
// has a control character (the trailing newline of a value provisioned
// with echo; no client secret has one, RFC 6749 Appendix A.2) is not
// sent: the token request fails with an error matching ErrNoToken that
// never quotes it.
func ClientSecretBasic(secret SecretFunc) ClientAuth {
	return secretAuth{secret: secret, style: oauth2.AuthStyleInHeader}
}

// ClientSecretPost authenticates with client_id and client_secret in the
// form body, the secret checked as ClientSecretBasic's is. Prefer
// ClientSecretBasic unless the server requires this.
func ClientSecretPost(secret SecretFunc) ClientAuth {
	return secretAuth{secret: secret, style: oauth2.AuthStyleInParams}
}

type secretAuth struct {
	secret SecretFunc
	style  oauth2.AuthStyle
}

func (a secretAuth) Method() string {
	if a.style == oauth2.AuthStyleInHeader {
		return "client_secret_basic"
	}
	return "client_secret_post"
}

func (a secretAuth) validate() error {
	if a.secret == nil {
		return configErr("Auth", "%s without a secret", a.Method())
	}
	return nil
}

func (a secretAuth) prepare(ctx context.Context, _, _ string) (authParams, error) {
	b, err := a.secret(ctx)
	if err != nil {
		return authParams{}, fmt.Errorf("tokens: read client secret: %w", err)
	}
	s := string(b)
	clear(b)
	if s == "" {
		return authParams{}, fmt.Errorf("tokens: client secret is empty: %w", ErrNoToken)
	}
	if ascii.HasCTL(s) {
		// No client secret (*VSCHAR, RFC 6749 Appendix A.2): the server
		// would answer invalid_client, as if the client were gone. The
		// secret is not quoted.
		return authParams{}, fmt.Errorf("tokens: client secret has a control character (a trailing newline?), which no client secret has (RFC 6749 Appendix A.2): %w", ErrNoToken)
	}
	return authParams{secret: s, style: a.style}, nil
}

// PrivateKeyJWTConfig configures PrivateKeyJWT.
type PrivateKeyJWTConfig struct {
	// Key returns the PEM-encoded private key: "PRIVATE KEY" (PKCS #8),
	// "RSA PRIVATE KEY" (PKCS #1) or "EC PRIVATE KEY" (SEC 1). It is called
	// for every token request, so a key rotated in the store is picked up;
	// the parsed key is kept while the PEM bytes stay the same. Use
	// FromStore(cachedStore, key). Exactly one of Key and Signer is set.
	Key SecretFunc
	// Signer is the private key itself: *rsa.PrivateKey (2048 bits or
	// more, RFC 7518 §3.3), *ecdsa.PrivateKey or ed25519.PrivateKey. An
	// ed25519.PrivateKey is copied by PrivateKeyJWT, so the caller may
	// clear its own afterwards; an *rsa.PrivateKey or *ecdsa.PrivateKey
	// is used as it is.
	Signer crypto.Signer
	// KeyID is the "kid" header, naming the key in the client's JWK set.
	KeyID string
	// Algorithm is the JWS algorithm. Default by key: RS256 for RSA,
	// ES256/ES384/ES512 by curve for ECDSA, EdDSA for Ed25519. PS256,
	// PS384, PS512, RS384 and RS512 may be chosen for RSA keys.
	Algorithm string
	// Audience is the "aud" claim, sent as a single string. Set it to the
	// authorization server's issuer identifier when the server accepts it
	// (draft-ietf-oauth-rfc7523bis, after the 2025 audience-injection
	// advisories). Default: the token endpoint URL, which RFC 7523 allows
	// and every server accepts.
	Audience string
	// Lifetime is exp minus iat, whole seconds (at least one; a shorter
	// positive Lifetime is a *ConfigError). iat and nbf are 10 s before
	// the token request (half the Lifetime in whole seconds when that is
	// shorter), so that
	// a token endpoint whose clock runs behind ours accepts the
	// assertion; it then expires Lifetime after them. Default
	// DefaultAssertionLifetime.
	Lifetime time.Duration
}

// PrivateKeyJWT authenticates with a JWT client assertion signed by the
// client's private key (RFC 7523 §2.2, OpenID Connect private_key_jwt):
// iss and sub are the client id, aud the Audience, iat and nbf 10 s before
// the token request (clock skew: see PrivateKeyJWTConfig.Lifetime), and
// every token request gets a fresh assertion with a new random jti and a
// short exp. The
// ClientAuth prints (every fmt verb, slog, JSON) its method and KeyID only,
// never the key.
func PrivateKeyJWT(cfg PrivateKeyJWTConfig) ClientAuth {
	if k, ok := cfg.Signer.(ed25519.PrivateKey); ok {
		// A byte slice: the caller may wipe or reuse its copy.
		cfg.Signer = ed25519.PrivateKey(bytes.Clone(k))
	}
	return &jwtAuth{&jwtState{cfg: cfg}}
}

// jwtAuth keeps its state behind a pointer: an Ed25519 key (the configured
// Signer, or the one parsed from Key) is a byte slice, which fmt would
// print by reflection from a struct that holds a jwtAuth in an unexported
// field, where it cannot call Format. Reflection shows only an address.
type jwtAuth struct{ *jwtState }

type jwtState struct {
	cfg PrivateKeyJWTConfig

	mu      sync.Mutex
	pemHash [32]byte
	parsed  crypto.Signer
}

// Format implements fmt.Formatter: every verb prints the method and the key
// id, never the key.
func (a *jwtAuth) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, a.describe())
}

// LogValue implements slog.LogValuer: the method and the key id only.
func (a *jwtAuth) LogValue() slog.Value { return slog.StringValue(a.describe()) }

// MarshalJSON writes the description as a JSON string, never the key.
func (a *jwtAuth) MarshalJSON() ([]byte, error) { return json.Marshal(a.describe()) }

func (a *jwtAuth) describe() string {
	if a == nil || a.jwtState == nil {
		return "tokens.PrivateKeyJWT(nil)"
	}
	return "tokens.PrivateKeyJWT{kid=" + strconv.Quote(a.cfg.KeyID) + "}"
}

func (a *jwtAuth) Method() string { return "private_key_jwt" }

func (a *jwtAuth) validate() error {
	switch {
	case (a.cfg.Key == nil) == (a.cfg.Signer == nil):
		return configErr("PrivateKeyJWTConfig", "set exactly one of Key and Signer")
	case a.cfg.Lifetime < 0:
		return configErr("PrivateKeyJWTConfig.Lifetime", "negative duration %v", a.cfg.Lifetime)
	case a.cfg.Lifetime > 0 && a.cfg.Lifetime < time.Second:
		// iat and exp are whole seconds: exp would equal iat.
		return configErr("PrivateKeyJWTConfig.Lifetime", "%v is under a second, the resolution of iat and exp", a.cfg.Lifetime)
	}
	if a.cfg.Signer != nil {
		if _, err := signingMethod(a.cfg.Signer, a.cfg.Algorithm); err != nil {
			return &ConfigError{Option: "PrivateKeyJWTConfig.Signer", Err: err}
		}
	} else if a.cfg.Algorithm != "" && !asymmetricAlgs[a.cfg.Algorithm] {
		return configErr("PrivateKeyJWTConfig.Algorithm", "algorithm %q is not one of RS256/384/512, PS256/384/512, ES256/384/512, EdDSA", a.cfg.Algorithm)
	}
	return nil
}

func (a *jwtAuth) prepare(ctx context.Context, tokenURL, clientID string) (authParams, error) {
	key, err := a.signer(ctx)
	if err != nil {
		return authParams{}, err
	}
	assertion, err := a.assertion(key, tokenURL, clientID, time.Now())
	if err != nil {
		return authParams{}, err
	}
	return authParams{
		style: oauth2.AuthStyleInParams, // client_id in the body, no secret
		extra: url.Values{
			"client_assertion_type": {clientAssertionType},
			"client_assertion":      {assertion},
		},
	}, nil
}

// signer returns the configured key, parsing (and caching) the PEM.
func (a *jwtAuth) signer(ctx context.Context) (crypto.Signer, error) {
	if a.cfg.Signer != nil {
		return a.cfg.Signer, nil
	}
	b, err := a.cfg.Key(ctx)
	if err != nil {
		return nil, fmt.Errorf("tokens: read private key: %w", err)
	}
	defer clear(b)
	h := sha256.Sum256(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.parsed != nil && h == a.pemHash {
		return a.parsed, nil
	}
	k, err := ParsePrivateKey(b)
	if err != nil {
		return nil, err
	}
	if _, err := signingMethod(k, a.cfg.Algorithm); err != nil {
		return nil, err
	}
	a.parsed, a.pemHash = k, h
	return k, nil
}

func (a *jwtAuth) assertion(key crypto.Signer, tokenURL, clientID string, now time.Time) (string, error) {
	method, err := signingMethod(key, a.cfg.Algorithm)
	if err != nil {
		return "", err
	}
	life := a.cfg.Lifetime
	if life == 0 {
		life = DefaultAssertionLifetime
	}
	aud := a.cfg.Audience
	if aud == "" {
		aud = tokenURL
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("tokens: client assertion jti: %w", err)
	}
	// A token endpoint whose clock runs behind ours must not see the
	// assertion as not valid yet or issued in the future: iat and nbf are
	// set back (assertionBackdate), exp is iat plus the lifetime.
	// Whole seconds, as iat and exp are: a one-second lifetime is not
	// set back at all (it would expire before it is sent).
	iat := now.Unix() - int64(min(assertionBackdate, life/2)/time.Second)
	t := jwt.NewWithClaims(method, jwt.MapClaims{
		"iss": clientID,
		"sub": clientID,
		"aud": aud, // a single string, not an array (rfc7523bis)
		"iat": iat,
		// nbf = iat (RFC 7523 §3 MAY; Microsoft Entra ID lists it, MSAL
		// sets it to the current time): a server that requires it
		// refused an assertion without.
		"nbf": iat,
		"exp": iat + int64(life/time.Second),
		"jti": base64.RawURLEncoding.EncodeToString(jti[:]),
	})
	if a.cfg.KeyID != "" {
		t.Header["kid"] = a.cfg.KeyID
	}
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("tokens: sign client assertion: %w", err)
	}
	return s, nil
}

// errKeyType: the private key's type cannot sign a client assertion.
var errKeyType = errors.New("tokens: unsupported private key type (want RSA, ECDSA P-256/P-384/P-521 or Ed25519)")

// asymmetricAlgs are the JWS algorithms signingMethod allows for some key
// type: with a Key, the key type is known only at the first token request,
// but an Algorithm outside this set ("none", HMAC) fits no key.
var asymmetricAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

// minRSABits is the smallest RSA modulus RFC 7518 §3.3 and §3.5 allow for
// RS* and PS* ("a key of size 2048 bits or larger MUST be used").
const minRSABits = 2048

// errRSAKeySize: the RSA key is too short for a JWS signature.
var errRSAKeySize = errors.New("tokens: RSA private key shorter than 2048 bits (RFC 7518 §3.3)")

// signingMethod picks (or checks) the JWS algorithm for key.
func signingMethod(key crypto.Signer, alg string) (jwt.SigningMethod, error) {
	var def string
	var allowed []string
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N == nil || k.N.BitLen() < minRSABits {
			return nil, errRSAKeySize
		}
		def, allowed = "RS256", []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			def = "ES256"
		case elliptic.P384():
			def = "ES384"
		case elliptic.P521():
			def = "ES512"
		default:
			return nil, errKeyType
		}
		allowed = []string{def}
	case ed25519.PrivateKey:
		def, allowed = "EdDSA", []string{"EdDSA"}
	default:
		return nil, errKeyType
	}
	if alg == "" {
		alg = def
	}
	for _, a := range allowed {
		if a == alg {
			return jwt.GetSigningMethod(alg), nil
		}
	}
	return nil, fmt.Errorf("tokens: algorithm %q does not fit the private key (allowed %v)", alg, allowed)
}

// ParsePrivateKey parses the first PEM block of b: "PRIVATE KEY" (PKCS #8),
// "RSA PRIVATE KEY" (PKCS #1) or "EC PRIVATE KEY" (SEC 1). Errors never
// include key material.
func ParsePrivateKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("tokens: private key: no PEM block found")
	}
	defer clear(block.Bytes)
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("tokens: private key: unsupported PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: private key: %w", err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, errKeyType
	}
	if _, err := signingMethod(s, ""); err != nil {
		return nil, err
	}
	return s, nil
}
