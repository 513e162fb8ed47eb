package transport_test

import (
	"net/url"
	"testing"

	"github.com/securecall/securecall/transport"
)

// TestTemplateAcceptsOrdinaryText: the look-alike, C1 and repeated
// decoding checks must not refuse ordinary values: "%", "+", spaces,
// emoji, CJK, Arabic with ZWNJ, German ß, Turkish dotless i, and vulgar
// fractions, whose NFKC form has FRACTION SLASH U+2044 ("½" is "1⁄2"),
// which no server that normalises reads as "/" (Windows' best-fit
// mapping, which does, maps "½" to itself): each is sent as its UTF-8
// escapes and decodes back to the value.
func TestTemplateAcceptsOrdinaryText(t *testing.T) {
	tm := transport.MustParseTemplate("/items/{name}")
	for _, v := range []string{
		"100%", "50% off", "a+b", "a b", "100%25", "🐶", "日本語", "مي\u200Cخواهم", "Straße", "ılık", "İstanbul",
		"½", "¼ inch", "¾", "⅓ cup", "⅞", "Pizza ½", "½ 50%", "½%41", "…", "a.b", "...", "~user", "C#", "a&b=c", "Ǆ",
	} {
		p, err := tm.Expand(v)
		if err != nil {
			t.Errorf("Expand(%q): %v, want accepted", v, err)
			continue
		}
		if got, err := url.PathUnescape(p); err != nil || got != "/items/"+v {
			t.Errorf("Expand(%q) = %q, decodes to %q (%v)", v, p, got, err)
		}
	}
	// A FRACTION SLASH given as such, or percent-encoded (also in
	// fullwidth), is still a look-alike of "/".
	for _, v := range []string{"1\u20442", "%E2%81%84", "\uFF05E2\uFF0581\uFF0584", "½%E2%81%84"} {
		if _, err := tm.Expand(v); err == nil {
			t.Errorf("Expand(%q) accepted, want refused", v)
		}
	}
}
