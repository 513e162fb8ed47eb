package client_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/securecall/securecall/client"
	"github.com/securecall/securecall/tokens"
)

// An Option is a value a service builds once and hands to every New (a
// package-level []client.Option, clients built by parallel tests or per
// tenant). WithAPIKey("", src) wrote the default header name into the
// variable its option shares with every New it is given to: two clients
// built at once from it raced (the race detector fails this test).
func TestAPIKeyOptionSharedByConcurrentNew(t *testing.T) {
	src := tokens.SourceFunc(func(context.Context) (tokens.Token, error) {
		return tokens.NewToken("k", "", time.Time{}), nil
	})
	shared := []client.Option{client.WithOrigins("https://a.test"), client.WithAPIKey("", src)}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			c, err := client.New(shared...)
			if err == nil {
				c.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("New #%d: %v", i, err)
		}
	}
}
