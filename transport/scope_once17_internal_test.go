package transport

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/securecall/securecall/signer"
	"github.com/securecall/securecall/tokens"
)

// funcScope is a Scope that is no Origins.
type funcScope func(u *url.URL) bool

func (f funcScope) Allows(u *url.URL) bool { return f(u) }

// TestCredLayerSignsFor: the credential layer hands a request it found in
// scope to the sign layer without the sign layer's check only when that
// layer is its next and has the same origin list (the client's stack:
// auth directly over sign, both with WithOrigins); TestScopeCheckedOnce-
// PerDestination checks where the signatures go.
func TestCredLayerSignsFor(t *testing.T) {
	k, err := signer.NewHMACKey("client-1", []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := signer.New(signer.Options{Keys: signer.StaticKey(k)})
	if err != nil {
		t.Fatal(err)
	}
	origins := func(ss ...string) Origins {
		o, err := ParseOrigins(ss...)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	api := origins("https://api.example.test")
	newSign := func(scope Scope) http.RoundTripper {
		rt, err := NewSign(nil, SignConfig{Signer: s, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	src := tokens.Static(tokens.NewToken("tok", "Bearer", time.Time{}))
	named := funcScope(func(u *url.URL) bool { return u.Hostname() == "api.example.test" })
	for _, tc := range []struct {
		name  string
		next  http.RoundTripper
		scope Scope
		want  bool
	}{
		{"same origins", newSign(api), api, true},
		{"equal origins, another slice", newSign(origins("https://api.example.test")), api, true},
		{"other origins", newSign(origins("https://api.example.test", "https://b.example.test")), api, false},
		{"origins in another order", newSign(origins("https://b.example.test", "https://api.example.test")), origins("https://api.example.test", "https://b.example.test"), false},
		{"not an Origins", newSign(named), named, false},
		{"another layer", http.DefaultTransport, api, false},
	} {
		rt, err := NewAuth(tc.next, AuthConfig{Source: src, Scope: tc.scope})
		if err != nil {
			t.Fatal(err)
		}
		if got := rt.(*credLayer).sign != nil; got != tc.want {
			t.Errorf("%s: shortcut %v, want %v", tc.name, got, tc.want)
		}
	}
}
