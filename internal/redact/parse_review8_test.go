package redact

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// parseLeakURLs do not parse, and url.Parse's error quotes a piece of the
// userinfo that the redactor does not see as userinfo: a user name that
// starts with '[' is read as an IP literal (ParseAddr quotes it, after
// unescaping, so the piece need not even appear in the URL as written),
// and an escape or a host character is quoted on its own.
var parseLeakURLs = []string{
	"https://[u:" + secret + "]/x@api.example.com/v1",
	"https://[u:" + secret + "]:/@api.example.com",
	"https://[u:%43ANARY-s3cr3t]/x@api.example.com/v1",
	"//[u:" + secret + "]/x@api.example.com/v1",
	"https://[u]:" + secret + "/@api.example.com",
	"https://[::1]:" + secret + "/x@api.example.com",
	"https://user:" + secret + "#x@api.example.com/v1",
	"https://u@:" + secret + "#@api.example.com/v1",
}

// TestErrorURLParseDetail: a url.Parse error (Op "parse"), alone, under a
// wrapper, or flattened into http.Client's error for a Location that does
// not parse, never shows the password, whatever piece of the URL its
// detail quotes.
func TestErrorURLParseDetail(t *testing.T) {
	for _, raw := range parseLeakURLs {
		_, perr := url.Parse(raw)
		if perr == nil {
			t.Fatalf("%q parses; the case must not", raw)
		}
		for name, err := range map[string]error{
			"parse":    perr,
			"wrapped":  fmt.Errorf("build: %w", perr),
			"location": &url.Error{Op: "Get", URL: "https://api.example.com/v1", Err: fmt.Errorf("failed to parse Location header %q: %v", raw, perr)},
			"location wrapped": fmt.Errorf("call: %w", &url.Error{Op: "Get", URL: "https://api.example.com/v1",
				Err: fmt.Errorf("failed to parse Location header %q: %v", raw, perr)}),
		} {
			got := (&Policy{}).Error(err)
			if strings.Contains(got.Error(), secret) {
				t.Errorf("%s %q: %q keeps the password", name, raw, got)
			}
			if _, ok := errors.AsType[*url.Error](got); !ok {
				t.Errorf("%s %q: *url.Error lost", name, raw)
			}
		}
	}
}

// TestErrorURLParseDetailKept: a detail that quotes only what the
// redacted URL shows anyway keeps its quote; nothing after the scheme of
// an absolute URL is shown.
func TestErrorURLParseDetailKept(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/v1/a%zz?k=" + secret, `parse "/v1/a%zz?k=REDACTED": invalid URL escape "%zz"`},
		// A port url.Parse refuses may be the start of a password whose
		// '#' cut the rest of the userinfo off: nothing of the authority
		// is shown.
		{"https://user:" + secret + "#x@api.example.com/v1", `parse "https://REDACTED": invalid port "REDACTED" after host`},
	} {
		_, perr := url.Parse(c.in)
		if got := (&Policy{}).Error(perr).Error(); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}
