package tokens

import (
	"context"
	"errors"
	"testing"
)

// An expires_in below 1 so small that it underflows float64 (1e-400, or
// a decimal with 400 zeros before its digit) parsed as 0, which x/oauth2
// reads as "no expiry": the token lived under a second but was served
// until a 401, the case TestExpiresInBelowOneSecondIsNotNoExpiry refuses
// for 0.5; a negative one as small (-1e-400) parsed as -0 and was no
// expiry too, where a negative one is refused.
func TestExpiresInUnderflowIsNotNoExpiry(t *testing.T) {
	_, cc, answer := newCannedAS(t)
	const js = "application/json"
	const form = "application/x-www-form-urlencoded"
	tiny := "0."
	for i := 0; i < 400; i++ {
		tiny += "0"
	}
	tiny += "1"
	for _, b := range []struct{ ctype, body string }{
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":1e-400}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":"1E-400"}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":-1e-400}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":` + tiny + `}`},
		{form, `access_token=at&token_type=Bearer&expires_in=1e-400`},
		{"text/plain", "access_token=at&token_type=Bearer&expires_in=" + tiny + "\n"},
	} {
		answer(b.ctype, b.body)
		tok, err := cc.Token(context.Background())
		if !errors.Is(err, ErrMalformedResponse) || !errors.Is(err, ErrNoToken) || !tok.IsZero() {
			t.Errorf("%.90s: token %v (expiry %v, zero: no expiry), err = %v; want ErrMalformedResponse", b.body, tok, tok.Expiry(), err)
		}
	}
	// Zero in any spelling stays "no expiry".
	for _, v := range []string{"0e5", "-0.0", "0.000E-400", "0E+400"} {
		answer(js, `{"access_token":"at","token_type":"Bearer","expires_in":`+v+`}`)
		if tok, err := cc.Token(context.Background()); err != nil || tok.Value() != "at" {
			t.Errorf("%s: %v, %v", v, tok, err)
		}
	}
}
