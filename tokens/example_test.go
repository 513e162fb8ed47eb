package tokens_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/securecall/securecall/tokens"
)

// A Token never prints its value, whatever prints it.
func ExampleToken() {
	tok := tokens.NewToken("eyJhbGciOi.secret.value", "Bearer", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	fmt.Println(tok)
	fmt.Printf("%+v\n", struct{ Auth tokens.Token }{tok})
	fmt.Printf("%#v\n", tok)
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	logger.Info("got token", "token", tok)
	fmt.Println(tok.HeaderValue() == "Bearer eyJhbGciOi.secret.value")
	// Output:
	// Bearer [REDACTED] (expires 2030-01-02T03:04:05Z)
	// {Auth:Bearer [REDACTED] (expires 2030-01-02T03:04:05Z)}
	// tokens.Token{Type:"Bearer", Expiry:"2030-01-02T03:04:05Z", Value:"[REDACTED]"}
	// level=INFO msg="got token" token.type=Bearer token.expiry=2030-01-02T03:04:05.000Z token.value=[REDACTED]
	// true
}

// A Cache in front of a source that makes network calls: one call for many
// callers, refreshed ahead of expiry.
func ExampleCache() {
	calls := 0
	src := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
		calls++ // a token request to the authorization server
		return tokens.NewToken(fmt.Sprintf("token-%d", calls), "Bearer", time.Now().Add(time.Hour)), nil
	})
	cache, err := tokens.NewCache(src)
	if err != nil {
		panic(err)
	}
	for range 1000 {
		if _, err := cache.Token(context.Background()); err != nil {
			panic(err)
		}
	}
	tok, _ := cache.Token(context.Background())
	fmt.Println("token requests:", calls)
	// A server rejected it (401): drop exactly that token.
	cache.Invalidate(tok)
	tok, _ = cache.Token(context.Background())
	fmt.Println("token requests:", calls, "current:", tok.Value())
	// Output:
	// token requests: 1
	// token requests: 2 current: token-2
}

// CachedToken answers only from the cache: a caller that must know whether
// getting a token may wait (a network fetch) asks it first.
func ExampleCache_CachedToken() {
	src := tokens.SourceFunc(func(ctx context.Context) (tokens.Token, error) {
		return tokens.NewToken("token-1", "Bearer", time.Now().Add(time.Hour)), nil
	})
	cache, err := tokens.NewCache(src)
	if err != nil {
		panic(err)
	}
	_, ok := cache.CachedToken(context.Background())
	fmt.Println("cached before the first fetch:", ok)
	if _, err := cache.Token(context.Background()); err != nil { // fetches
		panic(err)
	}
	tok, ok := cache.CachedToken(context.Background())
	fmt.Println("cached after it:", ok, tok.Value())
	// Output:
	// cached before the first fetch: false
	// cached after it: true token-1
}

// A Chain reads the keyring first and, only if a secret is not there, a
// file; it says which backend served.
func ExampleChain() {
	ctx := context.Background()
	primary := tokens.NewMemoryStore() // in a service: keyring.New("my-service")
	dir, _ := os.MkdirTemp("", "secrets-")
	defer os.RemoveAll(dir)
	files, _ := tokens.NewFileStore(dir)
	files.Set(ctx, "api-key", []byte("k-from-file"))

	chain, err := tokens.NewChain(
		tokens.Backend{Name: "keyring", Store: primary},
		tokens.Fallback(tokens.Backend{Name: "file", Store: files}, tokens.WhenNotFound),
	)
	if err != nil {
		panic(err)
	}
	_, from, err := chain.Lookup(ctx, "api-key")
	fmt.Println(from, err)
	_, _, err = chain.Lookup(ctx, "client-secret")
	fmt.Println(errors.Is(err, tokens.ErrNotFound))
	// Output:
	// file <nil>
	// true
}
