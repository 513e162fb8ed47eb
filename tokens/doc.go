// Package tokens supplies the credentials securecall puts on requests, and
// keeps the secrets they are made from.
//
// # Tokens
//
// A Token is a credential with an optional expiry. It never prints its
// value (String, GoString, every fmt verb, slog, JSON and text marshalling
// all redact it). A Source supplies tokens: Token(ctx) (Token, error).
//
// Sources in this package:
//
//   - ClientCredentials: the OAuth2 client credentials grant.
//   - Refresher: the OAuth2 refresh_token grant, persisting a rotated
//     refresh token to a Store before it returns the new access token.
//   - FromOAuth2 / ToOAuth2: adapters both ways between
//     golang.org/x/oauth2's TokenSource and Source.
//   - Static and StoreSource: API keys and fixed tokens.
//   - Cache: caches any Source and refreshes ahead of expiry, once for all
//     callers, with jitter and backoff (expiry and backoff measured on
//     both the monotonic and the wall clock, so a suspend neither serves
//     an expired token nor holds a refresh); its hot path takes no lock and does
//     not allocate. Put one in front of every source that makes network
//     calls. WithPersistence keeps its token in a Store across restarts,
//     written once per new token (not again when a refresh hands back the
//     token the store holds).
//
// Clients authenticate at the token endpoint with ClientSecretBasic,
// ClientSecretPost or PrivateKeyJWT (RFC 7523). Errors from the endpoint are
// *TokenError values: the message has the OAuth2 error code and the HTTP
// status, never the response body; the *oauth2.RetrieveError is reachable
// with errors.As, and errors.Is(err, ErrInvalidGrant) tells a dead grant
// from a passing failure. A Cache over a caller's Source built on x/oauth2
// takes that body out of the source's error message in the same way.
//
// # Secrets
//
// A Store keeps secrets as bytes under keys (ValidateKey: [A-Za-z0-9._-]).
// Backends: the OS keyring (package tokens/keyring), FileStore (one 0600
// file per secret, refusing a file group or others may read or write, or
// in a directory they may write, unless WithGroupReadable accepts a
// group-readable one), EnvStore (read-only
// environment variables) and MemoryStore. Chain reads a primary backend and
// explicit fallbacks and reports which one served; it never falls back to a
// weaker store when the primary is unavailable unless told to
// (WhenUnavailable). CachedStore keeps what it read in memory, with Refresh
// and WithOnChange for rotation.
//
// Package tokens is a leaf: it imports neither transport nor client. The
// transport package's auth and API-key layers put its tokens on requests.
package tokens
