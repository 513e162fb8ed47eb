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

// Servers that apply Unicode NFKC normalisation to the decoded path
// (some Java, Python and .NET stacks) read FULLWIDTH FULL STOP U+FF0E as
// ".", TWO DOT LEADER U+2025 as "..", FULLWIDTH SOLIDUS U+FF0F as "/";
// Windows' best-fit code page mapping reads DIVISION SLASH U+2215 as "/".
// Expand refuses a segment whose NFKC form (also after decoding, and
// without invisible format characters) would hold "/" or "\" or be a dot
// segment.
func TestTemplateRefusesUnicodeLookalikes(t *testing.T) {
	tm := transport.MustParseTemplate("/users/{id}/orders")
	for _, v := range []string{
		"\uFF0E\uFF0E", "\uFF0E", ".\uFF0E", "\u2025", "\u2024\u2024", "\uFE52\uFE52", "\u2024",
		"\uFF0E\uFF0E\uFF1Bx", "a\uFF0Fb", "\uFF0F", "a\uFF3Cb", "\uFE68", "a\u2215b", "a\u2044b",
		"a\u29F8b", "%EF%BC%8E%EF%BC%8E", "%EF%BC%8F", "\uFF05\uFF12\uFF26", "\uFF05\uFF12\uFF45\uFF05\uFF12\uFF45",
		".\u200B.", "\u00AD..", ".\uFE0F", "\u3002\u3002", "\uFF61", "a\u2216b", "\u29F9",
	} {
		got, err := tm.Expand(v)
		refusedFor(t, "lookalike", "id", v, got, err)
	}
	for _, v := range []string{
		"é", "日本", "你好。", "ｶﾀｶﾅ", "\u2026", "Ⅻ", "ﬁle", "می\u200Cخواهم", "👨\u200D👩\u200D👧", "¥", "₩",
	} {
		if _, err := tm.Expand(v); err != nil {
			t.Errorf("Expand(%q): %v, want accepted", v, err)
		}
	}
}

// The docs promise that control characters are refused, but only C0
// and DEL were: the C1 controls U+0080-U+009F passed, among them NEXT
// LINE U+0085, a line break to Java's and .NET's line readers (log
// injection where a server logs the decoded path), and CSI U+009B, a
// terminal escape. They are refused in a value and when percent-encoded.
func TestTemplateRefusesC1Controls(t *testing.T) {
	tm := transport.MustParseTemplate("/users/{id}/orders")
	for _, v := range []string{"a\u0085b", "\u009B31m", "\u0080", "\u009F", "a%C2%85b"} {
		got, err := tm.Expand(v)
		refusedFor(t, "C1 control", "id", v, got, err)
	}
	if _, err := tm.Expand("\u00A0x"); err != nil {
		t.Errorf("NO-BREAK SPACE refused: %v", err)
	}
}
