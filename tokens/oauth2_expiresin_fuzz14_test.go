package tokens

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

type cannedRT struct{ ctype, body string }

func (c *cannedRT) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {c.ctype}},
		Body: io.NopCloser(strings.NewReader(c.body)), ContentLength: int64(len(c.body)), Request: req}, nil
}

// refExpiresIn reads a token response's expires_in as RFC 6749 §5.1 means
// it, independently of x/oauth2 and expiresInFloor: the exact member (JSON,
// as a number or a string holding one) or form value. valid says whether a
// token with it may be accepted: a number from 0 to 2^31-1 (a fraction
// rounded down, but none between 0 and 1), absent, or null; a JSON member named expires_in in another
// case is refused (x/oauth2's decoder would read it). life 0: no expiry.
func refExpiresIn(ctype, body string) (life time.Duration, valid bool) {
	num := func(s string) (time.Duration, bool) {
		if !json.Valid([]byte(s)) || s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false
		}
		if f > 0 && f < 1 { // rounded down, "no expiry"
			return 0, false
		}
		mant := s
		if i := strings.IndexAny(s, "eE"); i >= 0 {
			mant = s[:i]
		}
		if f == 0 && strings.ContainsAny(mant, "123456789") { // underflowed: not 0
			return 0, false
		}
		f = math.Floor(f)
		if f < 0 || f > math.MaxInt32 {
			return 0, false
		}
		return time.Duration(f) * time.Second, true
	}
	content, _, _ := mime.ParseMediaType(ctype)
	if content == "application/x-www-form-urlencoded" || content == "text/plain" {
		vals, err := url.ParseQuery(body)
		if err != nil {
			return 0, false
		}
		s := vals.Get("expires_in")
		if s == "" {
			return 0, true
		}
		// A form value is no JSON: leading zeros ("000", "060") are the
		// number's, as strconv reads them (the fuzzer's find).
		s = strings.TrimSpace(s)
		if t := strings.TrimLeft(s, "0"); t != s && (t == "" || t[0] >= '0' && t[0] <= '9') {
			s = "0" + t
			if t != "" {
				s = t
			}
		}
		return num(s)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal([]byte(body), &m) != nil {
		return 0, false
	}
	for k := range m {
		if k != "expires_in" && strings.EqualFold(k, "expires_in") {
			return 0, false
		}
	}
	raw, ok := m["expires_in"]
	if !ok || string(raw) == "null" {
		return 0, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return num(s)
	}
	return num(string(raw))
}

// FuzzTokenResponseExpiresIn sends any token response body to a
// ClientCredentials source: no panic, and a token it accepts has the
// lifetime the exact expires_in member or value gives (none for 0 or
// absent), one that refExpiresIn finds valid; never one x/oauth2 read from
// another member or wrapped into range.
func FuzzTokenResponseExpiresIn(f *testing.F) {
	const js, form = "application/json", "application/x-www-form-urlencoded"
	for _, s := range []struct{ ctype, body string }{
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":3600}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":"3600.9"}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":-4294963696}`},
		{js, `{"access_token":"at","token_type":"Bearer","EXPIRES_IN":99,"expires_in":60}`},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":1e400}`},
		{js + "; charset=utf-8", `{"access_token":"at","expires_in":null}`},
		{form, "access_token=at&token_type=Bearer&expires_in=3600.5"},
		{"text/plain", "access_token=at&expires_in=+60"},
		{form, "access_token=at&expires_in=18446744077"},
		{"AppliCAtion/X-www-form-urlenCoded", "access_token=0&expires_in=000"},
		{form, "access_token=at&expires_in=060"},
		{js, `{"access_token":"at","token_type":"Bearer","expires_in":-1e-400}`},
	} {
		f.Add(s.ctype, s.body)
	}
	rt := &cannedRT{}
	cc, err := NewClientCredentials(OAuth2Config{
		TokenURL:   "https://as.example/token",
		ClientID:   "client-1",
		Auth:       ClientSecretBasic(StaticSecret([]byte("s"))),
		HTTPClient: &http.Client{Transport: rt},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, ctype, body string) {
		if len(body) > 4096 {
			return
		}
		rt.ctype, rt.body = ctype, body
		before := time.Now()
		tok, err := cc.Token(context.Background())
		after := time.Now()
		if err != nil {
			return
		}
		life, valid := refExpiresIn(ctype, body)
		if !valid {
			t.Fatalf("%q %q: accepted (expiry in %v), but its expires_in is not valid", ctype, body, tok.Expiry().Sub(before))
		}
		e := tok.Expiry()
		if life == 0 {
			if !e.IsZero() {
				t.Fatalf("%q %q: expiry in %v, want none", ctype, body, e.Sub(before))
			}
			return
		}
		if e.Before(before.Add(life)) || e.After(after.Add(life)) {
			t.Fatalf("%q %q: expiry in %v, want %v", ctype, body, e.Sub(before), life)
		}
	})
}
