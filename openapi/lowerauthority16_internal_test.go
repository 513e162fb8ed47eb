package openapi

import (
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// lowerAuthority lowers a server URL's scheme and authority, never its
// path: a relative server whose path holds a URL ("/Proxy/http://up/v1")
// has no authority, and its path is matched as written.
func TestLowerAuthority(t *testing.T) {
	for in, want := range map[string]string{
		"HTTPS://API.Example.test/V1":                "https://api.example.test/V1",
		"https://{Region}.API.test/V1":               "https://{Region}.api.test/V1",
		"HTTPS://API.Example.test":                   "https://api.example.test",
		"/Proxy/http://Up/V1":                        "/Proxy/http://Up/V1",
		"/V1":                                        "/V1",
		"https://api.example.test/Proxy/HTTP://Up/V": "https://api.example.test/Proxy/HTTP://Up/V",
		"{Scheme}://API.test/V1":                     "{Scheme}://api.test/V1",
	} {
		if got := lowerAuthority(&openapi3.Server{URL: in}).URL; got != want {
			t.Errorf("lowerAuthority(%q) = %q, want %q", in, got, want)
		}
	}
}
