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
		if got := replayChallenge(h); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.values, got, tc.want)
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
