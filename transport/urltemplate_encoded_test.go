package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/securecall/securecall/transport"
)

// refusedFor checks that err is a *TemplateError for the variable name
// that wraps ErrUnsafePath and does not repeat the value.
func refusedFor(t *testing.T, what, name, value, got string, err error) {
	t.Helper()
	var te *transport.TemplateError
	if !errors.As(err, &te) || te.Var != name || !errors.Is(err, transport.ErrUnsafePath) {
		t.Errorf("%s: Expand(%q) = %q, %v; want a *TemplateError for {%s}", what, value, got, err, name)
		return
	}
	if len(value) > 1 && strings.Contains(err.Error(), value) {
		t.Errorf("%s: error repeats the value: %v", what, err)
	}
}

// A value that already holds percent escapes is escaped again ("%2F" is
// sent as "%252F"), which an RFC 3986 server decodes back to the text
// "%2F". But a gateway that decodes the path once and forwards it (nginx
// "proxy_pass http://up$uri", many API gateways) hands the upstream
// "/users/%2F/orders", which the upstream decodes to "/users///orders":
// the value climbed out of its segment. Expand refuses a segment whose
// percent-decoding, once or repeatedly, would hold "/", "\", a control
// character or invalid UTF-8 (overlong "%C0%AF"), or be a dot segment.
func TestTemplateRefusesEncodedSeparators(t *testing.T) {
	tm := transport.MustParseTemplate("/users/{id}/orders")
	for _, v := range []string{
		"%2F", "%2f", "a%2Fb", "%5C", "%5c", "%2E%2E", "%2e%2e", ".%2E", "%2e", "%2e%2e;x",
		"%252F", "%25252F", "%25%32%46", "%2%46", "%00", "a%0D%0Ab", "%7F", "%C0%AF", "%C0%AE%C0%AE",
		"%zz%2F", "100%%2F", "%u002F", "%U002e%u002e", "%u005C",
	} {
		got, err := tm.Expand(v)
		refusedFor(t, "one value", "id", v, got, err)
	}
	// Escapes split across two values, or between literal text and a value.
	two := transport.MustParseTemplate("/a/{x}{y}")
	got, err := two.Expand("%2", "F")
	refusedFor(t, "split", "x", "%2", got, err)
	lit := transport.MustParseTemplate("/a/%25{x}")
	got, err = lit.Expand("2F")
	refusedFor(t, "literal %25", "x", "2F", got, err)

	for _, tc := range []struct{ v, want string }{
		{"100%", "/users/100%25/orders"},
		{"50%OFF", "/users/50%25OFF/orders"},
		{"%", "/users/%25/orders"},
		{"%zz", "/users/%25zz/orders"},
		{"a%20b", "/users/a%2520b/orders"},
		{"%3F", "/users/%253F/orders"},
		{"%C3%A9", "/users/%25C3%25A9/orders"},
		{"...", "/users/.../orders"},
	} {
		if got, err := tm.Expand(tc.v); err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.v, got, err, tc.want)
		}
	}
}
