package client_test

import (
	"testing"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
	"github.com/securecall/securecall/transport"
)

// A zero signer.KeySet (not made by NewKeySet) has no state: signing
// dereferenced it on the caller's goroutine at the first call. New refuses
// it with a *ConfigError naming the option.
func TestHMACSigningZeroKeySetRefused(t *testing.T) {
	wantConfigError(t, "WithHMACSigning",
		client.WithOrigins("https://api.example"), client.WithHMACSigning(new(signer.KeySet)))
}

// A zero tokens.ClientCredentials (not made by NewClientCredentials) has no
// endpoint: the token cache's refresh goroutine dereferenced it, which
// crashed the whole process. New refuses it.
func TestTokenSourceZeroClientCredentialsRefused(t *testing.T) {
	wantConfigError(t, "WithTokenSource",
		client.WithOrigins("https://api.example"), client.WithTokenSource(new(tokens.ClientCredentials)))
}

// A zero tokens.Cache (not made by NewCache) was used as is, being a Cache
// already: its nil semaphore blocked every call until the attempt timeout.
// New refuses it.
func TestTokenSourceZeroCacheRefused(t *testing.T) {
	wantConfigError(t, "WithTokenSource",
		client.WithOrigins("https://api.example"), client.WithTokenSource(new(tokens.Cache)))
}

// The same zero values given to the API-key options are refused too.
func TestAPIKeyZeroSourceRefused(t *testing.T) {
	wantConfigError(t, "WithAPIKey",
		client.WithOrigins("https://api.example"), client.WithAPIKey("", new(tokens.Cache)))
	wantConfigError(t, "WithAPIKeyInQuery",
		client.WithOrigins("https://api.example"), client.WithAPIKeyInQuery("k", new(tokens.Refresher)))
}

// A zero signer.Signer has no key source and no components.
func TestSignerZeroValueRefused(t *testing.T) {
	wantConfigError(t, "WithSigner",
		client.WithOrigins("https://api.example"), client.WithSigner(new(signer.Signer)))
}

// A zero transport.Base panicked ("transport is nil") at the first call.
func TestBaseTransportZeroRefused(t *testing.T) {
	wantConfigError(t, "WithBaseTransport", client.WithBaseTransport(new(transport.Base)))
}

// A zero transport.Cooldowns panicked at the first Retry-After.
func TestCooldownStoreZeroRefused(t *testing.T) {
	wantConfigError(t, "WithCooldownStore", client.WithCooldownStore(new(transport.Cooldowns)))
}
