package transport

import (
	"net/http"
	"slices"
	"testing"
)

func TestChallengeErrors(t *testing.T) {
	for v, want := range map[string][]string{
		``:                             {},
		`Bearer`:                       {},
		`Bearer realm="example"`:       {},
		`Bearer error="invalid_token"`: {"invalid_token"},
		`Bearer error=invalid_token`:   {"invalid_token"},
		`Bearer ERROR = "insufficient_scope", scope="a b"`:                   {"insufficient_scope"},
		`Bearer realm="a, error=\"invalid_request\"", error="invalid_token"`: {"invalid_token"},
		`Bearer error_description="error=insufficient_scope"`:                {},
		`Basic realm="x", Bearer error="invalid_token"`:                      {"invalid_token"},
		`Negotiate abc==, Bearer error="insufficient_scope"`:                 {"insufficient_scope"},
		`Bearer error="unterminated`:                                         {"unterminated"},
		`Bearer error="a\"b"`:                                                {`a"b`},
		`"junk" Bearer error=x`:                                              {"x"},
	} {
		got := challengeErrors(v)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("challengeErrors(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestReplayChallenge(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, true},
		{[]string{`Bearer error="invalid_token"`}, true},
		{[]string{`Bearer error="insufficient_scope"`}, false},
		{[]string{`Basic realm="x"`, `Bearer error="invalid_request"`}, false},
		{[]string{`Bearer error="something_new"`}, true},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("WWW-Authenticate", v)
		}
		if got := challengeVerdict(h, "Bearer"); (got == challengeRefresh) != tc.want || !tc.want && got != challengeDenied {
			t.Errorf("%q: %v, want replay %v", tc.values, got, tc.want)
		}
	}
}

func TestChallengeVerdict(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		values []string
		want   challenge
	}{
		{"Bearer", nil, challengeRefresh},
		{"Bearer", []string{``}, challengeRefresh},
		{"Bearer", []string{`, ,`}, challengeRefresh},
		{"Bearer", []string{`Signature`}, challengeNotOurs},
		{"Bearer", []string{`Basic realm="x"`}, challengeNotOurs},
		{"Bearer", []string{`Basic realm="a, Bearer error=\"invalid_token\""`}, challengeNotOurs},
		{"Bearer", []string{`Negotiate abc==, Signature`}, challengeNotOurs},
		{"Bearer", []string{`Negotiate abc==`, `Bearer error=invalid_token`}, challengeRefresh},
		{"Bearer", []string{`Negotiate Bearer`}, challengeNotOurs}, // Bearer is Negotiate's token68
		{"Bearer", []string{`Bearer realm="api"`}, challengeRefresh},
		{"Bearer", []string{`Signature, Bearer realm="api"`}, challengeRefresh},
		{"Bearer", []string{`Signature, bearer error="invalid_token"`}, challengeRefresh},
		{"Bearer", []string{`Signature error="invalid_request", Bearer error="invalid_token"`}, challengeRefresh},
		{"Bearer", []string{`Bearer error="expired_token"`}, challengeRefresh},
		{"Bearer", []string{`Bearer realm="x", error="insufficient_scope", scope="a b"`}, challengeDenied},
		{"Bearer", []string{`Basic error="invalid_request"`}, challengeNotOurs},
		{"Bearer", []string{`"junk"`}, challengeRefresh},
		{"Bearer", []string{`error="invalid_token"`}, challengeRefresh}, // no scheme: no challenge
		{"DPoP", []string{`DPoP error="invalid_token"`}, challengeRefresh},
		{"DPoP", []string{`Bearer error="invalid_token"`}, challengeNotOurs},
		{"", []string{`Signature`}, challengeNotOurs},
		{"", []string{`Signature`, `Signature`}, challengeNotOurs},
		{"", []string{`Signature, Basic realm="x"`}, challengeRefresh},
		{"", []string{`ApiKey`}, challengeRefresh},
		{"", []string{`Basic realm="x", Bearer error="insufficient_scope"`}, challengeDenied},
		{"", nil, challengeRefresh},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("WWW-Authenticate", v)
		}
		if got := challengeVerdict(h, tc.scheme); got != tc.want {
			t.Errorf("%q for %q: %v, want %v", tc.values, tc.scheme, got, tc.want)
		}
	}
}

func FuzzChallengeErrors(f *testing.F) {
	f.Add(`Bearer realm="a", error="invalid_token", error_description="x\"y"`)
	f.Add(`Basic, Bearer error=`)
	f.Fuzz(func(t *testing.T, v string) {
		for _, code := range challengeErrors(v) {
			if len(code) > len(v) {
				t.Fatalf("code longer than input: %q", code)
			}
		}
	})
}
