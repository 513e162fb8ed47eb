package redact

import (
	"net/url"
	"testing"
)

// URLString redacts a URL that does not parse by hand. It took the text
// before the first "://" for a scheme, so a scheme-relative or relative
// URL whose path or query holds another URL ("/proxy/https://...") kept
// its userinfo: that text is a scheme only when url.Parse would read one.
func TestURLStringUnparsableEmbeddedURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"//user:SECRET@h/p/https://x/%zz", "//h/p/https://x/%zz"},
		{"//user:SECRET@h/p/https://x/%zz?k=SECRET", "//h/p/https://x/%zz?k=REDACTED"},
		{"//user:SECRET@h/p/https://x/\x7f", "//h/p/https://x/\x7f"},
		{"user:SECRET@h/p/https://x/\x7f", "REDACTED"},
		{"/user:SECRET@h/p/https://x/%zz", "REDACTED"},
		{" https://user:SECRET@h/x%zz?k=SECRET", "REDACTED?k=REDACTED"},
		// Unchanged: a scheme url.Parse reads.
		{"https://user:SECRET@h/p/https://x/%zz", "https://h/p/https://x/%zz"},
		{"HTTPS+x.1://user:SECRET@h/%zz", "HTTPS+x.1://h/%zz"},
	}
	for _, tt := range tests {
		if _, err := url.Parse(tt.in); err == nil {
			t.Fatalf("%q parses; the case must not", tt.in)
		}
		if got := (&Policy{}).URLString(tt.in); got != tt.want {
			t.Errorf("URLString(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
