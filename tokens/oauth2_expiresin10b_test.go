package tokens

import (
	"context"
	"testing"
	"time"
)

// A form-encoded expires_in with whitespace around the number (a text/plain
// answer ending in a newline, a '+' that form decoding reads as a space) is
// the number of seconds, as Token.Extra reads it, never "no expiry": the
// rewrite once turned an unparsable "3600\n" into 0, a token that never
// expires.
func TestExpiresInFormWhitespaceIsNotNoExpiry(t *testing.T) {
	_, cc, answer := newCannedAS(t)
	ctx := context.Background()
	for _, g := range []struct{ ctype, body string }{
		{"text/plain", "access_token=at&token_type=Bearer&expires_in=3600\n"},
		{"text/plain", "access_token=at&token_type=Bearer&expires_in=3600.5\r\n"},
		{"application/x-www-form-urlencoded", "access_token=at&token_type=Bearer&expires_in=3600%20"},
		{"application/x-www-form-urlencoded", "access_token=at&token_type=Bearer&expires_in=+3600"},
	} {
		answer(g.ctype, g.body)
		before := time.Now()
		tok, err := cc.Token(ctx)
		if err != nil || tok.Value() != "at" {
			t.Errorf("%q: %v, %v", g.body, tok, err)
			continue
		}
		if e := tok.Expiry(); e.Before(before.Add(time.Hour)) || e.After(time.Now().Add(time.Hour)) {
			t.Errorf("%q: expiry %v (zero: %v), want in an hour", g.body, e, e.IsZero())
		}
	}
	// Whitespace inside the number is not a number.
	answer("application/x-www-form-urlencoded", "access_token=at&token_type=Bearer&expires_in=36%2000")
	if tok, err := cc.Token(ctx); err == nil {
		t.Errorf("36 00: token %v (expiry %v), want ErrMalformedResponse", tok, tok.Expiry())
	}
}
