package transport_test

import (
	"errors"
	"testing"

	"github.com/securecall/securecall/transport"
)

// A template may put literal ";" after a variable (matrix parameters,
// "/cars/{make};color=red/x"). Servlet containers (Tomcat, Jetty) and
// Spring strip ";..." path parameters from each segment before they
// remove dot segments, so "/a/..;v=1/b" is "/b" there: a value ".." or
// "." climbed out of its segment, which Expand let through because the
// segment "..;v=1" is not itself "..". Such a segment is refused, and so
// is a literal one when the template is parsed.
func TestTemplateDotSegmentBeforePathParameter(t *testing.T) {
	tm := transport.MustParseTemplate("/a/{x};v=1/b")
	for _, v := range []string{"..", ".", "..;m", ".;", "%2e%2e", "%2E;m"} {
		got, err := tm.Expand(v)
		var te *transport.TemplateError
		if !errors.As(err, &te) || te.Var != "x" {
			t.Errorf("Expand(%q) = %q, %v; want a *TemplateError for {x}", v, got, err)
		}
	}
	two := transport.MustParseTemplate("/a/{x}{y};v=1")
	if got, err := two.Expand(".", "."); !errors.Is(err, transport.ErrUnsafePath) {
		t.Errorf("{x}{y};v=1 = .+.: %q, %v; want refused", got, err)
	}
	for _, v := range []string{"...", "a..", ".x", "a%2e%2e"} {
		if _, err := tm.Expand(v); err != nil {
			t.Errorf("Expand(%q): %v, want accepted", v, err)
		}
	}
	for _, s := range []string{"/a/..;v=1", "/a/.;v=1/b", "/..;/{x}"} {
		if _, err := transport.ParseTemplate(s); !errors.Is(err, transport.ErrUnsafePath) {
			t.Errorf("ParseTemplate(%q): %v, want refused", s, err)
		}
	}
}
