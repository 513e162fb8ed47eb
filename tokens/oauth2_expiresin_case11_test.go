package tokens

import (
	"context"
	"errors"
	"testing"
	"time"
)

// encoding/json, which x/oauth2 decodes a token response with, matches a
// member name to the expires_in field case-insensitively (Unicode simple
// folding: "EXPIRES_IN", "Expires_In", "expireſ_in" with a long s), and the
// last of several matching members wins. A member the validator did not
// look at must not decide the token's lifetime: a case variant (alone or
// beside "expires_in") is refused with ErrMalformedResponse, never read as
// an expiry in the past, a 32-bit-truncated one (-4294963696 → an hour) or
// a capped one (68 years).
func TestExpiresInCaseVariantIsRefused(t *testing.T) {
	_, cc, answer := newCannedAS(t)
	ctx := context.Background()
	for _, body := range []string{
		`{"access_token":"at","token_type":"Bearer","expires_in":3600,"EXPIRES_IN":-5}`,
		`{"access_token":"at","token_type":"Bearer","Expires_In":-4294963696}`,
		`{"access_token":"at","token_type":"Bearer","EXPIRES_IN":99999999999}`,
		`{"access_token":"at","token_type":"Bearer","expireſ_in":-5,"expires_in":3600}`,
		`{"access_token":"at","token_type":"Bearer","expires_in":3600,"EXPIRES_IN":3600}`,
	} {
		answer("application/json", body)
		tok, err := cc.Token(ctx)
		if !errors.Is(err, ErrMalformedResponse) || !errors.Is(err, ErrNoToken) {
			t.Errorf("%s: token %v (expires in %v), err %v; want ErrMalformedResponse",
				body, tok.Value(), time.Until(tok.Expiry()).Round(time.Second), err)
		}
	}
	// Only the exact name is expires_in; other members are left alone.
	answer("application/json", `{"access_token":"at","token_type":"Bearer","expires_in":3600,"expires":-5,"ext_expires_in":-5}`)
	tok, err := cc.Token(ctx)
	if err != nil || time.Until(tok.Expiry()) < 59*time.Minute {
		t.Errorf("plain answer: %v (expires in %v), %v", tok.Value(), time.Until(tok.Expiry()), err)
	}
}
