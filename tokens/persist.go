package tokens

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// persisted is the stored form of a cached token. It is separate from Token,
// whose JSON form is redacted on purpose.
type persisted struct {
	Value  string    `json:"value"`
	Type   string    `json:"type,omitempty"`
	Expiry time.Time `json:"expiry,omitzero"`
}

func (c *Cache) save(ctx context.Context, tok Token) error {
	b, err := json.Marshal(persisted{Value: tok.Value(), Type: tok.Type(), Expiry: tok.Expiry().Round(0)})
	if err != nil {
		return fmt.Errorf("tokens: persist token: %w", err)
	}
	defer clear(b)
	return storeSet(ctx, c.cfg.store, c.cfg.storeKey, b)
}

// drop deletes the persisted token (an invalidated one); a missing entry is
// not an error.
func (c *Cache) drop(ctx context.Context) error {
	if err := storeDelete(ctx, c.cfg.store, c.cfg.storeKey); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("tokens: delete invalidated persisted token: %w", err)
	}
	return nil
}

func (c *Cache) load(ctx context.Context) (Token, error) {
	b, err := storeGet(ctx, c.cfg.store, c.cfg.storeKey)
	if err != nil {
		return Token{}, err
	}
	defer clear(b)
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		// The JSON error may quote a byte of the value, so it is not wrapped.
		return Token{}, fmt.Errorf("tokens: persisted token under %q is not valid JSON: %w", c.cfg.storeKey, ErrNoToken)
	}
	if p.Value == "" {
		return Token{}, fmt.Errorf("tokens: persisted token under %q has no value: %w", c.cfg.storeKey, ErrNoToken)
	}
	return NewToken(p.Value, p.Type, p.Expiry), nil
}
