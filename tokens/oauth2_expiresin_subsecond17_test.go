package tokens

import (
	"context"
	"errors"
	"testing"
)

// An expires_in between 0 and 1 (0.5: the token lives half a second) was
// rounded down to 0, which x/oauth2 reads as "no expiry": the token was
// served until a 401, where rounding down is meant only to shorten a
// lifetime. It is refused as out of range, as a negative one is.
func TestExpiresInBelowOneSecondIsNotNoExpiry(t *testing.T) {
	_, cc, answer := newCannedAS(t)
	const js = "application/json"
	const form = "application/x-www-form-urlencoded"
	for _, b := range []struct{ ctype, body string }{
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":0.5}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":"0.9"}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":1e-3}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":5e-324}`},
		{form, `access_token=at&token_type=Bearer&expires_in=0.5`},
		{"text/plain", "access_token=at&token_type=Bearer&expires_in=0.001\n"},
	} {
		answer(b.ctype, b.body)
		tok, err := cc.Token(context.Background())
		if !errors.Is(err, ErrMalformedResponse) || !errors.Is(err, ErrNoToken) || !tok.IsZero() {
			t.Errorf("%s: token %v (expiry %v, zero: no expiry), err = %v; want ErrMalformedResponse", b.body, tok, tok.Expiry(), err)
		}
	}
	// 0 itself, and 0.0, stay "no expiry" (RFC 6749 gives 0 no meaning;
	// x/oauth2 reads it so), and 1.5 is one second.
	for _, body := range []string{
		`{"access_token":"at","token_type":"Bearer","expires_in":0}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":0.0}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":1.5}`,
	} {
		answer(js, body)
		if tok, err := cc.Token(context.Background()); err != nil || tok.Value() != "at" {
			t.Errorf("%s: %v, %v", body, tok, err)
		}
	}
}
